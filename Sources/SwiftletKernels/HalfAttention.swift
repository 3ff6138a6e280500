// The inner steps of one-token attention over an F16 KV cache, the way llama.cpp's one-row flash
// attention takes them (q and the V accumulator rounded to F16). Each has a plain loop and, in AVX2
// builds, an F16C one with the same operations in the same order per element, so both give the same bits.
import Foundation
#if SWIFTLET_AVX2 && arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// ``dot(_:_:count:)`` with `b` in F16: four partial sums (element i goes to sum i mod 4), added
/// pairwise at the end, so the result equals `dot` over `b` converted to floats.
@inline(__always)
public func dotHalf(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float16>, count: Int) -> Float {
    var i = 0
    #if SWIFTLET_AVX2 && arch(x86_64)
    // The four sums are the four lanes of one vector.
    var acc = _mm_setzero_ps()
    while i + 4 <= count {
        let h = _mm_cvtph_ps(_mm_loadl_epi64(UnsafeRawPointer(b + i).assumingMemoryBound(to: __m128i.self)))
        acc = _mm_add_ps(acc, _mm_mul_ps(_mm_loadu_ps(a + i), h))
        i += 4
    }
    var s0 = acc[0]  // __m128 is SIMD4<Float>
    let s1 = acc[1], s2 = acc[2], s3 = acc[3]
    #else
    var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
    while i + 4 <= count {
        s0 += a[i] * Float(b[i]); s1 += a[i+1] * Float(b[i+1]); s2 += a[i+2] * Float(b[i+2]); s3 += a[i+3] * Float(b[i+3])
        i += 4
    }
    #endif
    while i < count { s0 += a[i] * Float(b[i]); i += 1 }
    return (s0 + s1) + (s2 + s3)
}

/// ``dotHalf(_:_:count:)`` of `a` with two rows at once, each summed exactly as there: the two chains
/// of additions are independent, so interleaving them hides each one's latency.
@inline(__always)
public func dotHalfPair(_ a: UnsafePointer<Float>, _ b0: UnsafePointer<Float16>, _ b1: UnsafePointer<Float16>, count: Int) -> (Float, Float) {
    #if SWIFTLET_AVX2 && arch(x86_64)
    var i = 0
    var acc0 = _mm_setzero_ps(), acc1 = _mm_setzero_ps()
    while i + 4 <= count {
        let x = _mm_loadu_ps(a + i)
        let h0 = _mm_cvtph_ps(_mm_loadl_epi64(UnsafeRawPointer(b0 + i).assumingMemoryBound(to: __m128i.self)))
        let h1 = _mm_cvtph_ps(_mm_loadl_epi64(UnsafeRawPointer(b1 + i).assumingMemoryBound(to: __m128i.self)))
        acc0 = _mm_add_ps(acc0, _mm_mul_ps(x, h0))
        acc1 = _mm_add_ps(acc1, _mm_mul_ps(x, h1))
        i += 4
    }
    var s00 = acc0[0], s10 = acc1[0]
    while i < count { s00 += a[i] * Float(b0[i]); s10 += a[i] * Float(b1[i]); i += 1 }
    return ((s00 + acc0[1]) + (acc0[2] + acc0[3]), (s10 + acc1[1]) + (acc1[2] + acc1[3]))
    #else
    return (dotHalf(a, b0, count: count), dotHalf(a, b1, count: count))
    #endif
}

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

/// out[i] = F16(out[i] + v[i] · s): one value row added to an F16 accumulator (a multiply, then an add;
/// never fused, as in the plain loop).
@inline(__always)
public func accumulateRoundingToHalf(_ out: UnsafeMutablePointer<Float>, _ v: UnsafePointer<Float16>, times s: Float, count: Int) {
    var i = 0
    #if SWIFTLET_AVX2 && arch(x86_64)
    let sv = _mm256_set1_ps(s)
    while i + 8 <= count {
        let h = _mm256_cvtph_ps(_mm_loadu_si128(UnsafeRawPointer(v + i).assumingMemoryBound(to: __m128i.self)))
        let x = _mm256_add_ps(_mm256_loadu_ps(out + i), _mm256_mul_ps(h, sv))
        _mm256_storeu_ps(out + i, roundedToHalf(x))
        i += 8
    }
    #endif
    while i < count { out[i] = Float(Float16(out[i] + Float(v[i]) * s)); i += 1 }
}

