// The inner steps of one-token attention over an F16 KV cache, the way llama.cpp's one-row flash
// attention takes them (q and the V accumulator rounded to F16). Each has a plain loop and, in AVX2
// builds, an F16C one with the same operations in the same order per element, so both give the same bits.
import Foundation
#if SWIFTLET_AVX2 && arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// `a` · `b` (b in F16) in the order of ggml's `ggml_vec_dot_f16` on AVX2, which llama.cpp's one-row
/// attention uses for its scores: element i of each run of 32 goes to lane i mod 8 of accumulator
/// (i mod 32) / 8, by fma; the four accumulators are added 0+2, 1+3, then together; the eight lanes as
/// (l0+h0 + l1+h1) + (l2+h2 + l3+h3) (l the low half, h the high); the elements after the last whole
/// run of 32 are added one by one in double precision.
@inline(__always)
public func dotHalf(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float16>, count: Int) -> Float {
    let whole = count & ~31
    var lanes = InlineArray<32, Float>(repeating: 0)
    var i = 0
    while i < whole {
        for l in 0..<32 { lanes[l] = lanes[l].addingProduct(a[i + l], Float(b[i + l])) }
        i += 32
    }
    var v = InlineArray<8, Float>(repeating: 0)
    for l in 0..<8 { v[l] = (lanes[l] + lanes[l + 16]) + (lanes[l + 8] + lanes[l + 24]) }
    let t0 = v[0] + v[4], t1 = v[1] + v[5], t2 = v[2] + v[6], t3 = v[3] + v[7]
    var sum = Double((t0 + t1) + (t2 + t3))
    while i < count { sum += Double(a[i] * Float(b[i])); i += 1 }
    return Float(sum)
}

/// The scores of `heads` query heads against `count` F16 key rows: head h's q (F16-rounded floats) at
/// `q + h·length`, row j the `length` values at `keys + slot·rowStride` (slots from `firstSlot`, wrapping
/// at `ringRows`), and ``dotHalf(_:_:count:)`` of the two times `scale` to `scores[h·scoreStride + j]`.
///
/// Each score is summed exactly as in dotHalf. The AVX2 pass (`length` a multiple of 32) takes up to
/// three heads of a grouped-query KV head together (four with AVX-512's 32 registers): each run of eight
/// key values is widened once and meets every head's accumulator, so the widening and the loop are shared,
/// and four independent fma chains per head overlap. (Head by head, every key row would be widened once per head.)
public func scoresOfHeads(heads: Int, q: UnsafePointer<Float>, keys: UnsafePointer<Float16>, rowStride: Int,
                          firstSlot: Int, ringRows: Int, count: Int, length: Int, scale: Float,
                          scores: UnsafeMutablePointer<Float>, scoreStride: Int) {
    #if SWIFTLET_AVX2 && arch(x86_64)
    if length % 32 == 0 {
        var g = 0
        while g < heads {
            let q0 = q + g * length, out = scores + g * scoreStride
            // Literal head counts, so that each pass's accumulators specialize into registers. With
            // AVX-512's 32 registers, four heads (a common query group) share one pass over the keys.
            #if SWIFTLET_AVX512
            if heads - g >= 4 {
                halfScorePass(heads: 4, q: q0, keys: keys, rowStride: rowStride, firstSlot: firstSlot,
                              ringRows: ringRows, count: count, length: length, scale: scale, scores: out,
                              scoreStride: scoreStride)
                g += 4
                continue
            }
            #endif
            switch heads - g {
            case 1: halfScorePass(heads: 1, q: q0, keys: keys, rowStride: rowStride, firstSlot: firstSlot,
                                  ringRows: ringRows, count: count, length: length, scale: scale, scores: out,
                                  scoreStride: scoreStride)
            case 2: halfScorePass(heads: 2, q: q0, keys: keys, rowStride: rowStride, firstSlot: firstSlot,
                                  ringRows: ringRows, count: count, length: length, scale: scale, scores: out,
                                  scoreStride: scoreStride)
            default: halfScorePass(heads: 3, q: q0, keys: keys, rowStride: rowStride, firstSlot: firstSlot,
                                   ringRows: ringRows, count: count, length: length, scale: scale, scores: out,
                                   scoreStride: scoreStride)
            }
            g += min(3, heads - g)
        }
        return
    }
    #endif
    var slot = firstSlot
    for j in 0..<count {
        for h in 0..<heads {
            scores[h * scoreStride + j] = dotHalf(q + h * length, keys + slot * rowStride, count: length) * scale
        }
        slot = slot + 1 == ringRows ? 0 : slot + 1
    }
}

