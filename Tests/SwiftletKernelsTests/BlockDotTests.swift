import Foundation
import SwiftletGGUF
import SwiftletKernels
import Testing

/// Random but valid blocks of `type`: every byte random, then each F16 scale replaced by a small finite one.
func randomRow(_ type: GGMLType, columns: Int, seed: UInt64) -> [UInt8] {
    var rng = SplitMix(seed)
    let blocks = columns / type.blockSize
    var bytes = (0..<(blocks * type.bytesPerBlock)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    func setHalf(_ offset: Int, _ value: Float) {
        let bits = Float16(value).bitPattern
        bytes[offset] = UInt8(bits & 0xFF); bytes[offset + 1] = UInt8(bits >> 8)
    }
    if type == .f16 {
        for i in 0..<columns { setHalf(2 * i, rng.nextFloat() * 0.1) }
        return bytes
    }
    if type == .bf16 {
        for i in 0..<columns {
            let bits = UInt16((rng.nextFloat() * 0.1).bitPattern >> 16)
            bytes[2 * i] = UInt8(bits & 0xFF); bytes[2 * i + 1] = UInt8(bits >> 8)
        }
        return bytes
    }
    for b in 0..<blocks {
        let o = b * type.bytesPerBlock
        let scale = Float(rng.next() % 1000 + 1) / 20000
        switch type {
        case .q8_0, .q4_0, .q5_0: setHalf(o, scale)
        case .q4_1, .q5_1: setHalf(o, scale); setHalf(o + 2, -scale * 4)
        case .q4_K, .q5_K: setHalf(o, scale); setHalf(o + 2, scale / 2)
        case .q2_K: setHalf(o + 80, scale); setHalf(o + 82, scale / 2)
        case .q3_K: setHalf(o + 108, scale)
        case .q6_K: setHalf(o + 208, scale)
        default: break
        }
    }
    return bytes
}

struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextFloat() -> Float { Float(next() >> 40) / Float(1 << 24) * 2 - 1 }
}

@Suite struct BlockDotTests {
    static let types: [GGMLType] = [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .f16, .bf16]

    /// The fast kernels (AVX2 in a `make` build) agree with the portable loops: both sum the same integer
    /// products, so only the float accumulation order differs.
    @Test(arguments: types)
    func fastMatchesPortable(type: GGMLType) throws {
        for seed in 1...20 as ClosedRange<UInt64> {
            let columns = 512 + (type.blockSize == 32 ? 32 * Int(seed % 5) : 0)
            let row = randomRow(type, columns: columns, seed: seed)
            var rng = SplitMix(seed &* 7)
            let x = (0..<columns).map { _ in rng.nextFloat() * (seed % 3 == 0 ? 10 : 1) }
            let (fast, portable) = try row.withUnsafeBytes { r in
                (try quantizedRowDot(type, row: r, x, path: .fastest), try quantizedRowDot(type, row: r, x, path: .portable))
            }
            let magnitude = try row.withUnsafeBytes { r -> Float in
                var w = [Float](repeating: 0, count: columns)
                try w.withUnsafeMutableBufferPointer { wp in
                    try dequantizeRow(type, r.baseAddress!, wp.baseAddress!, count: columns)
                }
                return zip(w, x).reduce(0) { $0 + abs($1.0 * $1.1) }
            }
            #expect(abs(fast - portable) <= 1e-5 * magnitude + 1e-6, "\(type.name) seed \(seed): fast \(fast) portable \(portable)")
        }
    }

    /// The vectorized activation quantizer gives the portable loop's bytes and scales exactly: zero
    /// blocks, halfway cases (v·127/max|v| = k + 0.5 rounds to even) and wide ranges included.
    @Test func activationQuantizationMatchesPortable() throws {
        var rng = SplitMix(42)
        var x = (0..<(32 * 64)).map { i in rng.nextFloat() * Float(1 << (i / 128)) }
        for j in 0..<32 { x[j] = 0 }                                   // an all-zero block
        for j in 0..<32 { x[32 + j] = Float(j) - 15.5 }                // max 15.5 → q = ±(k+0.5)·127/15.5
        for j in 0..<32 { x[64 + j] = j == 0 ? 127 : Float(j) + 0.5 }  // id = 1: exact halves
        let fast = try q8Activations(x, path: .fastest), portable = try q8Activations(x, path: .portable)
        #expect(fast.values == portable.values)
        #expect(fast.scales == portable.scales)
        #expect(Array(fast.values[64..<70]) == [127, 2, 2, 4, 4, 6])
        #expect(throws: KernelError.self) { try q8Activations([1, 2, 3]) }
    }

