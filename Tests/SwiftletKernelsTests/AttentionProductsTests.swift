import SwiftletKernels
import Testing

/// The batched attention products give exactly one ordered chain of multiply-adds per output (fused in
/// AVX2 builds), whatever the tile and remainder shapes, and leave everything outside their outputs alone.
@Suite struct AttentionProductsTests {
    static let shapes: [(rows: Int, positions: Int, length: Int)] = [(1, 1, 8), (3, 5, 64), (4, 8, 64), (7, 33, 64), (32, 100, 64), (5, 19, 256), (6, 9, 20), (9, 41, 64)]

    @inline(__always) static func chain(_ a: Float, _ b: Float, _ c: Float) -> Float {
        kernelsUseAVX2 ? c.addingProduct(a, b) : c + a * b
    }

    @Test func scoresAreOrderedChainsThenScaled() {
        var rng = SplitMix(8)
        for (m, p, d) in Self.shapes {
            let queryStride = d * 3 + 1, keyStride = d + 5
            let q = (0..<(m * queryStride)).map { _ in rng.nextFloat() }
            let k = (0..<(p * keyStride)).map { _ in rng.nextFloat() }
            var panels = [Float](repeating: .nan, count: keyPanelCount(positions: p, length: d))
            packKeyPanels(keys: k, keyStride: keyStride, positions: p, length: d, into: &panels)
            var s = [Float](repeating: .nan, count: m * p + 3)
            attentionScores(q: q, queryStride: queryStride, keyPanels: panels, rows: m, positions: p, length: d, scale: 0.125, into: &s)
            for r in 0..<m {
                for j in 0..<p {
                    var want: Float = 0
                    for i in 0..<d { want = Self.chain(q[r * queryStride + i], k[j * keyStride + i], want) }
                    #expect(s[r * p + j] == want * 0.125, "\(m)×\(p)×\(d): score \(r),\(j)")
                }
            }
            let past = s[(m * p)...].allSatisfy { $0.isNaN }
            #expect(past, "past the scores must stay untouched")
        }
    }

    @Test func valuesAreOrderedChains() {
        var rng = SplitMix(9)
        for (m, p, d) in Self.shapes {
            let valueStride = d * 2 + 3, outputStride = d + 7
            let probabilities = (0..<(m * p)).map { _ in abs(rng.nextFloat()) }
            let v = (0..<(p * valueStride)).map { _ in rng.nextFloat() }
            var out = [Float](repeating: .nan, count: m * outputStride)
            attentionValues(probabilities, rows: m, positions: p, values: v, valueStride: valueStride, length: d, into: &out, outputStride: outputStride)
            for r in 0..<m {
                for c in 0..<d {
                    var want: Float = 0
                    for j in 0..<p { want = Self.chain(probabilities[r * p + j], v[j * valueStride + c], want) }
                    #expect(out[r * outputStride + c] == want, "\(m)×\(p)×\(d): output \(r),\(c)")
                }
                let past = out[(r * outputStride + d)..<((r + 1) * outputStride)].allSatisfy { $0.isNaN }
                #expect(past, "past row \(r) must stay untouched")
            }
        }
    }
}
