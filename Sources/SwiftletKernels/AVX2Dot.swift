// Block dot products with AVX2 integer multiplies (vpmaddubsw), compiled only when the build turns the
// features on: `-Xswiftc -target-cpu -Xswiftc haswell -Xswiftc -DSWIFTLET_AVX2` (the Makefile does so
// on a CPU that has them; Docs/CPUFeatures.md has the commands for a dependent package). Every other
// build takes the portable loops in QuantizedMatmul.swift, which give the same sums.
#if SWIFTLET_AVX2 && arch(x86_64)
import _Builtin_intrinsics.intel
import SwiftletGGUF

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

/// Σ (q − offset) × a for unsigned q (0…31) and signed a: Σq·a − offset·Σa, both in 16-bit pair sums
/// (cheaper than moving signs, and the same integers).
@inline(__always) private func offsetProductSums(_ q: __m256i, _ offset: __m256i, _ a: __m256i) -> __m256 {
    let pairs = _mm256_sub_epi16(_mm256_maddubs_epi16(q, a), _mm256_maddubs_epi16(offset, a))
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)))
}

/// Σ signed × signed byte products (vpmaddubsw wants one operand unsigned: move w's sign onto a).
@inline(__always) private func signedProductSums(_ w: __m256i, _ a: __m256i) -> __m256 {
    productSums(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w))
}

/// Σ over `blocks` of `block(b)`, in two independent accumulators so that consecutive blocks' multiplies
/// overlap (one accumulator chains every add on the previous one; two measured 1.8× faster).
@inline(__always) private func sumBlocks(_ blocks: Int, _ block: (Int) -> __m256) -> Float {
    var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
    var b = 0
    while b + 1 < blocks {
        acc0 = _mm256_add_ps(acc0, block(b)); acc1 = _mm256_add_ps(acc1, block(b + 1))
        b += 2
    }
    if b < blocks { acc0 = _mm256_add_ps(acc0, block(b)) }
    return horizontalSum(_mm256_add_ps(acc0, acc1))
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

/// Block `b` of a Q4_0 row: its nibbles as bytes 0…15 (value q − 8) and its scale.
@inline(__always) private func q4_0Block(_ w: UnsafeRawPointer, _ b: Int) -> (q: __m256i, d: Float) {
    let p = w + b * 18
    return (nibbles(p + 2), twoHalves(p)[0])
}

/// Block `b` of a Q8_0 row: its signed weights and its scale.
@inline(__always) private func q8_0Block(_ w: UnsafeRawPointer, _ b: Int) -> (q: __m256i, d: Float) {
    let p = w + b * 34
    return (load256(p + 2), twoHalves(p)[0])
}

/// One Q4_0 row against Q8_0 activations: Σ d·da·Σ(q−8)·a.
@inline(__always)
func avx2DotQ4_0(_ w: UnsafeRawPointer, _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>, blocks: Int) -> Float {
    let eight = _mm256_set1_epi8(8)
    return sumBlocks(blocks) { b in
        let (q, d) = q4_0Block(w, b)
        return _mm256_mul_ps(offsetProductSums(q, eight, load256(qs + b * 32)), _mm256_set1_ps(d * ad[b]))
    }
}

/// One Q8_0 row against Q8_0 activations: Σ d·da·Σq·a.
@inline(__always)
func avx2DotQ8_0(_ w: UnsafeRawPointer, _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>, blocks: Int) -> Float {
    sumBlocks(blocks) { b in
        let (q, d) = q8_0Block(w, b)
        return _mm256_mul_ps(signedProductSums(q, load256(qs + b * 32)), _mm256_set1_ps(d * ad[b]))
    }
}

/// Bit i of `bits` as byte i of the result: 0xFF where set, 0 where clear.
@inline(__always) private func bytesFromBits(_ bits: UInt32) -> __m256i {
    let spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(Int32(bitPattern: bits)),
        _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3))
    let select = _mm256_set1_epi64x(Int64(bitPattern: 0x8040_2010_0804_0201))
    return _mm256_cmpeq_epi8(_mm256_and_si256(spread, select), select)
}