#if SWIFTLET_AVX2 && arch(x86_64)
/// ``scoresOfHeads(heads:q:keys:rowStride:firstSlot:ringRows:count:length:scale:scores:scoreStride:)``
/// for `heads` ≤ 4 heads and `length` a multiple of 32: four accumulators per head, as in ggml_vec_dot_f16.
/// A key's four accumulators are added into one vector of eight lanes; the lanes of eight keys' vectors are
/// then added for all eight at once (``eightLaneTotals(_:)``), each key's in dotHalf's order.
@inline(__always)
private func halfScorePass(heads H: Int, q: UnsafePointer<Float>, keys: UnsafePointer<Float16>, rowStride: Int,
                           firstSlot: Int, ringRows: Int, count: Int, length: Int, scale: Float,
                           scores: UnsafeMutablePointer<Float>, scoreStride: Int) {
    withUnsafeTemporaryAllocation(of: __m256.self, capacity: 8 * H) { buffer in
        let lanes = buffer.baseAddress!  // head h's vector of key j at lanes[8h + j % 8]
        var slot = firstSlot, aheadSlot = (firstSlot + rowsAhead) % ringRows
        for j in 0..<count {
            let row = UnsafeRawPointer(keys + slot &* rowStride)
            prefetchRow(keys + aheadSlot &* rowStride, bytes: 2 &* length)
            aheadSlot = aheadSlot &+ 1 == ringRows ? 0 : aheadSlot &+ 1
            var acc = InlineArray<16, __m256>(repeating: _mm256_setzero_ps())
            var i = 0
            while i < length {
                for l in 0..<4 {
                    let half = (row + 2 &* (i &+ 8 &* l)).assumingMemoryBound(to: __m128i.self)
                    let k = _mm256_cvtph_ps(_mm_loadu_si128(half))
                    for h in 0..<H {
                        let a = 4 &* h &+ l
                        acc[a] = _mm256_fmadd_ps(_mm256_loadu_ps(q + (h &* length &+ i &+ 8 &* l)), k, acc[a])
                    }
                }
                i &+= 32
            }
            for h in 0..<H {
                let a = 4 &* h
                lanes[8 &* h &+ j & 7] = _mm256_add_ps(_mm256_add_ps(acc[a], acc[a &+ 2]),
                                                       _mm256_add_ps(acc[a &+ 1], acc[a &+ 3]))
                if j & 7 == 7 {
                    let totals = _mm256_mul_ps(eightLaneTotals(lanes + 8 &* h), _mm256_set1_ps(scale))
                    _mm256_storeu_ps(scores + (h &* scoreStride &+ j &- 7), totals)
                }
            }
            slot = slot &+ 1 == ringRows ? 0 : slot &+ 1
        }
        // The last count % 8 keys one by one, in the same order.
        for j in (count & ~7)..<count {
            for h in 0..<H {
                let v = lanes[8 &* h &+ j & 7], t = v.lowHalf + v.highHalf
                scores[h &* scoreStride &+ j] = ((t[0] + t[1]) + (t[2] + t[3])) * scale
            }
        }
    }
}

/// How many cache rows ahead the one-token kernels ask for the row they will read: a KV head's rows lie a
/// whole cache row apart (every KV head's values), a stride the prefetchers follow late, and each row is
/// read once, from memory on long contexts (where an unfetched key row held every head's chain waiting).
private let rowsAhead = 16

