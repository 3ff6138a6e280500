import Testing
import SwiftletKVCache

private func row(_ position: Int, _ width: Int, salt: Float = 0) -> [Float] {
    (0..<width).map { Float(position) + Float($0) / 8 + salt }
}

private func fill(_ cache: KVCache, _ positions: Range<Int>, salt: Float = 0) throws {
    try cache.reserve(positions.count)
    for l in cache.layers.indices {
        for p in positions {
            let k = row(p, cache.layers[l].keyWidth, salt: salt), v = row(p, cache.layers[l].valueWidth, salt: salt + 0.5)
            try cache.store(layer: l, position: p, key: k, value: v)
        }
    }
    try cache.commit(positions.count)
}

private func keys(_ cache: KVCache, layer: Int, _ positions: Range<Int>) throws -> [Float] {
    var out = [Float](repeating: 0, count: positions.count * cache.layers[layer].keyWidth)
    try out.withUnsafeMutableBufferPointer { try cache.readKeys(layer: layer, positions: positions, into: $0.baseAddress!) }
    return out
}

@Suite struct KVCacheTests {
    @Test func appendAndReadBackF32AndF16() throws {
        for storage in [KVStorageType.f16, .f32] {
            let cache = try KVCache(layers: [KVLayerShape(keyWidth: 4, valueWidth: 6)], capacity: 16, storage: storage)
            try fill(cache, 0..<5)
            #expect(cache.count == 5)
            let k = try keys(cache, layer: 0, 1..<3)
            // Exact for these values in both F16 and F32 (multiples of 1/8 below 2048).
            #expect(k == row(1, 4) + row(2, 4))
            var v = [Float](repeating: 0, count: 6)
            try v.withUnsafeMutableBufferPointer { try cache.readValues(layer: 0, positions: 4..<5, into: $0.baseAddress!) }
            #expect(v == row(4, 6, salt: 0.5))
        }
    }

    @Test func f16RoundsLikeFloat16() throws {
        let cache = try KVCache(layers: [KVLayerShape(keyWidth: 2, valueWidth: 2)], capacity: 2)
        try cache.reserve(1)
        try cache.store(layer: 0, position: 0, key: [0.1, 3.14159], value: [1, 2])
        try cache.commit(1)
        #expect(try keys(cache, layer: 0, 0..<1) == [Float(Float16(0.1)), Float(Float16(3.14159))])
    }

    @Test func overflowIsATypedError() throws {
        let cache = try KVCache(layers: [KVLayerShape(keyWidth: 2, valueWidth: 2)], capacity: 4)
        try fill(cache, 0..<3)
        #expect(throws: KVCacheError.capacityExceeded(requested: 5, capacity: 4)) { try cache.reserve(2) }
        #expect(throws: KVCacheError.self) { try cache.store(layer: 0, position: 4, key: [1, 1], value: [1, 1]) }
        #expect(throws: KVCacheError.noSuchLayer(3, layerCount: 1)) { try cache.readKeys(layer: 3, positions: 0..<1, into: .allocate(capacity: 2)) }
    }

    @Test func truncateForgetsTheTail() throws {
        let cache = try KVCache(layers: [KVLayerShape(keyWidth: 2, valueWidth: 2)], capacity: 8, storage: .f32)
        try fill(cache, 0..<6)
        try cache.truncate(to: 3)
        #expect(cache.count == 3)
        #expect(throws: KVCacheError.positionNotHeld(layer: 0, position: 3)) { _ = try keys(cache, layer: 0, 0..<4) }
        try fill(cache, 3..<5, salt: 100)
        #expect(try keys(cache, layer: 0, 2..<4) == row(2, 2) + row(3, 2, salt: 100))
    }