/// Block `b` of a Q5_0 row: its five-bit values as bytes 0…31 (value q − 16) and its scale.
@inline(__always) private func q5_0Block(_ w: UnsafeRawPointer, _ b: Int) -> (q: __m256i, d: Float) {
    let p = w + b * 22
    let high = _mm256_and_si256(bytesFromBits(p.loadUnaligned(fromByteOffset: 2, as: UInt32.self)), _mm256_set1_epi8(16))
    return (_mm256_or_si256(nibbles(p + 6), high), twoHalves(p)[0])
}

/// One Q5_0 row against Q8_0 activations: Σ d·da·Σ(q−16)·a, q's fifth bit from the block's qh word.
@inline(__always)
func avx2DotQ5_0(_ w: UnsafeRawPointer, _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>, blocks: Int) -> Float {
    let sixteen = _mm256_set1_epi8(16)
    return sumBlocks(blocks) { b in
        let (q, d) = q5_0Block(w, b)
        return _mm256_mul_ps(offsetProductSums(q, sixteen, load256(qs + b * 32)), _mm256_set1_ps(d * ad[b]))
    }
}

/// A Q4_K super-block unpacked once: 4 × 32 bytes of nibble pairs, 8 sub-block scales and mins, d and dmin.
struct Q4KBlock {
    var q: (__m256i, __m256i, __m256i, __m256i)
    var scales = SIMD8<Int16>(), mins = SIMD8<Int32>()
    var dm: SIMD4<Float>

    @inline(__always) init(_ p: UnsafeRawPointer) {
        let sc = (p + 4).assumingMemoryBound(to: UInt8.self)
        for j in 0..<4 {
            scales[j] = Int16(sc[j] & 63); mins[j] = Int32(sc[j + 4] & 63)
            scales[j + 4] = Int16((sc[j + 8] & 0xF) | ((sc[j] >> 6) << 4))
            mins[j + 4] = Int32((sc[j + 8] >> 4) | ((sc[j + 4] >> 6) << 4))
        }
        q = (load256(p + 16), load256(p + 48), load256(p + 80), load256(p + 112))
        dm = twoHalves(p)
    }

    /// Σ scale·Σq·a over the 256 values of activations `a`, as eight Int32 lanes.
    @inline(__always) func products(_ a: UnsafePointer<Int8>) -> __m256i {
        let low = _mm256_set1_epi8(0x0F)
        var sumi = _mm256_setzero_si256()
        @inline(__always) func group(_ q: __m256i, _ g: Int) {
            let lo = _mm256_maddubs_epi16(_mm256_and_si256(q, low), load256(a + 64 * g))
            let hi = _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(q, 4), low), load256(a + 64 * g + 32))
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(lo, _mm256_set1_epi16(scales[2 * g])))
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(hi, _mm256_set1_epi16(scales[2 * g + 1])))
        }
        group(q.0, 0); group(q.1, 1); group(q.2, 2); group(q.3, 3)
        return sumi
    }

    /// Σ min·Σa over the sub-blocks, from the activations' per-16 sums.
    @inline(__always) func minProducts(_ bsums: UnsafePointer<Int32>) -> Int32 {
        var m: Int32 = 0
        for j in 0..<8 { m &+= mins[j] &* (bsums[2 * j] &+ bsums[2 * j + 1]) }
        return m
    }
}

/// One Q4_K row against Q8_K activations: d·da·Σ scale·Σq·a − dmin·da·Σ min·Σa, per 32-value sub-block.
@inline(__always)
func avx2DotQ4_K(_ w: UnsafeRawPointer, _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>, _ bsums: UnsafePointer<Int32>, blocks: Int) -> Float {
    var acc = _mm256_setzero_ps()
    var minSum: Float = 0
    for b in 0..<blocks {
        let block = Q4KBlock(w + b * 144)
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block.products(qs + b * 256)), _mm256_set1_ps(block.dm[0] * ad[b]), acc)
        minSum += block.dm[1] * ad[b] * Float(block.minProducts(bsums + b * 16))
    }
    return horizontalSum(acc) - minSum
}

