import Foundation
import Testing
import SwiftletAttention
import SwiftletKVCache

/// Attention over caches whose K or V is Q8_0: every path (one token, short batches, tiled) against a
/// float64 attention over the values as the cache stores them.
@Suite struct QuantizedCacheAttentionTests {
    /// `x` as a cache of type `storage` stores it, row by row of `width` values.
    static func stored(_ x: [Float], width: Int, as storage: KVStorageType) -> [Float] {
        switch storage {
        case .f32: return x
        case .f16: return x.map { Float(Float16($0)) }
        case .q8_0:
            var out = [Float](repeating: 0, count: x.count)
            var bytes = [UInt8](repeating: 0, count: storage.rowBytes(width: width))
            for r in 0..<(x.count / width) {
                x.withUnsafeBufferPointer { src in
                    bytes.withUnsafeMutableBytes { quantizeQ8_0Row(src.baseAddress! + r * width, $0.baseAddress!, count: width) }
                }
                bytes.withUnsafeBytes { src in
                    out.withUnsafeMutableBufferPointer { dequantizeQ8_0Row(src.baseAddress!, $0.baseAddress! + r * width, count: width) }
                }
            }
            return out
        }
    }

    /// softmax(q·k·scale) · v in Double over already-stored keys and values, query head `h` of token `t`.
    static func reference(q: [Float], k: [Float], v: [Float], t: Int, h: Int, shape s: AttentionShape) -> [Double] {
        let kvh = h / (s.headCount / s.headCountKV)
        let first = firstAttendedPosition(for: t, window: s.window)
        let scores = (first...t).map { j in
            (0..<s.keyLength).reduce(0.0) { acc, i in
                acc + Double(q[t * s.queryWidth + h * s.keyLength + i]) * Double(k[j * s.keyWidth + kvh * s.keyLength + i])
            } * Double(s.scale)
        }
        let m = scores.max()!
        let e = scores.map { exp($0 - m) }, sum = e.reduce(0, +)
        var out = [Double](repeating: 0, count: s.valueLength)
        for (idx, j) in (first...t).enumerated() {
            for i in 0..<s.valueLength { out[i] += e[idx] / sum * Double(v[j * s.valueWidth + kvh * s.valueLength + i]) }
        }
        return out
    }

    static let shapes: [AttentionShape] = [
        AttentionShape(headCount: 4, headCountKV: 2, keyLength: 32, valueLength: 32, window: nil, scale: 0.25),
        AttentionShape(headCount: 4, headCountKV: 1, keyLength: 64, valueLength: 32, window: 7, scale: 0.2),
    ]

    static let mixes: [(KVStorageType, KVStorageType)] = [(.q8_0, .f16), (.q8_0, .q8_0), (.f16, .q8_0)]

    @Test(arguments: shapes)
    func everyPathMatchesTheDefinitionOverStoredRows(shape: AttentionShape) throws {
        let tokens = 80
        var r = CachedAttentionTests.Values(state: 19)
        let q = r.array(tokens * shape.queryWidth), k = r.array(tokens * shape.keyWidth), v = r.array(tokens * shape.valueWidth)
        for (keyType, valueType) in Self.mixes {
            let ks = Self.stored(k, width: shape.keyWidth, as: keyType)
            let vs = Self.stored(v, width: shape.valueWidth, as: valueType)
            // The quantization is real: stored keys differ from the floats by up to half a step.
            if keyType == .q8_0 { #expect(ks != k) }
            for batch in [1, 5, 80] {
                let out = try CachedAttentionTests.run(shape, q: q, k: k, v: v, tokens: tokens, batch: batch,
                                                       keyStorage: keyType, valueStorage: valueType)
                var worst = 0.0
                for t in 0..<tokens {
                    for h in 0..<shape.headCount {
                        let want = Self.reference(q: q, k: ks, v: vs, t: t, h: h, shape: shape)
                        for i in 0..<shape.valueLength {
                            worst = max(worst, abs(Double(out[t * shape.outputWidth + h * shape.valueLength + i]) - want[i]))
                        }
                    }
                }
                // F32 attention over the stored rows: only float rounding remains.
                #expect(worst < 1e-5, "K \(keyType) V \(valueType) batch \(batch): largest difference \(worst)")
            }
        }
    }

    /// Q8_0 keys move the output by about what their quantization error predicts: close to the F16 cache's.
    @Test func q8_0StaysCloseToF16() throws {
        let shape = Self.shapes[0], tokens = 64
        var r = CachedAttentionTests.Values(state: 23)
        let q = r.array(tokens * shape.queryWidth), k = r.array(tokens * shape.keyWidth), v = r.array(tokens * shape.valueWidth)
        let f16 = try CachedAttentionTests.run(shape, q: q, k: k, v: v, tokens: tokens, batch: 1)
        let q8 = try CachedAttentionTests.run(shape, q: q, k: k, v: v, tokens: tokens, batch: 1, keyStorage: .q8_0,
                                              valueStorage: .q8_0)
        let worst = zip(f16, q8).map { abs($0 - $1) }.max()!
        #expect(worst < 2e-2, "largest difference \(worst)")
    }
}