    /// The vectorized Q8_K quantizer gives the portable loop's values, scales and per-16 sums exactly:
    /// an all-zero block, a tie of opposite signs for the largest magnitude (the first one sets the
    /// sign), halfway cases and wide ranges included.
    @Test func superBlockActivationQuantizationMatchesPortable() throws {
        var rng = SplitMix(43)
        var x = (0..<(256 * 8)).map { i in rng.nextFloat() * Float(1 << (i / 256)) }
        for j in 0..<256 { x[j] = 0 }                                           // an all-zero block
        x[256 + 7] = -50; x[256 + 200] = 50                                    // tie: −50 comes first
        for j in 0..<256 { x[512 + j] = j == 3 ? 127 : Float(j % 40) - 19.5 }  // iscale = −1: exact halves
        let fast = try q8KActivations(x, path: .fastest), portable = try q8KActivations(x, path: .portable)
        #expect(fast.values == portable.values)
        #expect(fast.scales == portable.scales)
        #expect(fast.sums == portable.sums)
        #expect(fast.scales[0] == 0 && fast.values[0..<256].allSatisfy { $0 == 0 })
        #expect(fast.values[256 + 7] == -127 && fast.values[256 + 200] == 127)
        #expect(fast.values[512 + 3] == -127 && Array(fast.values[512..<515]) == [20, 18, 18])
        #expect(throws: KernelError.self) { try q8KActivations([Float](repeating: 1, count: 300)) }
    }

    /// The quantized dot stays close to the exact float dot of the dequantized row (activation
    /// quantization to 8 bits costs well under 1% of the sum of magnitudes).
    @Test(arguments: types)
    func closeToFloatDot(type: GGMLType) throws {
        let columns = 1024
        let row = randomRow(type, columns: columns, seed: 99)
        var rng = SplitMix(5)
        let x = (0..<columns).map { _ in rng.nextFloat() }
        try row.withUnsafeBytes { r in
            var w = [Float](repeating: 0, count: columns)
            try w.withUnsafeMutableBufferPointer { wp in try dequantizeRow(type, r.baseAddress!, wp.baseAddress!, count: columns) }
            let exact = zip(w, x).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            let magnitude = zip(w, x).reduce(Float(0)) { $0 + abs($1.0 * $1.1) }
            let q = try quantizedRowDot(type, row: r, x)
            #expect(abs(q - exact) < 0.01 * magnitude, "\(type.name): quantized \(q) exact \(exact)")
        }
    }

    /// The integer dot products are exactly the dot of the dequantized row with the dequantized 8-bit
    /// activations, up to float rounding: every weight value meets its own activation, with its own
    /// block's scales. (Q4_1 and Q5_1 are left out: their Σa term is F16-rounded, as in ggml.)
    @Test(arguments: [GGMLType.q8_0, .q4_0, .q5_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K])
    func equalsDequantizedBlockMath(type: GGMLType) throws {
        for seed in 1...8 as ClosedRange<UInt64> {
            let columns = 1024
            let row = randomRow(type, columns: columns, seed: seed &* 31)
            var rng = SplitMix(seed)
            let x = (0..<columns).map { _ in rng.nextFloat() * 4 }
            let superBlocks = type.blockSize == 256
            let (values, scales): ([Int8], [Float])
            if superBlocks { let k = try q8KActivations(x); (values, scales) = (k.values, k.scales) } else { (values, scales) = try q8Activations(x) }
            let a = values.indices.map { Double(values[$0]) * Double(scales[$0 / (superBlocks ? 256 : 32)]) }
            try row.withUnsafeBytes { r in
                var w = [Float](repeating: 0, count: columns)
                try w.withUnsafeMutableBufferPointer { wp in try dequantizeRow(type, r.baseAddress!, wp.baseAddress!, count: columns) }
                let want = zip(w, a).reduce(0.0) { $0 + Double($1.0) * $1.1 }
                let magnitude = zip(w, a).reduce(0.0) { $0 + abs(Double($1.0) * $1.1) }
                for path in KernelPath.allCases {
                    let got = try quantizedRowDot(type, row: r, x, path: path)
                    #expect(abs(Double(got) - want) <= 1e-5 * magnitude, "\(type.name) seed \(seed) \(path): \(got) against \(want)")
                }
            }
        }
    }

