import Foundation
import Testing
import SwiftletAttention
import SwiftletKVCache
import SwiftletKernels

/// ``CachedAttention`` against a plain float64 attention written from its definition, and its paths
/// against each other.
@Suite struct CachedAttentionTests {
    /// Deterministic pseudo-random values in [-1, 1).
    struct Values {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
        }
        mutating func array(_ n: Int) -> [Float] { (0..<n).map { _ in next() } }
    }

    /// softmax over the attended positions of cap·tanh(q·k·scale/cap) (or q·k·scale), times V, in Double,
    /// for query head `h` of token `t` (keys and values as the cache stores them: F16-rounded).
    static func reference(q: [Float], k: [Float], v: [Float], t: Int, h: Int, shape s: AttentionShape) -> [Double] {
        let kvh = h / (s.headCount / s.headCountKV)
        let first = firstAttendedPosition(for: t, window: s.window)
        var scores: [Double] = []
        for j in first...t {
            var dot = 0.0
            for i in 0..<s.keyLength {
                let kv = Double(Float(Float16(k[j * s.keyWidth + kvh * s.keyLength + i])))
                dot += Double(q[t * s.queryWidth + h * s.keyLength + i]) * kv
            }
            var score = dot * Double(s.scale)
            if let cap = s.logitSoftcap { score = Double(cap) * tanh(score / Double(cap)) }
            scores.append(score)
        }
        let m = scores.max()!
        let e = scores.map { exp($0 - m) }, sum = e.reduce(0, +)
        var out = [Double](repeating: 0, count: s.valueLength)
        for (idx, j) in (first...t).enumerated() {
            for i in 0..<s.valueLength {
                out[i] += e[idx] / sum * Double(Float(Float16(v[j * s.valueWidth + kvh * s.valueLength + i])))
            }
        }
        return out
    }

    /// Runs `tokens` positions through a fresh cache in batches of `batch`, returning every output row.
    static func run(_ shape: AttentionShape, q: [Float], k: [Float], v: [Float], tokens: Int, batch: Int,
                    threads: Int = 2, keyStorage: KVStorageType = .f16,
                    valueStorage: KVStorageType = .f16) throws -> [Float] {
        let attention = CachedAttention(pool: ThreadPool(threads: threads))
        let cache = try KVCache(layers: [KVLayerShape(keyWidth: shape.keyWidth, valueWidth: shape.valueWidth,
                                                      window: shape.window)],
                                capacity: tokens, maxBatch: batch, keyStorage: keyStorage, valueStorage: valueStorage)
        let scratch = AttentionScratch(capacity: tokens, keyWidth: shape.keyWidth, valueWidth: shape.valueWidth)
        var out = [Float](repeating: .nan, count: tokens * shape.outputWidth)
        var s = 0
        while s < tokens {
            let n = min(batch, tokens - s)
            try cache.reserve(n)
            try q.withUnsafeBufferPointer { q in
                try k.withUnsafeBufferPointer { k in
                    try v.withUnsafeBufferPointer { v in
                        try out.withUnsafeMutableBufferPointer { o in
                            try attention.attend(layer: 0, q: q.baseAddress! + s * shape.queryWidth,
                                                 k: k.baseAddress! + s * shape.keyWidth, v: v.baseAddress! + s * shape.valueWidth,
                                                 out: o.baseAddress! + s * shape.outputWidth, tokens: n, start: s,
                                                 cache: cache, shape: shape, scratch: scratch)
                        }
                    }
                }
            }
            try cache.commit(n)
            s += n
        }
        return out
    }

    static let shapes: [AttentionShape] = [
        AttentionShape(headCount: 4, headCountKV: 2, keyLength: 32, valueLength: 32, window: nil, scale: 0.25),
        AttentionShape(headCount: 4, headCountKV: 1, keyLength: 16, valueLength: 24, window: 7, scale: 0.3),
        AttentionShape(headCount: 2, headCountKV: 2, keyLength: 32, valueLength: 32, window: 5, scale: 0.5,
                       logitSoftcap: 2),
    ]

    @Test(arguments: shapes)
    func everyPathMatchesTheDefinition(shape: AttentionShape) throws {
        let tokens = 80
        var r = Values(state: 7)
        let q = r.array(tokens * shape.queryWidth), k = r.array(tokens * shape.keyWidth), v = r.array(tokens * shape.valueWidth)
        // One token at a time, short batches (one-row kernel) and one long batch (tiled kernel).
        for batch in [1, 5, 80] {
            let out = try Self.run(shape, q: q, k: k, v: v, tokens: tokens, batch: batch)
            var worst = 0.0
            for t in 0..<tokens {
                for h in 0..<shape.headCount {
                    let want = Self.reference(q: q, k: k, v: v, t: t, h: h, shape: shape)
                    for i in 0..<shape.valueLength {
                        worst = max(worst, abs(Double(out[t * shape.outputWidth + h * shape.valueLength + i]) - want[i]))
                    }
                }
            }
            // F16 queries and accumulators in the one-row kernel: errors of a few F16 steps of values ≤ 1.
            #expect(worst < 4e-3, "batch \(batch): largest difference \(worst)")
        }
    }

    /// The one-row kernel gives each row the same numbers whether it comes alone or in a short batch.
    @Test(arguments: shapes)
    func shortBatchesEqualOneTokenAtATime(shape: AttentionShape) throws {
        let tokens = 40
        var r = Values(state: 11)
        let q = r.array(tokens * shape.queryWidth), k = r.array(tokens * shape.keyWidth), v = r.array(tokens * shape.valueWidth)
        let one = try Self.run(shape, q: q, k: k, v: v, tokens: tokens, batch: 1)
        let batched = try Self.run(shape, q: q, k: k, v: v, tokens: tokens, batch: 8)
        #expect(one == batched)
    }

    /// The thread count only splits work (below 512 cells, where llama.cpp splits the cache too).
    @Test func threadCountDoesNotChangeNumbers() throws {
        let shape = Self.shapes[0], tokens = 70
        var r = Values(state: 3)
        let q = r.array(tokens * shape.queryWidth), k = r.array(tokens * shape.keyWidth), v = r.array(tokens * shape.valueWidth)
        for batch in [1, 70] {
            let a = try Self.run(shape, q: q, k: k, v: v, tokens: tokens, batch: batch, threads: 1)
            let b = try Self.run(shape, q: q, k: k, v: v, tokens: tokens, batch: batch, threads: 3)
            #expect(a == b, "batch \(batch)")
        }
    }

    /// One token over 512 cells or more on two threads: the cache is split into one part per thread as
    /// llama.cpp splits it, each part attended alone (F16 q and accumulator, as the one-row kernel) and the
    /// parts merged in order; the output is that, to the bit, rebuilt here from the kernels' public steps.
    @Test func splitCacheMergesItsPartsInOrder() throws {
        let shape = AttentionShape(headCount: 6, headCountKV: 2, keyLength: 64, valueLength: 64, window: nil,
                                   scale: 0.125)
        let tokens = 530, group = 3, length = 64
        var r = Values(state: 5)
        let q = r.array(tokens * shape.queryWidth)
        let k = r.array(tokens * shape.keyWidth), v = r.array(tokens * shape.valueWidth)
        let out = try Self.run(shape, q: q, k: k, v: v, tokens: tokens, batch: 1, threads: 2)
        let k16 = k.map { Float16($0) }, v16 = v.map { Float16($0) }
        for t in [511, 520, 529] {
            // llama.cpp's view: max(256, t + 1 rounded up to 256) cells of a 768-cell cache, halved.
            let cells = max(256, (t + 1 + 255) / 256 * 256), per = (cells + 1) / 2
            for h in 0..<shape.headCount {
                let kvh = h / group
                let qh = (0..<length).map { Float(Float16(q[t * shape.queryWidth + h * length + $0])) }
                var partials = [Float](repeating: 0, count: 2 * length)
                var stats: [(maximum: Float, sum: Float)] = []
                for part in 0..<2 {
                    let lo = part * per, hi = min(t + 1, (part + 1) * per)
                    let scores = (lo..<hi).map { j in
                        k16.withUnsafeBufferPointer { kp in
                            dotHalf(qh, kp.baseAddress! + j * shape.keyWidth + kvh * length, count: length)
                        } * shape.scale
                    }
                    let st = v16.withUnsafeBufferPointer { vp in
                        partials.withUnsafeMutableBufferPointer { o in
                            attendRoundingToHalf(scores: scores, count: hi - lo,
                                                 values: vp.baseAddress! + lo * shape.valueWidth + kvh * length,
                                                 rowStride: shape.valueWidth, firstSlot: 0, ringRows: hi - lo,
                                                 length: length, out: o.baseAddress! + part * length,
                                                 normalize: false)
                        }
                    }
                    stats.append(st)
                }
                var expected = [Float](repeating: .nan, count: length)
                mergeAttentionPartials(partials, stats: stats, count: 2, length: length, out: &expected)
                let row = t * shape.outputWidth + h * length
                #expect(Array(out[row..<(row + length)]) == expected, "token \(t), head \(h)")
            }
        }
    }
}