/// Asks for the `bytes` at `p` (one head's part of a cache row) ahead of use.
@inline(__always) private func prefetchRow(_ p: UnsafeRawPointer, bytes: Int) {
    var offset = 0
    while offset < bytes { prefetch(p + offset); offset &+= 64 }
    prefetch(p + (bytes &- 1))
}

/// The totals of eight vectors' lanes as one vector (lane k: vector k's), each added as
/// t = low half + high half, then (t0 + t1) + (t2 + t3) (ggml_vec_dot_f16's reduction): the halves of two
/// keys per register, then two rounds of horizontal adds, which leave keys 0, 2, 4, 6 in the low half and
/// 1, 3, 5, 7 in the high; a permute puts them in order.
@inline(__always) private func eightLaneTotals(_ v: UnsafePointer<__m256>) -> __m256 {
    @inline(__always) func halves(_ a: __m256, _ b: __m256) -> __m256 {
        SIMD8(lowHalf: a.lowHalf, highHalf: b.lowHalf) + SIMD8(lowHalf: a.highHalf, highHalf: b.highHalf)
    }
    let pairs = _mm256_hadd_ps(_mm256_hadd_ps(halves(v[0], v[1]), halves(v[2], v[3])),
                               _mm256_hadd_ps(halves(v[4], v[5]), halves(v[6], v[7])))
    return _mm256_permutevar8x32_ps(pairs, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
}
#endif

#if SWIFTLET_AVX2 && arch(x86_64)
/// Each lane rounded to F16 (nearest even) and back (vcvtps2ph's immediate form is not importable).
@inline(__always) private func roundedToHalf(_ x: __m256) -> __m256 {
    SIMD8<Float>(SIMD8<Float16>(x))  // __m256 is SIMD8<Float>
}
#endif

/// out[i] = F16(out[i] · s): the online softmax's rescaling of an F16 accumulator.
@inline(__always)
public func scaleRoundingToHalf(_ out: UnsafeMutablePointer<Float>, by s: Float, count: Int) {
    var i = 0
    #if SWIFTLET_AVX2 && arch(x86_64)
    let sv = _mm256_set1_ps(s)
    while i + 8 <= count {
        let x = _mm256_mul_ps(_mm256_loadu_ps(out + i), sv)
        _mm256_storeu_ps(out + i, roundedToHalf(x))
        i += 8
    }
    #endif
    while i < count { out[i] = Float(Float16(out[i] * s)); i += 1 }
}

/// out[i] = F16(out[i] + v[i] · s), the multiply and add fused: one value row added to an F16
/// accumulator, as ggml's `ggml_vec_mad_f16` does it on AVX2.
@inline(__always)
public func accumulateRoundingToHalf(_ out: UnsafeMutablePointer<Float>, _ v: UnsafePointer<Float16>, times s: Float, count: Int) {
    var i = 0
    #if SWIFTLET_AVX2 && arch(x86_64)
    let sv = _mm256_set1_ps(s)
    while i + 8 <= count {
        let h = _mm256_cvtph_ps(_mm_loadu_si128(UnsafeRawPointer(v + i).assumingMemoryBound(to: __m128i.self)))
        _mm256_storeu_ps(out + i, roundedToHalf(_mm256_fmadd_ps(h, sv, _mm256_loadu_ps(out + i))))
        i += 8
    }
    #endif
    while i < count { out[i] = Float(Float16(out[i].addingProduct(Float(v[i]), s))); i += 1 }
}

/// One query head's softmax-weighted sum of `count` F16 value rows, the way llama.cpp's one-row flash
/// attention forms it: rows in order; a score above the running maximum rescales the F16 accumulator by
/// e^(old − new) and adds the row with weight 1, any other adds it with weight e^(s − max); every step
/// rounds the accumulator to F16 (``scaleRoundingToHalf(_:by:count:)``,
/// ``accumulateRoundingToHalf(_:_:times:count:)``); at the end it is divided by the weights' sum.
///
/// Row j is the `length` values at `values + slot·rowStride`, slots starting at `firstSlot` and wrapping
/// at `ringRows` (a sliding-window ring).
///
/// With `normalize` false the accumulator is left undivided, and the result is the running maximum and
/// sum, to be merged with other ranges' (``mergeAttentionPartials(_:stats:count:length:out:)``).
@discardableResult
public func attendRoundingToHalf(scores: UnsafePointer<Float>, count: Int, values: UnsafePointer<Float16>, rowStride: Int,
                                 firstSlot: Int, ringRows: Int, length: Int, out: UnsafeMutablePointer<Float>,
                                 normalize: Bool = true) -> (maximum: Float, sum: Float) {
    withUnsafeTemporaryAllocation(of: (maximum: Float, sum: Float).self, capacity: 1) { stats in
        attendRoundingToHalf(heads: 1, scores: scores, scoreStride: count, count: count, values: values,
                             rowStride: rowStride, firstSlot: firstSlot, ringRows: ringRows, length: length,
                             out: out, outStride: length, normalize: normalize,
                             stats: stats.baseAddress!, statsStride: 1)
        return stats[0]
    }
}

/// ``attendRoundingToHalf(scores:count:values:rowStride:firstSlot:ringRows:length:out:normalize:)`` for
/// `heads` query heads that share the value rows (a grouped-query KV head): head h's scores at
/// `scores + h·scoreStride`, its output at `out + h·outStride`, its maximum and sum to
/// `stats[h·statsStride]`. Each head's numbers are those of attending it alone.
///
/// The weights are found first; then (AVX2, `length` a multiple of the pass width) one pass over the
/// rows carries every head's accumulator in registers: each row's values are widened once for all the
/// heads, and the heads' chains of F16 roundings, independent of each other, overlap instead of each
/// waiting on its own latency.
public func attendRoundingToHalf(heads: Int, scores: UnsafePointer<Float>, scoreStride: Int, count: Int,
                                 values: UnsafePointer<Float16>, rowStride: Int, firstSlot: Int, ringRows: Int,
                                 length: Int, out: UnsafeMutablePointer<Float>, outStride: Int, normalize: Bool = true,
                                 stats: UnsafeMutablePointer<(maximum: Float, sum: Float)>, statsStride: Int) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * max(1, heads * count)) { buffer in
        // rescale[h·count + j] ≠ 1 only where row j raised head h's maximum (then its weight is 1).
        let rescale = buffer.baseAddress!, weight = rescale + heads * count
        for h in 0..<heads {
            let sc = scores + h * scoreStride, rs = rescale + h * count, wt = weight + h * count
            var maximum = -Float.infinity, sum: Float = 0
            for j in 0..<count {
                let s = sc[j]
                var ms: Float = 1, vs: Float = 1
                if s > maximum {
                    ms = expf(maximum - s)
                    maximum = s
                } else {
                    vs = expf(s - maximum)
                }
                rs[j] = ms; wt[j] = vs
                sum = vs.addingProduct(sum, ms)  // S = S·ms + vs, which GCC fuses in llama.cpp's build
            }
            stats[h * statsStride] = (maximum, sum)
            (out + h * outStride).update(repeating: 0, count: length)
        }
        var done = false
        #if SWIFTLET_AVX2 && arch(x86_64)
        /// Every head's `W` vectors of eight values per pass (H·W ≤ 12 accumulators, plus the heads'
        /// weights and one row vector: the 16 registers; with AVX-512's 32, H·W ≤ 24).
        @inline(__always) func run(_ H: Int, _ W: Int) {
            for chunk in stride(from: 0, to: length, by: 8 * W) {
                var acc = InlineArray<24, __m256>(repeating: _mm256_setzero_ps())
                var slot = firstSlot, aheadSlot = (firstSlot + rowsAhead) % ringRows
                for j in 0..<count {
                    let v = UnsafeRawPointer(values + (slot &* rowStride &+ chunk))
                    prefetchRow(values + (aheadSlot &* rowStride &+ chunk), bytes: 16 &* W)
                    aheadSlot = aheadSlot &+ 1 == ringRows ? 0 : aheadSlot &+ 1
                    var vs = InlineArray<4, __m256>(repeating: _mm256_setzero_ps())
                    for h in 0..<H {
                        let r = rescale[h &* count &+ j]
                        if r != 1 {
                            let ms = _mm256_set1_ps(r)
                            for i in 0..<W { acc[h &* W &+ i] = roundedToHalf(_mm256_mul_ps(acc[h &* W &+ i], ms)) }
                        }
                        vs[h] = _mm256_set1_ps(weight[h &* count &+ j])
                    }
                    for i in 0..<W {
                        let x = _mm256_cvtph_ps(_mm_loadu_si128((v + 16 &* i).assumingMemoryBound(to: __m128i.self)))
                        for h in 0..<H { acc[h &* W &+ i] = roundedToHalf(_mm256_fmadd_ps(x, vs[h], acc[h &* W &+ i])) }
                    }
                    slot = slot &+ 1 == ringRows ? 0 : slot &+ 1
                }
                for h in 0..<H {
                    for i in 0..<W { _mm256_storeu_ps(out + (h &* outStride &+ chunk &+ 8 &* i), acc[h &* W &+ i]) }
                }
            }
        }
        #if SWIFTLET_AVX512
        let accumulators = 24
        #else
        let accumulators = 12
        #endif
        /// The widest pass whose accumulators fit and whose width divides the head (H a literal at each
        /// call, so that each specializes).
        @inline(__always) func widest(_ H: Int) -> Bool {
            if H &* 8 <= accumulators && length % 64 == 0 { run(H, 8); return true }
            if H &* 4 <= accumulators && length % 32 == 0 { run(H, 4); return true }
            if H &* 2 <= accumulators && length % 16 == 0 { run(H, 2); return true }
            return false
        }
        switch heads {
        case 1: done = widest(1)
        case 2: done = widest(2)
        case 3: done = widest(3)
        case 4: done = widest(4)
        default: break
        }
        #endif
        if !done {
            for h in 0..<heads {
                let o = out + h * outStride, rs = rescale + h * count, wt = weight + h * count
                var slot = firstSlot
                for j in 0..<count {
                    if rs[j] != 1 { scaleRoundingToHalf(o, by: rs[j], count: length) }
                    accumulateRoundingToHalf(o, values + slot * rowStride, times: wt[j], count: length)
                    slot = slot + 1 == ringRows ? 0 : slot + 1
                }
            }
        }
        if normalize {
            for h in 0..<heads {
                let sum = stats[h * statsStride].sum, o = out + h * outStride
                let inverse = sum == 0 ? 0 : 1 / sum
                for i in 0..<length { o[i] *= inverse }
            }
        }
    }
}