    @Test func badShapesAreErrors() {
        let row = [UInt8](repeating: 0, count: 34)
        row.withUnsafeBytes { r in
            #expect(throws: KernelError.self) { try quantizedRowDot(.q8_0, row: r, [Float](repeating: 1, count: 31)) }
            #expect(throws: KernelError.self) { try quantizedRowDot(.q8_0, row: r, [Float](repeating: 1, count: 64)) }
        }
    }
}

/// The prompt path (several tokens per pass over the weights) gives the one-token path's numbers, exactly
/// where both sum in the same order (every block format: ggml's vec_dot order either way).
@Suite struct MatmulTests {
    @Test(arguments: ["tiny-llama-q8_0.gguf", "tiny-llama-q4_0.gguf", "tiny-llama-q4_1.gguf", "tiny-llama-f16.gguf"])
    func batchedRowsEqualOneTokenRows(fixture: String) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = try GGUFFile(path: root.appendingPathComponent("Fixtures/\(fixture)").path)
        let info = try #require(file.tensor(named: "blk.0.ffn_gate.weight"))
        let w = try WeightMatrix(info, in: file)
        let pool = ThreadPool(threads: 2)
        var rng = SplitMix(11)
        for tokens in [1, 3, 4, 7, 9, 12] {
            let x = (0..<(tokens * w.columns)).map { _ in rng.nextFloat() }
            var batched = [Float](repeating: 0, count: tokens * w.rows)
            matmul(w, x, tokens: tokens, &batched, pool: pool)
            for t in 0..<tokens {
                var one = [Float](repeating: 0, count: w.rows)
                x.withUnsafeBufferPointer { xp in matvec(w, xp.baseAddress! + t * w.columns, &one, pool: pool) }
                let row = Array(batched[(t * w.rows)..<((t + 1) * w.rows)])
                if kernelsUseAVX2 && w.type == .f16 && tokens >= 2 {
                    // F16 batches take tinyBLAS's order (one eight-lane chain per sum), one token
                    // ggml_vec_dot_f16's (four chains), as in llama.cpp: the same products, added apart.
                    #expect(zip(row, one).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) }, "\(fixture): token \(t) of \(tokens)")
                } else {
                    #expect(row == one, "\(fixture): token \(t) of \(tokens)")
                }
            }
        }
    }
}