/// One query head's softmax-weighted sum of `count` F16 value rows, the way llama.cpp's one-row flash
/// attention forms it: rows in order; a score above the running maximum rescales the F16 accumulator by
/// e^(old − new) and adds the row with weight 1, any other adds it with weight e^(s − max); every step
/// rounds the accumulator to F16 (``scaleRoundingToHalf(_:by:count:)``,
/// ``accumulateRoundingToHalf(_:_:times:count:)``); at the end it is divided by the weights' sum.
///
/// Row j is the `length` values at `values + slot·rowStride`, slots starting at `firstSlot` and wrapping
/// at `ringRows` (a sliding-window ring). The weights are found first, then (AVX2, `length` a multiple
/// of 64) the accumulator runs 64 values at a time in registers over every row; the same operations per
/// element as row by row, so the same bits.
public func attendRoundingToHalf(scores: UnsafePointer<Float>, count: Int, values: UnsafePointer<Float16>, rowStride: Int,
                                 firstSlot: Int, ringRows: Int, length: Int, out: UnsafeMutablePointer<Float>) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * max(1, count)) { buffer in
        // rescale[j] ≠ 1 only where row j raised the maximum (then weight[j] is 1).
        let rescale = buffer.baseAddress!, weight = rescale + count
        var maximum = -Float.infinity, sum: Float = 0
        for j in 0..<count {
            let s = scores[j]
            var ms: Float = 1, vs: Float = 1
            if s > maximum {
                ms = expf(maximum - s)
                maximum = s
            } else {
                vs = expf(s - maximum)
            }
            rescale[j] = ms; weight[j] = vs
            sum = sum * ms + vs
        }
        out.update(repeating: 0, count: length)
        var done = false
        #if SWIFTLET_AVX2 && arch(x86_64)
        if length % 64 == 0 {
            for chunk in stride(from: 0, to: length, by: 64) {
                var acc = InlineArray<8, __m256>(repeating: _mm256_setzero_ps())
                var slot = firstSlot
                for j in 0..<count {
                    let v = UnsafeRawPointer(values + (slot &* rowStride &+ chunk))
                    if rescale[j] != 1 {
                        let ms = _mm256_set1_ps(rescale[j])
                        for i in 0..<8 { acc[i] = roundedToHalf(_mm256_mul_ps(acc[i], ms)) }
                    }
                    let vs = _mm256_set1_ps(weight[j])
                    for i in 0..<8 {
                        let h = _mm256_cvtph_ps(_mm_loadu_si128((v + 16 &* i).assumingMemoryBound(to: __m128i.self)))
                        acc[i] = roundedToHalf(_mm256_add_ps(acc[i], _mm256_mul_ps(h, vs)))
                    }
                    slot = slot &+ 1 == ringRows ? 0 : slot &+ 1
                }
                for i in 0..<8 { _mm256_storeu_ps(out + (chunk &+ 8 &* i), acc[i]) }
            }
            done = true
        }
        #endif
        if !done {
            var slot = firstSlot
            for j in 0..<count {
                if rescale[j] != 1 { scaleRoundingToHalf(out, by: rescale[j], count: length) }
                accumulateRoundingToHalf(out, values + slot * rowStride, times: weight[j], count: length)
                slot = slot + 1 == ringRows ? 0 : slot + 1
            }
        }
        let inverse = sum == 0 ? 0 : 1 / sum
        for i in 0..<length { out[i] *= inverse }
    }
}
