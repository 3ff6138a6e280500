import Foundation
import Testing
import SwiftletGGUF
import SwiftletKernels

/// Batched Q4_K and Q6_K products (prompts) against a plain scalar statement of the order of float
/// operations llama.cpp's AVX2 build gives them: for Q4_K matrices whose rows come in eights, ggml's
/// repacked GEMM for each whole group of four tokens (per pair of sub-blocks) and its GEMV for the rest
/// (per super-block); for Q6_K from eight tokens on, the tiled order (per super-block, d·Σ then times da,
/// fused into the running sum). The fast kernels must give these numbers to the bit, whatever their
/// tiles and loop order.
@Suite struct KQuantBatchOrderTests {
    /// Q4_K's 6-bit scale and min of sub-block j (ggml's `get_scale_min_k4`).
    static func scaleMin(_ b: ArraySlice<UInt8>, _ j: Int) -> (Int32, Int32) {
        let q = Array(b[(b.startIndex + 4)..<(b.startIndex + 16)])
        if j < 4 { return (Int32(q[j] & 63), Int32(q[j + 4] & 63)) }
        return (Int32((q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4)), Int32((q[j + 4] >> 4) | ((q[j] >> 6) << 4)))
    }

    static func half(_ b: ArraySlice<UInt8>, _ o: Int) -> Float {
        Float(Float16(bitPattern: UInt16(b[b.startIndex + o]) | UInt16(b[b.startIndex + o + 1]) << 8))
    }

    /// One Q4_K row · one token's Q8_K activations, summed per pair of sub-blocks (`perPair`) or per
    /// super-block.
    static func q4K(_ row: [UInt8], _ a: (values: [Int8], scales: [Float], sums: [Int32]), perPair: Bool) -> Float {
        var whole: Float = 0, mins: Float = 0
        for b in 0..<(row.count / 144) {
            let blk = row[(144 * b)..<(144 * b + 144)]
            let d = half(blk, 0), dmin = half(blk, 2), da = a.scales[b]
            var total: Int32 = 0, minTotal: Int32 = 0
            for g in 0..<4 {
                var pair: Int32 = 0, pairMin: Int32 = 0
                for half in 0..<2 {
                    let j = 2 * g + half
                    let (sc, mn) = scaleMin(blk, j)
                    var s: Int32 = 0
                    for l in 0..<32 {
                        let byte = blk[blk.startIndex + 16 + 32 * g + l]
                        let q = Int32(half == 0 ? byte & 0x0F : byte >> 4)
                        s += q * Int32(a.values[256 * b + 32 * j + l])
                    }
                    pair += sc * s
                    pairMin += mn * (a.sums[16 * b + 2 * j] + a.sums[16 * b + 2 * j + 1])
                }
                if perPair {
                    whole = whole.addingProduct(Float(pair), d * da)
                    mins = mins.addingProduct(Float(pairMin), dmin * da)
                } else {
                    total += pair; minTotal += pairMin
                }
            }
            if !perPair {
                whole = whole.addingProduct(Float(total), d * da)
                mins = mins.addingProduct(Float(minTotal), dmin * da)
            }
        }
        return whole - mins
    }

    /// One Q6_K row · one token's Q8_K activations in the tiled order.
    static func q6K(_ row: [UInt8], _ a: (values: [Int8], scales: [Float], sums: [Int32])) -> Float {
        var whole: Float = 0
        for b in 0..<(row.count / 210) {
            let blk = Array(row[(210 * b)..<(210 * b + 210)])
            let d = half(blk[...], 208)
            var total: Int32 = 0
            for h in 0..<2 {
                for l in 0..<32 {
                    let ql0 = blk[64 * h + l], ql1 = blk[64 * h + 32 + l], qh = blk[128 + 32 * h + l]
                    let q = [Int32(ql0 & 0x0F) | Int32(qh & 3) << 4, Int32(ql1 & 0x0F) | Int32((qh >> 2) & 3) << 4,
                             Int32(ql0 >> 4) | Int32((qh >> 4) & 3) << 4, Int32(ql1 >> 4) | Int32(qh >> 6) << 4]
                    for i in 0..<4 {
                        let sub = 8 * h + 2 * i + l / 16
                        total += Int32(Int8(bitPattern: blk[192 + sub])) * (q[i] - 32) * Int32(a.values[256 * b + 128 * h + 32 * i + l])
                    }
                }
            }
            whole = whole.addingProduct(d * Float(total), a.scales[b])
        }
        return whole
    }