/// F16 and F32 batches in tinyBLAS's eight-lane order, bit for bit, on the AVX2 build and on the AVX-512
/// build (which carries two rows' chains per 16-lane register): lane j of a sum's chain takes columns
/// j, j + 8, j + 16, … by fused multiply-adds, then the lanes add as hsum(__m256) adds them. Row counts
/// leave groups of four after the groups of eight; token counts leave tiles of one after those of six
/// and three, within and across blocks of 24.
@Suite struct TinyBLASOrderTests {
    @Test(.enabled(if: kernelsUseAVX2, "the portable build sums F16 and F32 batches as one token each"),
          arguments: [GGMLType.f16, .f32], [(rows: 20, tokens: 2), (rows: 44, tokens: 13), (rows: 16, tokens: 31)])
    func batchesSumInEightLaneChains(type: GGMLType, shape: (rows: Int, tokens: Int)) throws {
        let columns = 96, (rows, tokens) = shape
        var rng = SplitMix(UInt64(rows * 100 + tokens))
        let values = (0..<(rows * columns)).map { _ in Float(Float16(rng.nextFloat() - 0.5)) }
        let x = (0..<(tokens * columns)).map { _ in rng.nextFloat() * 4 - 2 }
        // F16 weights meet the activations rounded to F16 (ggml's vec_dot_type for F16).
        let xr = type == .f16 ? x.map { Float(Float16($0)) } : x
        var bytes: [UInt8] = []
        for v in values {
            if type == .f16 { withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { bytes += $0 } }
            else { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
        }
        var y = [Float](repeating: .nan, count: tokens * rows)
        try bytes.withUnsafeBytes { raw in
            let w = try WeightMatrix(type: type, rows: rows, columns: columns, data: raw.baseAddress!)
            matmul(w, x, tokens: tokens, &y, pool: ThreadPool(threads: 2))
        }
        var mismatches = 0
        for t in 0..<tokens {
            for r in 0..<rows {
                var lanes = [Float](repeating: 0, count: 8)
                for l in stride(from: 0, to: columns, by: 8) {
                    for j in 0..<8 { lanes[j].addProduct(values[r * columns + l + j], xr[t * columns + l + j]) }
                }
                let quarters = (0..<4).map { lanes[$0] + lanes[$0 + 4] }
                let sum = (quarters[0] + quarters[2]) + (quarters[1] + quarters[3])
                if y[t * rows + r].bitPattern != sum.bitPattern { mismatches += 1 }
            }
        }
        #expect(mismatches == 0, "\(type.name) \(rows) rows × \(tokens) tokens")
    }
}

/// A prompt's product splits its rows into pieces that shrink towards the end (so that the threads finish
/// together); every row must still be computed once, as on one thread: row counts off multiples of eight,
/// several products in one job, and rows of every kernel family.
@Suite struct ProductPiecesTests {
    @Test(arguments: [GGMLType.q8_0, .q4_0, .q4_K, .q6_K, .f16])
    func twoThreadsEqualOne(type: GGMLType) throws {
        var rng = SplitMix(47)
        let columns = 512, tokens = 40
        let x = (0..<(tokens * columns)).map { _ in rng.nextFloat() * 3 }
        for rowCounts in [[131], [1000, 259, 8]] {
            let bytes = rowCounts.map { rows in
                (0..<rows).flatMap { r in randomRow(type, columns: columns, seed: UInt64(rows &* 977 &+ r)) }
            }
            let storage = bytes.map { b in
                let p = UnsafeMutableRawPointer.allocate(byteCount: b.count, alignment: 64)
                p.copyMemory(from: b, byteCount: b.count)
                return p
            }
            defer { storage.forEach { $0.deallocate() } }
            let weights = try zip(rowCounts, storage).map { rows, p in
                try WeightMatrix(type: type, rows: rows, columns: columns, data: p)
            }
            func run(threads: Int) -> [[Float]] {
                let pool = ThreadPool(threads: threads)
                let outputs = rowCounts.map { UnsafeMutablePointer<Float>.allocate(capacity: tokens * $0) }
                defer { outputs.forEach { $0.deallocate() } }
                for (o, rows) in zip(outputs, rowCounts) { o.initialize(repeating: .nan, count: tokens * rows) }
                x.withUnsafeBufferPointer { xp in
                    matmul(zip(weights, outputs).map { (weight: $0, output: $1) }, xp.baseAddress!, tokens: tokens,
                           pool: pool)
                }
                return zip(outputs, rowCounts).map { o, rows in
                    Array(UnsafeBufferPointer(start: o, count: tokens * rows))
                }
            }
            let one = run(threads: 1), two = run(threads: 2)
            for i in one.indices {
                #expect(one[i].filter(\.isNaN).count == 0, "\(type.name) \(rowCounts): outputs left unwritten")
                #expect(zip(one[i], two[i]).filter { $0.bitPattern != $1.bitPattern }.count == 0,
                        "\(type.name) \(rowCounts), product \(i): outputs differ between one thread and two")
            }
        }
    }
}

/// A decoding step's product (several rows per pass, a quarter or half of the run apart) gives every row
/// exactly the one-row dot product: the same order of additions per row, whatever row shares its pass.
@Suite struct DecodingRowsTests {
    @Test(arguments: [GGMLType.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q5_K, .q6_K, .f16, .bf16])
    func eachRowAsAlone(type: GGMLType) throws {
        let pool = ThreadPool(threads: 2)
        var rng = SplitMix(31)
        // Row counts with remainders after fours and twos, on one thread's share and on two.
        for (rows, columns) in [(5, 512), (38, 768), (131, 512)] {
            let rowBytes = (0..<rows).map { r in randomRow(type, columns: columns, seed: UInt64(r + 9) &* 313) }
            let x = (0..<columns).map { _ in rng.nextFloat() * 3 }
            var y = [Float](repeating: 0, count: rows)
            try rowBytes.flatMap { $0 }.withUnsafeBytes { raw in
                let w = try WeightMatrix(type: type, rows: rows, columns: columns, data: raw.baseAddress!)
                matvec(w, x, &y, pool: pool)
            }
            for r in 0..<rows {
                let alone = try rowBytes[r].withUnsafeBytes { try quantizedRowDot(type, row: $0, x) }
                #expect(y[r] == alone, "\(type.name) \(rows)×\(columns), row \(r): \(y[r]) against \(alone)")
            }
        }
    }
}

