// Block dot products with AVX2 integer multiplies (vpmaddubsw), compiled only when the build turns the
// features on: `-Xswiftc -target-cpu -Xswiftc haswell -Xswiftc -DSWIFTLET_AVX2` (the Makefile does so
// on a CPU that has them; Docs/CPUFeatures.md has the commands for a dependent package). Every other
// build takes the portable loops in QuantizedMatmul.swift, which give the same sums.
#if SWIFTLET_AVX2 && arch(x86_64)
import _Builtin_intrinsics.intel

/// Whether this build carries the AVX2 kernels.
public let kernelsUseAVX2 = true

@inline(__always) private func load128(_ p: UnsafeRawPointer) -> __m128i {
    _mm_loadu_si128(p.assumingMemoryBound(to: __m128i.self))
}

@inline(__always) private func load256(_ p: UnsafeRawPointer) -> __m256i {
    _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i.self))
}

@inline(__always) private func horizontalSum(_ v: __m256) -> Float {
    let v8 = unsafeBitCast(v, to: SIMD8<Float>.self)
    let s4 = v8.lowHalf + v8.highHalf
    let s2 = s4.lowHalf + s4.highHalf
    return s2[0] + s2[1]
}

/// The two F16 values at `p` (a block's d and m, or d twice when only one is used), as floats.
@inline(__always) private func twoHalves(_ p: UnsafeRawPointer) -> SIMD4<Float> {
    unsafeBitCast(_mm_cvtph_ps(_mm_cvtsi32_si128(Int32(bitPattern: p.loadUnaligned(as: UInt32.self)))), to: SIMD4<Float>.self)
}

/// 32 nibbles of a 4-bit block as bytes 0…15: low nibbles first, then high nibbles.
@inline(__always) private func nibbles(_ p: UnsafeRawPointer) -> __m256i {
    let q = load128(p)
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0F))
}

/// Σ unsigned × signed byte products, as eight Int32 lanes converted to floats.
@inline(__always) private func productSums(_ unsigned: __m256i, _ signed: __m256i) -> __m256 {
    _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(unsigned, signed), _mm256_set1_epi16(1)))
}

/// Σ signed × signed byte products (vpmaddubsw wants one operand unsigned: move w's sign onto a).
@inline(__always) private func signedProductSums(_ w: __m256i, _ a: __m256i) -> __m256 {
    productSums(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w))
}

/// One Q4_1 row against Q8_1 activations: Σ d·da·Σq·a + m·(da·Σa).
@inline(__always)
func avx2DotQ4_1(_ w: UnsafeRawPointer, _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>, _ asum: UnsafePointer<Float>, blocks: Int) -> Float {
    var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
    var m0: Float = 0, m1: Float = 0
    @inline(__always) func block(_ b: Int) -> (__m256, Float) {
        let p = w + b * 20, dm = twoHalves(p)
        let s = productSums(nibbles(p + 4), load256(qs + b * 32))
        return (_mm256_mul_ps(s, _mm256_set1_ps(dm[0] * ad[b])), dm[1] * asum[b])
    }
    var b = 0
    while b + 1 < blocks {
        let (x, mx) = block(b), (y, my) = block(b + 1)
        acc0 = _mm256_add_ps(acc0, x); acc1 = _mm256_add_ps(acc1, y)
        m0 += mx; m1 += my
        b += 2
    }
    if b < blocks { let (x, mx) = block(b); acc0 = _mm256_add_ps(acc0, x); m0 += mx }
    return horizontalSum(_mm256_add_ps(acc0, acc1)) + (m0 + m1)
}

/// One Q4_0 row against Q8_0 activations: Σ d·da·Σ(q−8)·a.
@inline(__always)
func avx2DotQ4_0(_ w: UnsafeRawPointer, _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>, blocks: Int) -> Float {
    var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
    let eight = _mm256_set1_epi8(8)
    @inline(__always) func block(_ b: Int) -> __m256 {
        let p = w + b * 18
        let q = _mm256_sub_epi8(nibbles(p + 2), eight)
        let s = signedProductSums(q, load256(qs + b * 32))
        return _mm256_mul_ps(s, _mm256_set1_ps(twoHalves(p)[0] * ad[b]))
    }
    var b = 0
    while b + 1 < blocks {
        acc0 = _mm256_add_ps(acc0, block(b)); acc1 = _mm256_add_ps(acc1, block(b + 1))
        b += 2
    }
    if b < blocks { acc0 = _mm256_add_ps(acc0, block(b)) }
    return horizontalSum(_mm256_add_ps(acc0, acc1))
}

/// One Q8_0 row against Q8_0 activations: Σ d·da·Σq·a.
@inline(__always)
func avx2DotQ8_0(_ w: UnsafeRawPointer, _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>, blocks: Int) -> Float {
    var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
    @inline(__always) func block(_ b: Int) -> __m256 {
        let p = w + b * 34
        let s = signedProductSums(load256(p + 2), load256(qs + b * 32))
        return _mm256_mul_ps(s, _mm256_set1_ps(twoHalves(p)[0] * ad[b]))
    }
    var b = 0
    while b + 1 < blocks {
        acc0 = _mm256_add_ps(acc0, block(b)); acc1 = _mm256_add_ps(acc1, block(b + 1))
        b += 2
    }
    if b < blocks { acc0 = _mm256_add_ps(acc0, block(b)) }
    return horizontalSum(_mm256_add_ps(acc0, acc1))
}
/// Bit i of `bits` as byte i of the result: 0xFF where set, 0 where clear.
@inline(__always) private func bytesFromBits(_ bits: UInt32) -> __m256i {
    let spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(Int32(bitPattern: bits)),
        _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3))
    let select = _mm256_set1_epi64x(Int64(bitPattern: 0x8040_2010_0804_0201))
    return _mm256_cmpeq_epi8(_mm256_and_si256(spread, select), select)
}