/// One attention output from the undivided outputs of consecutive ranges of positions
/// (``attendRoundingToHalf(scores:count:values:rowStride:firstSlot:ringRows:length:out:normalize:)``):
/// partial c's `length` values at `partials + c·length` with its maximum and sum in `stats[c]`, merged in
/// order as llama.cpp merges the ranges its one-token attention splits the KV cache into (512 cells or
/// more, `ggml_flash_attn_ext_reduce_partials`): each rescaled to the larger maximum by `expf`,
/// a·e₁ + b·e₂ with the first product fused (as GCC compiles it), then divided by the sum. A range with
/// a zero sum (nothing attended) is skipped.
public func mergeAttentionPartials(_ partials: UnsafePointer<Float>, stats: UnsafePointer<(maximum: Float, sum: Float)>, count: Int,
                                   length: Int, out: UnsafeMutablePointer<Float>) {
    var maximum = -Float.infinity, sum: Float = 0
    out.update(repeating: 0, count: length)
    for c in 0..<count where stats[c].sum != 0 {
        let newMax = max(maximum, stats[c].maximum)
        let scaleOld = expf(maximum - newMax), scaleNew = expf(stats[c].maximum - newMax)
        let v = partials + c * length
        for d in 0..<length { out[d] = (v[d] * scaleNew).addingProduct(out[d], scaleOld) }
        sum = (stats[c].sum * scaleNew).addingProduct(sum, scaleOld)
        maximum = newMax
    }
    if sum != 0 {
        let inverse = 1 / sum
        for d in 0..<length { out[d] *= inverse }
    }
}