/// F16 decoding products against a scalar statement of `ggml_vec_dot_f16`'s AVX2 order: four eight-lane fma
/// chains over steps of 32 values, added 0+2, 1+3, then together, the lanes as (l0+h0 + l1+h1) + (l2+h2 +
/// l3+h3), the values after the last whole step added in double precision.
@Suite struct F16DotOrderTests {
    static func vecDotF16(_ w: [Float16], _ x: [Float]) -> Float {
        var acc = [[Float]](repeating: [Float](repeating: 0, count: 8), count: 4)
        var i = 0
        while i + 32 <= w.count {
            for c in 0..<4 {
                for l in 0..<8 {
                    let x16 = Float(Float16(x[i + 8 * c + l]))
                    acc[c][l] = acc[c][l].addingProduct(Float(w[i + 8 * c + l]), x16)
                }
            }
            i += 32
        }
        let v = (0..<8).map { l in (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l]) }
        let t = (0..<4).map { l in v[l] + v[l + 4] }
        var sum = Double((t[0] + t[1]) + (t[2] + t[3]))
        while i < w.count { sum += Double(Float(w[i]) * Float(Float16(x[i]))); i += 1 }
        return Float(sum)
    }

    @Test(.enabled(if: kernelsUseAVX2, "the AVX2 build reproduces the AVX2 order"))
    func decodingFollowsVecDotF16() throws {
        let pool = ThreadPool(threads: 2)
        var rng = SplitMix(77)
        for (rows, columns) in [(7, 520), (34, 96)] {
            let w = (0..<(rows * columns)).map { _ in Float16(rng.nextFloat() * 0.1) }
            let x = (0..<columns).map { _ in rng.nextFloat() * 2 }
            var y = [Float](repeating: 0, count: rows)
            try w.withUnsafeBytes { raw in
                let m = try WeightMatrix(type: .f16, rows: rows, columns: columns, data: raw.baseAddress!)
                matvec(m, x, &y, pool: pool)
            }
            for r in 0..<rows {
                let expected = Self.vecDotF16(Array(w[(r * columns)..<((r + 1) * columns)]), x)
                #expect(y[r] == expected, "\(rows)×\(columns), row \(r): \(y[r]) against \(expected)")
            }
        }
    }
}

/// Products of different inputs and widths in one job give each output what its product alone gives.
@Suite struct SeveralInputsTests {
    @Test func eachProductAsAlone() throws {
        let pool = ThreadPool(threads: 2)
        var rng = SplitMix(5)
        let shapes: [(GGMLType, Int, Int)] = [(.q4_K, 24, 512), (.q8_0, 40, 768), (.q6_K, 16, 256), (.q4_K, 8, 512)]
        let data = shapes.enumerated().map { i, s in
            (0..<s.1).flatMap { r in randomRow(s.0, columns: s.2, seed: UInt64(100 * i + r)) }
        }
        let offsets = data.indices.map { i in data[..<i].reduce(0) { $0 + $1.count } }
        // The first and last products share an input.
        let inputOf = [0, 1, 2, 0]
        try data.flatMap { $0 }.withUnsafeBytes { raw in
            let matrices = try shapes.enumerated().map { i, s in
                try WeightMatrix(type: s.0, rows: s.1, columns: s.2, data: raw.baseAddress! + offsets[i])
            }
            for tokens in [1, 3, 9] {
                let inputs = shapes.map { s in (0..<(tokens * s.2)).map { _ in rng.nextFloat() } }
                let pointers = inputs.map { x in
                    let p = UnsafeMutablePointer<Float>.allocate(capacity: x.count)
                    p.initialize(from: x, count: x.count)
                    return p
                }
                let together = shapes.map { s in UnsafeMutablePointer<Float>.allocate(capacity: tokens * s.1) }
                defer { (pointers + together).forEach { $0.deallocate() } }
                matmul(matrices.enumerated().map { i, w in
                    (weight: w, input: UnsafePointer(pointers[inputOf[i]]), output: together[i])
                }, tokens: tokens, pool: pool, order: .expertProduct)
                for (i, w) in matrices.enumerated() {
                    var alone = [Float](repeating: 0, count: tokens * w.rows)
                    alone.withUnsafeMutableBufferPointer { yp in
                        matmul([(w, yp.baseAddress!)], pointers[inputOf[i]], tokens: tokens, pool: pool,
                               order: .expertProduct)
                    }
                    #expect(Array(UnsafeBufferPointer(start: together[i], count: tokens * w.rows)) == alone,
                            "product \(i), \(tokens) tokens")
                }
            }
        }
    }
}

