import Testing
import SwiftletKVCache

/// 64 values (two blocks: one of magnitude ~1.5 with −4.25 its largest, one of ~0.02).
private let fixtureValues: [Float] = [
    0.0064142453, 0.91304916, -1.6271482, 0.3329894, -1.0379659, -4.25, -0.74230295, 0.07394558, -1.3741277,
    -0.40961948, -1.7543607, 1.2033403, 0.18726659, 0.9773308, -1.58178, 1.1297473, -1.4835973, 0.38411656,
    -0.15492514, -0.2957067, -0.9625218, 0.6871663, 1.3992802, -1.7443671, 0.9762974, -0.8603834, -1.6977496,
    1.9915495, -0.83985853, 0.81019855, -3.6081276, -1.5346965, -0.035754453, 0.0030194286, -0.013728349,
    -0.001406466, -0.032532897, 0.022316536, -0.012271784, -0.029571177, -0.0022540907, 0.039189655,
    -0.0054459125, 0.018159714, 0.027055979, 0.054773025, 0.036555838, -0.0047259135, -0.0055881436,
    0.024398131, 0.0016151367, -0.006921113, -0.03340356, 0.026096383, -0.0018643753, -0.016672464,
    0.019320877, -0.008941816, 0.039225567, -0.00588452, 0.026457785, -0.000045269175, -0.03440475,
    -0.0033622426,
]

/// `gguf.quants.quantize(x, GGMLQuantizationType.Q8_0)` (Python gguf, bit-exact with ggml's
/// `quantize_row_q8_0_ref`) of ``fixtureValues``: each block's F16 scale bits and its 32 values.
private let fixtureScales: [UInt16] = [0x2849, 0x0F11]
private let fixtureQuants: [[Int8]] = [
    [0, 27, -49, 10, -31, -127, -22, 2, -41, -12, -52, 36, 6, 29, -47, 34, -44, 11, -5, -9, -29, 21, 42, -52, 29,
     -26, -51, 60, -25, 24, -108, -46],
    [-83, 7, -32, -3, -75, 52, -28, -69, -5, 91, -13, 42, 63, 127, 85, -11, -13, 57, 4, -16, -77, 61, -4, -39, 45,
     -21, 91, -14, 61, 0, -80, -8],
]

private func quantized(_ x: [Float]) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: x.count / 32 * 34)
    x.withUnsafeBufferPointer { src in
        bytes.withUnsafeMutableBytes { quantizeQ8_0Row(src.baseAddress!, $0.baseAddress!, count: x.count) }
    }
    return bytes
}

private func dequantized(_ bytes: [UInt8], count: Int) -> [Float] {
    var out = [Float](repeating: 0, count: count)
    bytes.withUnsafeBytes { src in
        out.withUnsafeMutableBufferPointer { dequantizeQ8_0Row(src.baseAddress!, $0.baseAddress!, count: count) }
    }
    return out
}

/// Deterministic values of varied magnitude per block.
private func values(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed
    return (0..<count).map { i in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        let unit = Float(state >> 40) / Float(1 << 24) - 0.5
        return unit * Float(1 + (i / 32) % 5) * 3
    }
}

private func read(_ cache: KVCache, keys: Bool, layer: Int, _ positions: Range<Int>) throws -> [Float] {
    let width = keys ? cache.layers[layer].keyWidth : cache.layers[layer].valueWidth
    var out = [Float](repeating: 0, count: positions.count * width)
    try out.withUnsafeMutableBufferPointer {
        if keys { try cache.readKeys(layer: layer, positions: positions, into: $0.baseAddress!) }
        else { try cache.readValues(layer: layer, positions: positions, into: $0.baseAddress!) }
    }
    return out
}