/// One Q5_0 row against Q8_0 activations: Σ d·da·Σ(q−16)·a, q's fifth bit from the block's qh word.
@inline(__always)
func avx2DotQ5_0(_ w: UnsafeRawPointer, _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>, blocks: Int) -> Float {
    var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
    let sixteen = _mm256_set1_epi8(16)
    @inline(__always) func block(_ b: Int) -> __m256 {
        let p = w + b * 22
        let high = _mm256_and_si256(bytesFromBits(p.loadUnaligned(fromByteOffset: 2, as: UInt32.self)), sixteen)
        let q = _mm256_sub_epi8(_mm256_or_si256(nibbles(p + 6), high), sixteen)
        let s = signedProductSums(q, load256(qs + b * 32))
        return _mm256_mul_ps(s, _mm256_set1_ps(twoHalves(p)[0] * ad[b]))
    }
    var b = 0
    while b + 1 < blocks {
        acc0 = _mm256_add_ps(acc0, block(b)); acc1 = _mm256_add_ps(acc1, block(b + 1))
        b += 2
    }
    if b < blocks { acc0 = _mm256_add_ps(acc0, block(b)) }
    return horizontalSum(_mm256_add_ps(acc0, acc1))
}

/// One Q4_K row against Q8_K activations: d·da·Σ scale·Σq·a − dmin·da·Σ min·Σa, per 32-value sub-block.
@inline(__always)
func avx2DotQ4_K(_ w: UnsafeRawPointer, _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>, _ bsums: UnsafePointer<Int32>, blocks: Int) -> Float {
    var acc = _mm256_setzero_ps()
    var minSum: Float = 0
    let low = _mm256_set1_epi8(0x0F)
    for b in 0..<blocks {
        let p = w + b * 144, a = qs + b * 256, sc = (p + 4).assumingMemoryBound(to: UInt8.self)
        var scales = SIMD8<Int16>(), mins = SIMD8<Int32>()
        for j in 0..<4 {
            scales[j] = Int16(sc[j] & 63); mins[j] = Int32(sc[j + 4] & 63)
            scales[j + 4] = Int16((sc[j + 8] & 0xF) | ((sc[j] >> 6) << 4))
            mins[j + 4] = Int32((sc[j + 8] >> 4) | ((sc[j + 4] >> 6) << 4))
        }
        var sumi = _mm256_setzero_si256()
        for g in 0..<4 {
            let q = load256(p + 16 + 32 * g)
            let lo = _mm256_maddubs_epi16(_mm256_and_si256(q, low), load256(a + 64 * g))
            let hi = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(q, 4), low), load256(a + 64 * g + 32))
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(lo, _mm256_set1_epi16(scales[2 * g])))
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(hi, _mm256_set1_epi16(scales[2 * g + 1])))
        }
        let dm = twoHalves(p)
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), _mm256_set1_ps(dm[0] * ad[b]), acc)
        let bs = bsums + b * 16
        var m: Int32 = 0
        for j in 0..<8 { m &+= mins[j] &* (bs[2 * j] &+ bs[2 * j + 1]) }
        minSum += dm[1] * ad[b] * Float(m)
    }
    return horizontalSum(acc) - minSum
}

/// One Q6_K row against Q8_K activations: d·da·Σ scale·Σ(q−32)·a per 16 values.
@inline(__always)
func avx2DotQ6_K(_ w: UnsafeRawPointer, _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>, blocks: Int) -> Float {
    var acc = _mm256_setzero_ps()
    let low = _mm256_set1_epi8(0x0F), thirtyTwo = _mm256_set1_epi8(32)
    @inline(__always) func scaled(_ q: __m256i, _ a: __m256i, _ s0: Int8, _ s1: Int8) -> __m256i {
        let p = _mm256_sub_epi16(_mm256_maddubs_epi16(q, a), _mm256_maddubs_epi16(thirtyTwo, a))
        return _mm256_madd_epi16(p, _mm256_set_m128i(_mm_set1_epi16(Int16(s1)), _mm_set1_epi16(Int16(s0))))
    }
    for b in 0..<blocks {
        let p = w + b * 210, a = qs + b * 256
        let sc = (p + 192).assumingMemoryBound(to: Int8.self)
        var sumi = _mm256_setzero_si256()
        for h in 0..<2 {
            let ql0 = load256(p + 64 * h), ql1 = load256(p + 64 * h + 32), qh = load256(p + 128 + 32 * h)
            let s = sc + 8 * h, a0 = a + 128 * h
            let q1 = _mm256_or_si256(_mm256_and_si256(ql0, low), _mm256_slli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(0x03)), 4))
            let q2 = _mm256_or_si256(_mm256_and_si256(ql1, low), _mm256_slli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(0x0C)), 2))
            let q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low), _mm256_and_si256(qh, _mm256_set1_epi8(0x30)))
            let q4 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low),
                                     _mm256_srli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(-64)), 2))
            sumi = _mm256_add_epi32(sumi, scaled(q1, load256(a0), s[0], s[1]))
            sumi = _mm256_add_epi32(sumi, scaled(q2, load256(a0 + 32), s[2], s[3]))
            sumi = _mm256_add_epi32(sumi, scaled(q3, load256(a0 + 64), s[4], s[5]))
            sumi = _mm256_add_epi32(sumi, scaled(q4, load256(a0 + 96), s[6], s[7]))
        }
        let d = Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: 208, as: UInt16.self)))
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), _mm256_set1_ps(d * ad[b]), acc)
    }
    return horizontalSum(acc)
}
#else
/// Whether this build carries the AVX2 kernels.
public let kernelsUseAVX2 = false
#endif