/// Q4_0 regrouped eight rows at a time (where the build has the kernel) gives the same
/// products as the file's layout, up to float summation order, and their prompt and one-token paths
/// agree exactly.
@Suite struct RepackedRowsTests {
    @Test(arguments: [GGMLType.q4_0])
    func repackedMatchesFileLayout(type: GGMLType) throws {
        var rng = SplitMix(21)
        for (rows, columns) in [(64, 256), (40, 96), (24, 1536)] {
            let bytes = (0..<rows).flatMap { r in randomRow(type, columns: columns, seed: UInt64(r + 1) &* 977) }
            var writer = GGUFWriter()
            try writer.addTensor(name: "w", shape: [columns, rows], type: type, data: bytes)
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("repack-\(type.name)-\(rows)x\(columns)-\(getpid()).gguf").path
            try writer.write(to: path)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let file = try GGUFFile(path: path)
            let plain = try WeightMatrix(try #require(file.tensor(named: "w")), in: file)
            let packed = plain.repackedForMatmul()
            #expect((packed.repacked != nil) == kernelsUseAVX2)
            let pool = ThreadPool(threads: 2)
            for tokens in [1, 3, 4, 6, 9] {
                let x = (0..<(tokens * columns)).map { _ in rng.nextFloat() * 3 }
                var want = [Float](repeating: 0, count: tokens * rows), got = want
                matmul(plain, x, tokens: tokens, &want, pool: pool)
                matmul(packed, x, tokens: tokens, &got, pool: pool)
                // Summation order differs (exact block sums against eight float lanes), so the error
                // scales with the outputs' size, not with each output (some cancel to near zero).
                let size = want.reduce(Float(1)) { max($0, abs($1)) }
                for i in 0..<want.count {
                    #expect(abs(got[i] - want[i]) <= 1e-5 * size, "\(rows)×\(columns), \(tokens) tokens, output \(i): \(got[i]) vs \(want[i])")
                }
                for t in 0..<tokens {
                    var one = [Float](repeating: 0, count: rows)
                    x.withUnsafeBufferPointer { xp in matvec(packed, xp.baseAddress! + t * columns, &one, pool: pool) }
                    #expect(Array(got[(t * rows)..<((t + 1) * rows)]) == one, "\(rows)×\(columns): token \(t) of \(tokens)")
                }
            }
        }
    }
}

@Suite struct ElementwiseTests {
    /// The F16-table GELU stays within F16 rounding of the exact formula, and is exact at the cut-offs.
    @Test func geluTableFollowsTheFormula() {
        var xs: [Float] = stride(from: -12, through: 12, by: 0.01).map { Float($0) }
        let exact = xs.map(geluReference)
        gelu(&xs, count: xs.count)
        for (got, want) in zip(xs, exact) {
            #expect(abs(got - want) <= 2e-3 * max(1, abs(want)), "gelu table \(got) vs formula \(want)")
        }
        var far: [Float] = [-11, 11, 10.5]
        gelu(&far, count: 3)
        #expect(far == [0, 11, 10.5])
    }
}

/// The element-wise kernels against plain Double-precision references written from their definitions.
@Suite struct ElementwiseReferenceTests {
    var rng = SplitMix(77)
    mutating func vector(_ n: Int, scale: Float = 3) -> [Float] { (0..<n).map { _ in rng.nextFloat() * scale } }

