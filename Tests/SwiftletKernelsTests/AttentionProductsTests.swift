import Foundation
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

    /// ``attendTiledRow`` against a plain transcription of ggml's tiled flash attention (one position at
    /// a time), for rows whose attended range starts and ends inside, on and across 64-key tiles; and
    /// against the exact softmax-weighted sum.
    @Test func tiledRowFollowsGgmlTiles() {
        var rng = SplitMix(9)
        for (p0, attended, length) in [(0, 0...0, 64), (0, 0...70, 64), (3, 5...63, 64), (40, 60...200, 20), (128, 130...191, 256), (0, 17...129, 8), (0, 0...130, 104)] {
            let count = attended.upperBound + 1 - p0, valueStride = length + 5
            let scores = (0..<count).map { _ in 4 * rng.nextFloat() }
            let v = (0..<(count * valueStride)).map { _ in rng.nextFloat() }
            var out = [Float](repeating: .nan, count: length + 3)
            attendTiledRow(scores: scores, p0: p0, attended: attended, values: v, valueStride: valueStride, length: length, out: &out)

            var want = [Float](repeating: 0, count: length), maximum = -Float.infinity, sum: Float = 0
            var tile = attended.lowerBound / 64 * 64
            while tile <= attended.upperBound {
                let inTile = tile..<(tile + 64)
                let live = inTile.filter { attended.contains($0) }
                let tileMax = live.map { scores[$0 - p0] }.max()!
                let newMax = max(maximum, tileMax)
                if newMax > maximum { let ms = expf(maximum - newMax); want = want.map { $0 * ms }; sum *= ms }
                maximum = newMax
                let weights = inTile.map { attended.contains($0) ? vectorExp(SIMD8(repeating: scores[$0 - p0] - newMax))[0] : 0 }
                var tileSum = 0.0
                for g in 0..<8 {
                    let e = weights[(8 * g)..<(8 * g + 8)].map { $0 }
                    tileSum += Double(((e[4] + e[0]) + (e[6] + e[2])) + ((e[5] + e[1]) + (e[7] + e[3])))
                }
                sum = Float(Double(sum) + tileSum)
                for j in live { for i in 0..<length { want[i] = Self.chain(weights[j - tile], v[(j - p0) * valueStride + i], want[i]) } }
                tile += 64
            }
            want = want.map { $0 * (1 / sum) }
            #expect(Array(out[0..<length]) == want, "p0 \(p0), attended \(attended), length \(length)")
            #expect(out[length...].allSatisfy { $0.isNaN }, "past the output must stay untouched")

            let m = attended.map { Double(scores[$0 - p0]) }.max()!
            let w = attended.map { exp(Double(scores[$0 - p0]) - m) }, total = w.reduce(0, +)
            for i in 0..<length {
                var weighted = 0.0
                for (j, wj) in zip(attended, w) { weighted += wj * Double(v[(j - p0) * valueStride + i]) }
                let exact = weighted / total
                #expect(abs(Double(out[i]) - exact) < 1e-5, "p0 \(p0), attended \(attended): output \(i) \(out[i]) against \(exact)")
            }
        }
    }

    /// The one-token attention split into ranges (llama.cpp's split of the KV cache between threads) and
    /// merged: each partial is undivided with its maximum and sum, the merge follows ggml's formula with
    /// the first product fused, and the result stays within the F16 accumulator's rounding of one range.
    @Test func splitRangesMergeLikeGgml() {
        var rng = SplitMix(5)
        let count = 40, length = 16
        let scores = (0..<count).map { _ in 3 * rng.nextFloat() }
        let values = (0..<(count * length)).map { _ in Float16(rng.nextFloat()) }
        var whole = [Float](repeating: 0, count: length)
        attendRoundingToHalf(scores: scores, count: count, values: values, rowStride: length, firstSlot: 0, ringRows: count,
                             length: length, out: &whole)
        let cuts = [0, 13, 13, 40]  // the middle range is empty, as a thread's share past the attended cells
        var partials = [Float](repeating: 0, count: 3 * length)
        var stats: [(maximum: Float, sum: Float)] = []
        for c in 0..<3 {
            let lo = cuts[c], hi = cuts[c + 1]
            if hi == lo { stats.append((-.infinity, 0)); continue }
            let st = partials.withUnsafeMutableBufferPointer { p in
                scores.withUnsafeBufferPointer { s in
                    values.withUnsafeBufferPointer { v in
                        attendRoundingToHalf(scores: s.baseAddress! + lo, count: hi - lo, values: v.baseAddress!, rowStride: length,
                                             firstSlot: lo, ringRows: count, length: length, out: p.baseAddress! + c * length, normalize: false)
                    }
                }
            }
            stats.append(st)
        }
        var merged = [Float](repeating: .nan, count: length)
        mergeAttentionPartials(partials, stats: stats, count: 3, length: length, out: &merged)
        // The merge written out: the first range as it is, the third rescaled into it.
        let m = max(stats[0].maximum, stats[2].maximum)
        let a = expf(stats[0].maximum - m), b = expf(stats[2].maximum - m)
        let sum = (stats[2].sum * b).addingProduct(stats[0].sum, a)
        for d in 0..<length {
            let want = (partials[2 * length + d] * b).addingProduct(partials[d], a) * (1 / sum)
            #expect(merged[d] == want, "output \(d)")
            #expect(abs(merged[d] - whole[d]) <= 4 * 0x1p-11 * max(1, abs(whole[d])), "output \(d): \(merged[d]) against \(whole[d])")
        }
    }

    /// Four causal rows at once (sharing value loads where their ranges in a tile agree) give each row's
    /// output exactly as alone, with and without a sliding window, on and off the tile boundaries.
    @Test func fourRowsEqualOneRowEach() {
        var rng = SplitMix(13)
        for (firstPos, window, length) in [(130, Int?.none, 64), (61, nil, 20), (200, 70, 64), (3, nil, 8), (150, nil, 104)] {
            let p0 = 0, rows = 4, positions = firstPos + rows, valueStride = length + 3
            let scores = (0..<(rows * positions)).map { _ in 4 * rng.nextFloat() }
            let v = (0..<(positions * valueStride)).map { _ in rng.nextFloat() }
            func attended(_ k: Int) -> ClosedRange<Int> {
                let pos = firstPos + k
                return (window.map { max(0, pos - $0 + 1) } ?? 0)...pos
            }
            let outputStride = length + 5
            var together = [Float](repeating: .nan, count: rows * outputStride)
            attendTiledRows(rows, scores: scores, scoreStride: positions, p0: p0, attended: attended, values: v, valueStride: valueStride,
                            length: length, out: &together, outputStride: outputStride)
            for k in 0..<rows {
                var alone = [Float](repeating: .nan, count: length)
                scores.withUnsafeBufferPointer { s in
                    attendTiledRow(scores: s.baseAddress! + k * positions, p0: p0, attended: attended(k), values: v, valueStride: valueStride,
                                   length: length, out: &alone)
                }
                #expect(Array(together[(k * outputStride)..<(k * outputStride + length)]) == alone, "first \(firstPos), window \(String(describing: window)), row \(k)")
            }
        }
    }

    /// The heads of a KV head attended in one pass over the value rows give each head's numbers exactly
    /// as attending it alone: normalized outputs, undivided partials and their statistics, for every
    /// head count the pass takes (1…4, and 5 as the caller splits it), widths of whole and partial
    /// passes, and a ring that wraps.
    @Test(arguments: [1, 2, 3, 4, 5])
    func headsInOnePassEqualEachHeadAlone(heads: Int) {
        var rng = SplitMix(UInt64(40 + heads))
        for length in [16, 32, 48, 64, 128] {
            let count = 37, ring = 41, first = 30
            let scores = (0..<(heads * count)).map { _ in 4 * rng.nextFloat() }
            let values = (0..<(ring * length)).map { _ in Float16(rng.nextFloat()) }
            for normalize in [true, false] {
                var together = [Float](repeating: .nan, count: heads * length)
                var stats = [(maximum: Float, sum: Float)](repeating: (0, 0), count: heads)
                var g = 0
                while g < heads {
                    let n = min(4, heads - g)
                    together.withUnsafeMutableBufferPointer { o in
                        stats.withUnsafeMutableBufferPointer { st in
                            scores.withUnsafeBufferPointer { sc in
                                attendRoundingToHalf(heads: n, scores: sc.baseAddress! + g * count, scoreStride: count,
                                                     count: count, values: values, rowStride: length,
                                                     firstSlot: first, ringRows: ring, length: length,
                                                     out: o.baseAddress! + g * length, outStride: length,
                                                     normalize: normalize, stats: st.baseAddress! + g, statsStride: 1)
                            }
                        }
                    }
                    g += n
                }
                for h in 0..<heads {
                    var alone = [Float](repeating: .nan, count: length)
                    let st = attendRoundingToHalf(scores: Array(scores[(h * count)..<((h + 1) * count)]), count: count,
                                                  values: values, rowStride: length, firstSlot: first, ringRows: ring,
                                                  length: length, out: &alone, normalize: normalize)
                    #expect(Array(together[(h * length)..<((h + 1) * length)]) == alone,
                            "head \(h) of \(heads), length \(length)")
                    #expect(stats[h].maximum == st.maximum && stats[h].sum == st.sum)
                }
            }
        }
    }

    /// The scores of several query heads against a ring of F16 key rows are each head's ``dotHalf`` times
    /// the scale, to the bit: head counts the passes take whole (1…3, and 4 with AVX-512) and split (4…7),
    /// head widths that take the AVX2 pass and one (40) that does not, a ring that wraps, and 37 keys (the
    /// lanes of eight keys are added together, the last five one by one).
    @Test(arguments: [1, 2, 3, 4, 5, 7])
    func headScoresEqualDotHalf(heads: Int) {
        var rng = SplitMix(UInt64(70 + heads))
        for length in [40, 64, 128, 256] {
            let count = 37, ring = 41, first = 30, stride = length + 8, scale: Float = 0.125
            let q = (0..<(heads * length)).map { _ in Float(Float16(rng.nextFloat())) }
            let keys = (0..<(ring * stride)).map { _ in Float16(rng.nextFloat()) }
            var scores = [Float](repeating: .nan, count: heads * count)
            scoresOfHeads(heads: heads, q: q, keys: keys, rowStride: stride, firstSlot: first, ringRows: ring,
                          count: count, length: length, scale: scale, scores: &scores, scoreStride: count)
            for h in 0..<heads {
                for j in 0..<count {
                    let slot = (first + j) % ring
                    let expected = q.withUnsafeBufferPointer { qp in
                        keys.withUnsafeBufferPointer { kp in
                            dotHalf(qp.baseAddress! + h * length, kp.baseAddress! + slot * stride, count: length)
                        }
                    } * scale
                    #expect(scores[h * count + j] == expected, "head \(h) of \(heads), row \(j), length \(length)")
                }
            }
        }
    }
}