/// A Q6_K super-block unpacked once: 8 × 32 six-bit values (as bytes 0…63) and 16 scales.
struct Q6KBlock {
    var q: (__m256i, __m256i, __m256i, __m256i, __m256i, __m256i, __m256i, __m256i)
    let scales: UnsafePointer<Int8>
    let d: Float

    @inline(__always) init(_ p: UnsafeRawPointer) {
        let low = _mm256_set1_epi8(0x0F)
        @inline(__always) func half(_ h: Int) -> (__m256i, __m256i, __m256i, __m256i) {
            let ql0 = load256(p + 64 * h), ql1 = load256(p + 64 * h + 32), qh = load256(p + 128 + 32 * h)
            return (_mm256_or_si256(_mm256_and_si256(ql0, low), _mm256_slli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(0x03)), 4)),
                    _mm256_or_si256(_mm256_and_si256(ql1, low), _mm256_slli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(0x0C)), 2)),
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low), _mm256_and_si256(qh, _mm256_set1_epi8(0x30))),
                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low),
                                    _mm256_srli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(-64)), 2)))
        }
        let (a, b, c, e) = half(0), (f, g, h, i) = half(1)
        q = (a, b, c, e, f, g, h, i)
        scales = (p + 192).assumingMemoryBound(to: Int8.self)
        d = Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: 208, as: UInt16.self)))
    }

    /// Σ scale·Σ(q−32)·a over the 256 values of activations `a`, as eight Int32 lanes.
    @inline(__always) func products(_ a: UnsafePointer<Int8>) -> __m256i {
        let thirtyTwo = _mm256_set1_epi8(32)
        @inline(__always) func scaled(_ q: __m256i, _ offset: Int, _ s: Int) -> __m256i {
            let x = load256(a + offset)
            let p = _mm256_sub_epi16(_mm256_maddubs_epi16(q, x), _mm256_maddubs_epi16(thirtyTwo, x))
            return _mm256_madd_epi16(p, _mm256_set_m128i(_mm_set1_epi16(Int16(scales[s + 1])), _mm_set1_epi16(Int16(scales[s]))))
        }
        var sumi = scaled(q.0, 0, 0)
        sumi = _mm256_add_epi32(sumi, scaled(q.1, 32, 2))
        sumi = _mm256_add_epi32(sumi, scaled(q.2, 64, 4))
        sumi = _mm256_add_epi32(sumi, scaled(q.3, 96, 6))
        sumi = _mm256_add_epi32(sumi, scaled(q.4, 128, 8))
        sumi = _mm256_add_epi32(sumi, scaled(q.5, 160, 10))
        sumi = _mm256_add_epi32(sumi, scaled(q.6, 192, 12))
        return _mm256_add_epi32(sumi, scaled(q.7, 224, 14))
    }
}

/// One Q6_K row against Q8_K activations: d·da·Σ scale·Σ(q−32)·a per 16 values.
@inline(__always)
func avx2DotQ6_K(_ w: UnsafeRawPointer, _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>, blocks: Int) -> Float {
    var acc = _mm256_setzero_ps()
    for b in 0..<blocks {
        let block = Q6KBlock(w + b * 210)
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block.products(qs + b * 256)), _mm256_set1_ps(block.d * ad[b]), acc)
    }
    return horizontalSum(acc)
}