@Suite struct Q8_0CacheTests {
    @Test func quantizationMatchesPythonGGUF() {
        let bytes = quantized(fixtureValues)
        #expect(bytes.count == 68)
        for b in 0..<2 {
            #expect(UInt16(bytes[34 * b]) | UInt16(bytes[34 * b + 1]) << 8 == fixtureScales[b])
            #expect(bytes[(34 * b + 2)..<(34 * b + 34)].map { Int8(bitPattern: $0) } == fixtureQuants[b])
        }
        // x = d·q, as ggml's dequantize_row_q8_0.
        let back = dequantized(bytes, count: 64)
        for i in 0..<64 {
            let d = Float(Float16(bitPattern: fixtureScales[i / 32]))
            #expect(back[i] == d * Float(fixtureQuants[i / 32][i % 32]))
        }
    }

    /// Ties round to even, as llama.cpp's x86 `quantize_row_q8_0` (the function its KV cache writes with)
    /// does; the reference `quantize_row_q8_0_ref` would round 62.5 to 63.
    @Test func tiesRoundToEvenAsLlamaCppCPUBackend() {
        var x = [Float](repeating: 0, count: 32)
        x[0] = 127; x[1] = 62.5; x[2] = -62.5; x[3] = 63.5; x[4] = 0.5; x[5] = -127
        let q = quantized(x)[2..<34].map { Int8(bitPattern: $0) }
        #expect(Array(q[0..<6]) == [127, 62, -62, 64, 0, -127])
        // An all-zero block has scale 0 and zero values.
        #expect(quantized([Float](repeating: 0, count: 32)) == [UInt8](repeating: 0, count: 34))
    }