    @Test mutating func rmsNormMatchesDefinition() {
        let x = vector(576), w = vector(576)
        var out = [Float](repeating: 0, count: 576)
        rmsNorm(x, weight: w, out: &out, count: 576, epsilon: 1e-5)
        let ms = x.reduce(0.0) { $0 + Double($1) * Double($1) } / 576
        for i in 0..<576 {
            let want = Double(x[i]) / (ms + 1e-5).squareRoot() * Double(w[i])
            #expect(abs(Double(out[i]) - want) <= 1e-5 * max(1, abs(want)))
        }
    }

    @Test(arguments: [RoPEStyle.normal, .neox])
    func ropeRotatesPairs(style: RoPEStyle) {
        var r = SplitMix(5)
        let headDim = 64, heads = 3, position = 37, base: Float = 10000
        let x = (0..<(heads * headDim)).map { _ in r.nextFloat() }
        var y = x
        rope(&y, heads: heads, headDim: headDim, position: position, ropeDim: headDim, base: base, style: style)
        for h in 0..<heads {
            for i in 0..<(headDim / 2) {
                let (a, b) = style == .normal ? (2 * i, 2 * i + 1) : (i, i + headDim / 2)
                let theta = Double(position) * pow(Double(base), -2 * Double(i) / Double(headDim))
                let x0 = Double(x[h * headDim + a]), x1 = Double(x[h * headDim + b])
                #expect(abs(Double(y[h * headDim + a]) - (x0 * cos(theta) - x1 * sin(theta))) < 1e-4)
                #expect(abs(Double(y[h * headDim + b]) - (x0 * sin(theta) + x1 * cos(theta))) < 1e-4)
            }
        }
    }

    /// ggml's vectorized e^x: within 2 ULP of e^x where the result is a normal float, ∞ above the
    /// float range and 0 (or a subnormal) far below it, in every lane independently.
    @Test func vectorExpMatchesExp() {
        var xs = Array(stride(from: Float(-120), through: 100, by: 0.173))
        xs += [0, -0, 1, -1, 88.7, 88.8, -87.3, -103.9, 1e-8, -1e-8]
        while xs.count % 8 != 0 { xs.append(0.5) }
        for start in stride(from: 0, to: xs.count, by: 8) {
            let v = SIMD8<Float>(xs[start..<(start + 8)])
            let e = vectorExp(v)
            for lane in 0..<8 {
                let x = Double(v[lane]), want = exp(x), got = Double(e[lane])
                if want > Double(Float.greatestFiniteMagnitude) {
                    #expect(got == .infinity, "e^\(x)")
                } else if want >= Double(Float.leastNormalMagnitude) {
                    #expect(abs(got - want) <= 2 * Double(Float(want).ulp), "e^\(x): \(got) against \(want)")
                } else {
                    #expect(got <= 2 * Double(Float.leastNormalMagnitude) && got >= 0, "e^\(x): \(got)")
                }
            }
        }
    }

    @Test mutating func softmaxSiluSwigluAddMultiply() {
        var x = vector(300, scale: 20)
        let original = x
        softmax(&x, count: 300)
        let m = original.map(Double.init).max()!
        let z = original.reduce(0.0) { $0 + exp(Double($1) - m) }
        for i in 0..<300 { #expect(abs(Double(x[i]) - exp(Double(original[i]) - m) / z) < 1e-6) }

        var s = original
        silu(&s, count: 300)
        for i in 0..<300 { let v = Double(original[i]); #expect(abs(Double(s[i]) - v / (1 + exp(-v))) <= 1e-5 * max(1, abs(v))) }

        let up = vector(300)
        var out = [Float](repeating: 0, count: 300)
        swiglu(gate: original, up: up, out: &out, count: 300)
        for i in 0..<300 { let v = Double(original[i]); #expect(abs(Double(out[i]) - v / (1 + exp(-v)) * Double(up[i])) <= 1e-4 * max(1, abs(v))) }

        add(original, up, out: &out, count: 300)
        #expect(out == zip(original, up).map { $0 + $1 })
        multiply(original, up, out: &out, count: 300)
        #expect(out == zip(original, up).map { $0 * $1 })
    }
}