/// Four tokens against one K-quant row, each super-block unpacked once; every token's sum is formed as
/// the one-token kernel forms it. `bsums` (Q4_K) is laid out per token like `ad`, 16 per super-block.
@inline(__always)
func avx2Dot4K(_ type: GGMLType, _ w: UnsafeRawPointer, _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>,
               _ bsums: UnsafePointer<Int32>, columns: Int) -> SIMD4<Float>? {
    let blocks = columns / 256
    var acc = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps())
    switch type {
    case .q4_K:
        var minSum = SIMD4<Float>()
        for b in 0..<blocks {
            let block = Q4KBlock(w + b * 144)
            @inline(__always) func token(_ k: Int, _ acc: inout __m256) {
                let da = ad[k * blocks + b]
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block.products(qs + k * columns + b * 256)), _mm256_set1_ps(block.dm[0] * da), acc)
                minSum[k] += block.dm[1] * da * Float(block.minProducts(bsums + k * (columns / 16) + b * 16))
            }
            token(0, &acc.0); token(1, &acc.1); token(2, &acc.2); token(3, &acc.3)
        }
        return SIMD4(horizontalSum(acc.0), horizontalSum(acc.1), horizontalSum(acc.2), horizontalSum(acc.3)) - minSum
    case .q6_K:
        for b in 0..<blocks {
            let block = Q6KBlock(w + b * 210)
            @inline(__always) func token(_ k: Int, _ acc: inout __m256) {
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block.products(qs + k * columns + b * 256)), _mm256_set1_ps(block.d * ad[k * blocks + b]), acc)
            }
            token(0, &acc.0); token(1, &acc.1); token(2, &acc.2); token(3, &acc.3)
        }
        return SIMD4(horizontalSum(acc.0), horizontalSum(acc.1), horizontalSum(acc.2), horizontalSum(acc.3))
    default:
        return nil
    }
}

/// Four tokens' dot products with one row of a 32-value block format whose weights are signed bytes
/// (Q8_0, Q4_0, Q5_0): each block is unpacked once for the four tokens. Token k's activations start at
/// `qs + k * columns` and its scales at `ad + k * blocks`. Every token's sum is formed exactly as
/// `sumBlocks` forms it for one token (same products, same two accumulators, same order), so the
/// batched path gives the one-token path's numbers bit for bit.
@inline(__always)
func avx2Dot4Signed(_ blocks: Int, _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>, columns: Int, offset: Int8? = nil,
                    _ weights: (Int) -> (q: __m256i, d: Float)) -> SIMD4<Float> {
    var even = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps())
    var odd = even
    let offsetBytes = _mm256_set1_epi8(offset ?? 0)
    // With an offset, q is unsigned and the products are Σq·a − offset·Σa; without, q is signed.
    @inline(__always) func term(_ aw: __m256i, _ q: __m256i, _ d: Float, _ k: Int, _ b: Int) -> __m256 {
        let a = load256(qs + k * columns + b * 32)
        let s = offset == nil ? productSums(aw, _mm256_sign_epi8(a, q)) : offsetProductSums(q, offsetBytes, a)
        return _mm256_mul_ps(s, _mm256_set1_ps(d * ad[k * blocks + b]))
    }
    for b in 0..<blocks {
        let (q, d) = weights(b)
        let aw = offset == nil ? _mm256_sign_epi8(q, q) : q
        if b & 1 == 0 {
            even.0 = _mm256_add_ps(even.0, term(aw, q, d, 0, b)); even.1 = _mm256_add_ps(even.1, term(aw, q, d, 1, b))
            even.2 = _mm256_add_ps(even.2, term(aw, q, d, 2, b)); even.3 = _mm256_add_ps(even.3, term(aw, q, d, 3, b))
        } else {
            odd.0 = _mm256_add_ps(odd.0, term(aw, q, d, 0, b)); odd.1 = _mm256_add_ps(odd.1, term(aw, q, d, 1, b))
            odd.2 = _mm256_add_ps(odd.2, term(aw, q, d, 2, b)); odd.3 = _mm256_add_ps(odd.3, term(aw, q, d, 3, b))
        }
    }
    return SIMD4(horizontalSum(_mm256_add_ps(even.0, odd.0)), horizontalSum(_mm256_add_ps(even.1, odd.1)),
                 horizontalSum(_mm256_add_ps(even.2, odd.2)), horizontalSum(_mm256_add_ps(even.3, odd.3)))
}