    @Test func slidingWindowLayerKeepsARing() throws {
        let shapes = [KVLayerShape(keyWidth: 2, valueWidth: 2), KVLayerShape(keyWidth: 2, valueWidth: 2, window: 4)]
        let cache = try KVCache(layers: shapes, capacity: 100, maxBatch: 2, storage: .f32)
        // The windowed layer holds window + maxBatch rows; the full layer holds all 100.
        #expect(cache.byteCount == (100 + 6) * 4 * 4)
        #expect(cache.byteCount == KVCache.byteCount(layers: shapes, capacity: 100, maxBatch: 2, storage: .f32))
        for s in stride(from: 0, to: 20, by: 2) { try fill(cache, s..<(s + 2)) }
        #expect(try keys(cache, layer: 1, 16..<20) == [16, 17, 18, 19].flatMap { row($0, 2) })
        #expect(try keys(cache, layer: 0, 0..<1) == row(0, 2))
        #expect(throws: KVCacheError.positionNotHeld(layer: 1, position: 5)) { _ = try keys(cache, layer: 1, 5..<20) }
        // Rolling back a little is fine; past what the ring still holds is refused.
        try cache.truncate(to: 19)
        #expect(throws: KVCacheError.self) { try cache.truncate(to: 10) }
        #expect(cache.count == 19)
        #expect(throws: KVCacheError.batchTooLarge(tokens: 3, maxBatch: 2)) { try cache.reserve(3) }
    }

    /// The in-place F16 view gives the rows `readKeys`/`readValues` give, following the ring's slots.
    @Test func halfRowsViewMatchesReads() throws {
        let shapes = [KVLayerShape(keyWidth: 4, valueWidth: 6), KVLayerShape(keyWidth: 4, valueWidth: 6, window: 3)]
        let cache = try KVCache(layers: shapes, capacity: 64, maxBatch: 2)
        for s in stride(from: 0, to: 12, by: 2) { try fill(cache, s..<(s + 2)) }
        for (layer, positions) in [(0, 0..<12), (1, 7..<12)] {
            let view = try cache.halfRows(layer: layer, positions: positions)
            var slot = view.slot(of: positions.lowerBound)
            for p in positions {
                let k = (0..<4).map { Float(view.keys[slot * view.keyWidth + $0]) }
                let v = (0..<6).map { Float(view.values[slot * view.valueWidth + $0]) }
                #expect(k == (try keys(cache, layer: layer, p..<(p + 1))), "layer \(layer) position \(p)")
                #expect(v == row(p, 6, salt: 0.5))
                slot = view.slot(after: slot)
            }
        }
        #expect(throws: KVCacheError.positionNotHeld(layer: 1, position: 2)) { _ = try cache.halfRows(layer: 1, positions: 2..<12) }
        let f32 = try KVCache(layers: shapes, capacity: 8, storage: .f32)
        #expect(throws: KVCacheError.self) { _ = try f32.halfRows(layer: 0, positions: 0..<0) }
    }

    @Test func copyPrefixBetweenSequences() throws {
        let shapes = [KVLayerShape(keyWidth: 3, valueWidth: 3), KVLayerShape(keyWidth: 3, valueWidth: 3, window: 3)]
        let a = try KVCache(layers: shapes, capacity: 32, maxBatch: 4)
        let b = try KVCache(layers: shapes, capacity: 32, maxBatch: 4)
        try fill(a, 0..<4)
        try fill(a, 4..<8)
        try b.copyPrefix(from: a, count: 6)
        #expect(b.count == 6)
        #expect(try keys(b, layer: 0, 0..<6) == (try keys(a, layer: 0, 0..<6)))
        #expect(try keys(b, layer: 1, 4..<6) == (try keys(a, layer: 1, 4..<6)))
        let other = try KVCache(layers: [shapes[0]], capacity: 32)
        #expect(throws: KVCacheError.self) { try other.copyPrefix(from: a, count: 2) }
    }

    @Test func prefixReuseIsAPureDecision() {
        #expect(commonPrefixLength([1, 2, 3, 4], [1, 2, 9]) == 2)
        #expect(commonPrefixLength([Int](), [1]) == 0)
        #expect(reusablePrefixLength(cached: [1, 2, 3], prompt: [1, 2, 3, 4]) == 3)
        // The whole prompt cached: keep all but the last token, which must be evaluated for logits.
        #expect(reusablePrefixLength(cached: [1, 2, 3, 4, 5], prompt: [1, 2, 3]) == 2)
        #expect(reusablePrefixLength(cached: [7], prompt: [1, 2]) == 0)
    }

    @Test func windowBoundary() {
        #expect(firstAttendedPosition(for: 10, window: nil) == 0)
        #expect(firstAttendedPosition(for: 10, window: 4) == 7)
        #expect(firstAttendedPosition(for: 2, window: 4) == 0)
    }
}