    @Test func roundTripErrorIsWithinHalfAStep() {
        let x = values(32 * 40, seed: 7)
        let back = dequantized(quantized(x), count: x.count)
        for b in 0..<40 {
            let block = x[(32 * b)..<(32 * b + 32)]
            let d = block.map(abs).max()! / 127
            // Half a step, plus what the F16 rounding of d moves the largest value (127·|Δd| ≤ 127·d·2⁻¹¹).
            let bound = d * (0.5 + 127.0 / 2048)
            for i in block.indices { #expect(abs(back[i] - x[i]) <= bound, "value \(i)") }
        }
    }

    @Test func cacheStoresQ8_0KeysAndF16Values() throws {
        let shapes = [KVLayerShape(keyWidth: 64, valueWidth: 32)]
        let cache = try KVCache(layers: shapes, capacity: 8, keyStorage: .q8_0, valueStorage: .f16)
        #expect(cache.keyStorage == .q8_0 && cache.valueStorage == .f16)
        #expect(cache.byteCount == 8 * (2 * 34 + 32 * 2))
        #expect(cache.byteCount == KVCache.byteCount(layers: shapes, capacity: 8, keyStorage: .q8_0, valueStorage: .f16))
        try cache.reserve(3)
        for p in 0..<3 {
            try cache.store(layer: 0, position: p, key: values(64, seed: UInt64(p)), value: values(32, seed: 100 + UInt64(p)))
        }
        try cache.commit(3)
        for p in 0..<3 {
            #expect(try read(cache, keys: true, layer: 0, p..<(p + 1)) == dequantized(quantized(values(64, seed: UInt64(p))), count: 64))
            #expect(try read(cache, keys: false, layer: 0, p..<(p + 1)) == values(32, seed: 100 + UInt64(p)).map { Float(Float16($0)) })
        }
        #expect(try read(cache, keys: true, layer: 0, 0..<3).count == 3 * 64)
        #expect(throws: KVCacheError.self) { _ = try cache.halfRows(layer: 0, positions: 0..<3) }
    }

    @Test func q8_0TakesAboutHalfOfF16() throws {
        let shapes = Array(repeating: KVLayerShape(keyWidth: 192, valueWidth: 192), count: 30)
        let f16 = KVCache.byteCount(layers: shapes, capacity: 4096, storage: .f16)
        let q8 = KVCache.byteCount(layers: shapes, capacity: 4096, storage: .q8_0)
        #expect(q8 * 64 == f16 * 34)
    }

    @Test func widthsThatAreNotWholeBlocksAreRefused() {
        #expect(throws: KVCacheError.self) {
            _ = try KVCache(layers: [KVLayerShape(keyWidth: 48, valueWidth: 64)], capacity: 4, storage: .q8_0)
        }
        #expect(throws: KVCacheError.self) {
            _ = try KVCache(layers: [KVLayerShape(keyWidth: 64, valueWidth: 40)], capacity: 4, keyStorage: .f16,
                            valueStorage: .q8_0)
        }
        // F16 V of any width is fine beside a Q8_0 K.
        #expect((try? KVCache(layers: [KVLayerShape(keyWidth: 64, valueWidth: 40)], capacity: 4, keyStorage: .q8_0,
                              valueStorage: .f16)) != nil)
    }

    @Test func copyPrefixCopiesQ8_0Rows() throws {
        let shapes = [KVLayerShape(keyWidth: 64, valueWidth: 64), KVLayerShape(keyWidth: 32, valueWidth: 64, window: 3)]
        let a = try KVCache(layers: shapes, capacity: 32, maxBatch: 4, storage: .q8_0)
        let b = try KVCache(layers: shapes, capacity: 32, maxBatch: 4, storage: .q8_0)
        for start in stride(from: 0, to: 8, by: 4) {
            try a.reserve(4)
            for l in 0..<2 {
                for p in start..<(start + 4) {
                    try a.store(layer: l, position: p, key: values(shapes[l].keyWidth, seed: UInt64(10 * p + l)),
                                value: values(64, seed: UInt64(500 + 10 * p + l)))
                }
            }
            try a.commit(4)
        }
        try b.copyPrefix(from: a, count: 6)
        #expect(b.count == 6)
        #expect(try read(b, keys: true, layer: 0, 0..<6) == (try read(a, keys: true, layer: 0, 0..<6)))
        #expect(try read(b, keys: false, layer: 0, 0..<6) == (try read(a, keys: false, layer: 0, 0..<6)))
        #expect(try read(b, keys: true, layer: 1, 4..<6) == (try read(a, keys: true, layer: 1, 4..<6)))
        #expect(try read(b, keys: false, layer: 1, 4..<6) == (try read(a, keys: false, layer: 1, 4..<6)))
        // Another K or V type is another layout.
        let f16 = try KVCache(layers: shapes, capacity: 32, maxBatch: 4, storage: .f16)
        let mixed = try KVCache(layers: shapes, capacity: 32, maxBatch: 4, keyStorage: .q8_0, valueStorage: .f16)
        #expect(throws: KVCacheError.self) { try f16.copyPrefix(from: a, count: 2) }
        #expect(throws: KVCacheError.self) { try mixed.copyPrefix(from: a, count: 2) }
    }

    @Test func slidingWindowRingWithQ8_0() throws {
        let shapes = [KVLayerShape(keyWidth: 32, valueWidth: 32, window: 4)]
        let cache = try KVCache(layers: shapes, capacity: 100, maxBatch: 2, storage: .q8_0)
        #expect(cache.byteCount == 6 * 2 * 34)
        for s in stride(from: 0, to: 20, by: 2) {
            try cache.reserve(2)
            for p in s..<(s + 2) {
                try cache.store(layer: 0, position: p, key: values(32, seed: UInt64(p)), value: values(32, seed: UInt64(p + 1000)))
            }
            try cache.commit(2)
        }
        // 14..<20 spans the ring's wrap (six slots; position 18 is slot 0).
        let expected = (14..<20).flatMap { dequantized(quantized(values(32, seed: UInt64($0))), count: 32) }
        #expect(try read(cache, keys: true, layer: 0, 14..<20) == expected)
        let expectedV = (14..<20).flatMap { dequantized(quantized(values(32, seed: UInt64($0 + 1000))), count: 32) }
        #expect(try read(cache, keys: false, layer: 0, 14..<20) == expectedV)
        #expect(throws: KVCacheError.positionNotHeld(layer: 0, position: 13)) { _ = try read(cache, keys: true, layer: 0, 13..<20) }
    }
}