/// One F16 row against activations already rounded to F16 (held as floats): eight products per step
/// into two accumulators.
@inline(__always)
func avx2DotF16(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
    var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
    var i = 0
    while i + 16 <= count {
        acc0 = _mm256_fmadd_ps(_mm256_cvtph_ps(load128(w + 2 * i)), _mm256_loadu_ps(x + i), acc0)
        acc1 = _mm256_fmadd_ps(_mm256_cvtph_ps(load128(w + 2 * i + 16)), _mm256_loadu_ps(x + i + 8), acc1)
        i += 16
    }
    var sum = horizontalSum(_mm256_add_ps(acc0, acc1))
    let h = w.assumingMemoryBound(to: Float16.self)
    while i < count { sum += Float(h[i]) * x[i]; i += 1 }
    return sum
}

/// Four tokens' dot products with one row (see ``avx2Dot4Signed``); nil for a format without a
/// four-token kernel.
@inline(__always)
func avx2Dot4(_ type: GGMLType, _ w: UnsafeRawPointer, _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>,
              _ asum: UnsafePointer<Float>, columns: Int) -> SIMD4<Float>? {
    let blocks = columns / 32
    switch type {
    case .q8_0: return avx2Dot4Signed(blocks, qs, ad, columns: columns) { q8_0Block(w, $0) }
    case .q4_0: return avx2Dot4Signed(blocks, qs, ad, columns: columns, offset: 8) { q4_0Block(w, $0) }
    case .q5_0: return avx2Dot4Signed(blocks, qs, ad, columns: columns, offset: 16) { q5_0Block(w, $0) }
    case .q4_1:
        return avx2Dot4Q4_1(w, qs, ad, asum, blocks: blocks, columns: columns)
    default:
        return nil
    }
}

/// ``avx2Dot4Signed`` for Q4_1 (unsigned nibbles and a per-block minimum), matching ``avx2DotQ4_1``'s
/// sums exactly. `asum` holds each activation block's d·Σa, laid out like `ad`.
@inline(__always)
func avx2Dot4Q4_1(_ w: UnsafeRawPointer, _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>, _ asum: UnsafePointer<Float>,
                  blocks: Int, columns: Int) -> SIMD4<Float> {
    var even = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps())
    var odd = even
    var mEven = SIMD4<Float>(), mOdd = SIMD4<Float>()
    for b in 0..<blocks {
        let p = w + b * 20, dm = twoHalves(p), q = nibbles(p + 4)
        @inline(__always) func term(_ k: Int) -> __m256 {
            _mm256_mul_ps(productSums(q, load256(qs + k * columns + b * 32)), _mm256_set1_ps(dm[0] * ad[k * blocks + b]))
        }
        let m = SIMD4(dm[1] * asum[b], dm[1] * asum[blocks + b], dm[1] * asum[2 * blocks + b], dm[1] * asum[3 * blocks + b])
        if b & 1 == 0 {
            even.0 = _mm256_add_ps(even.0, term(0)); even.1 = _mm256_add_ps(even.1, term(1))
            even.2 = _mm256_add_ps(even.2, term(2)); even.3 = _mm256_add_ps(even.3, term(3))
            mEven += m
        } else {
            odd.0 = _mm256_add_ps(odd.0, term(0)); odd.1 = _mm256_add_ps(odd.1, term(1))
            odd.2 = _mm256_add_ps(odd.2, term(2)); odd.3 = _mm256_add_ps(odd.3, term(3))
            mOdd += m
        }
    }
    return SIMD4(horizontalSum(_mm256_add_ps(even.0, odd.0)), horizontalSum(_mm256_add_ps(even.1, odd.1)),
                 horizontalSum(_mm256_add_ps(even.2, odd.2)), horizontalSum(_mm256_add_ps(even.3, odd.3))) + (mEven + mOdd)
}
#else
/// Whether this build carries the AVX2 kernels.
public let kernelsUseAVX2 = false
#endif
