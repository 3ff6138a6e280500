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
#else
/// Whether this build carries the AVX2 kernels.
public let kernelsUseAVX2 = false
#endif