    /// Q4_K rows in eights as ggml's `mul_mat_id` and the several-sequence decoding step form them: every
    /// token in the repacked GEMV's order (per super-block), however many tokens share a pass; and as
    /// `mul_mat` forms them, the GEMV's order for one token (decoding) and for the tokens after the last
    /// four. 480 rows at 2048 values: up to 16 tokens, each thread's 240 rows fall into row blocks of 227
    /// and 13, which leave rows over after the four-row passes. An expert's tokens from eight on take the
    /// batched kernel's four-row tiles in the GEMV's order (33 tokens: row pieces of 24 rows shrinking to
    /// 8, eight whole groups of four and one token over).
    @Test(arguments: [ProductOrder.expertProduct, .tokenwise, .matrixProduct])
    func q4KTokenByTokenOrder(order: ProductOrder) throws {
        let pool = ThreadPool(threads: 2)
        var rng = SplitMix(17)
        for (rows, columns) in [(16, 512), (8, 8192), (480, 2048)] {
            let rowBytes = (0..<rows).map { r in randomRow(.q4_K, columns: columns, seed: UInt64(r + 5) &* 131) }
            let bytes = rowBytes.flatMap { $0 }
            try bytes.withUnsafeBytes { raw in
                let w = try WeightMatrix(type: .q4_K, rows: rows, columns: columns, data: raw.baseAddress!)
                for tokens in [1, 3, 4, 9, 14, 33] {
                    let x = (0..<(tokens * columns)).map { _ in rng.nextFloat() * 4 }
                    var y = [Float](repeating: 0, count: tokens * rows)
                    x.withUnsafeBufferPointer { xp in
                        y.withUnsafeMutableBufferPointer { yp in
                            matmul([(w, yp.baseAddress!)], xp.baseAddress!, tokens: tokens, pool: pool, order: order)
                        }
                    }
                    var mismatches = 0
                    for t in 0..<tokens {
                        let a = try q8KActivations(Array(x[(t * columns)..<((t + 1) * columns)]))
                        let perPair = order == .matrixProduct && t < tokens / 4 * 4
                        for r in 0..<rows where y[t * rows + r] != Self.q4K(rowBytes[r], a, perPair: perPair) {
                            mismatches += 1
                        }
                    }
                    #expect(mismatches == 0, "\(rows)×\(columns), \(tokens) tokens: \(mismatches) outputs differ")
                }
            }
        }
    }

    @Test(arguments: [GGMLType.q4_K, .q6_K])
    func batchesFollowLlamaCppOrder(type: GGMLType) throws {
        let pool = ThreadPool(threads: 2)
        var rng = SplitMix(7)
        for (rows, columns) in [(16, 512), (24, 2048), (8, 8192)] {
            let rowBytes = (0..<rows).map { r in randomRow(type, columns: columns, seed: UInt64(r + 11) &* 977) }
            let bytes = rowBytes.flatMap { $0 }
            try bytes.withUnsafeBytes { raw in
                let w = try WeightMatrix(type: type, rows: rows, columns: columns, data: raw.baseAddress!)
                for tokens in [8, 9, 13, 19, 70] {
                    let x = (0..<(tokens * columns)).map { _ in rng.nextFloat() * 4 }
                    var y = [Float](repeating: 0, count: tokens * rows)
                    x.withUnsafeBufferPointer { xp in
                        y.withUnsafeMutableBufferPointer { yp in matmul(w, xp.baseAddress!, tokens: tokens, yp.baseAddress!, pool: pool) }
                    }
                    var mismatches = 0
                    for t in 0..<tokens {
                        let a = try q8KActivations(Array(x[(t * columns)..<((t + 1) * columns)]))
                        for r in 0..<rows {
                            let expected = type == .q4_K ? Self.q4K(rowBytes[r], a, perPair: t < tokens / 4 * 4) : Self.q6K(rowBytes[r], a)
                            if y[t * rows + r] != expected { mismatches += 1 }
                        }
                    }
                    #expect(mismatches == 0, "\(type.name) \(rows)×\(columns), \(tokens) tokens: \(mismatches) outputs differ")
                }
            }
        }
    }

    /// A Q4_K matrix that follows another product in one job starts its share of rows off the batched
    /// kernel's tiles of four rows, so a tile is short: its outputs still follow the repacked GEMM's
    /// order. One row has every nibble 15 and every scale 63, and one token every value equal, so that the
    /// 16-bit sums of the kernel reach their largest magnitude.
    @Test func q4KAfterAnotherProduct() throws {
        let pool = ThreadPool(threads: 2)
        var rng = SplitMix(23)
        let columns = 512, rows = 16, tokens = 8
        let first = randomRow(.q8_0, columns: columns, seed: 3) + randomRow(.q8_0, columns: columns, seed: 4)
        var rowBytes = (0..<rows).map { r in randomRow(.q4_K, columns: columns, seed: UInt64(r + 41) &* 313) }
        for b in 0..<(columns / 256) {
            for i in 4..<144 { rowBytes[5][144 * b + i] = 0xFF }
        }
        var x = (0..<(tokens * columns)).map { _ in rng.nextFloat() * 4 }
        for i in 0..<columns { x[2 * columns + i] = -3 }
        try first.withUnsafeBytes { f in
            try rowBytes.flatMap { $0 }.withUnsafeBytes { raw in
                let other = try WeightMatrix(type: .q8_0, rows: 2, columns: columns, data: f.baseAddress!)
                let w = try WeightMatrix(type: .q4_K, rows: rows, columns: columns, data: raw.baseAddress!)
                var y0 = [Float](repeating: 0, count: tokens * 2), y = [Float](repeating: 0, count: tokens * rows)
                x.withUnsafeBufferPointer { xp in
                    y0.withUnsafeMutableBufferPointer { y0p in
                        y.withUnsafeMutableBufferPointer { yp in
                            matmul([(other, y0p.baseAddress!), (w, yp.baseAddress!)], xp.baseAddress!, tokens: tokens,
                                   pool: pool)
                        }
                    }
                }
                var mismatches = 0
                for t in 0..<tokens {
                    let a = try q8KActivations(Array(x[(t * columns)..<((t + 1) * columns)]))
                    for r in 0..<rows where y[t * rows + r] != Self.q4K(rowBytes[r], a, perPair: true) {
                        mismatches += 1
                    }
                }
                #expect(mismatches == 0, "\(mismatches) outputs differ")
            }
        }
    }
}
