// Q6_K matrix products over batches of eight tokens or more in the order of ggml's tiled K-quant matmul
// (`ggml-cpu/tiled`, which llama.cpp's AVX2 build runs for Q6_K from eight tokens): per super-block, the
// exact integer sum Σ scale·Σ(q − 32)·a, times d, fused into a running sum times the activations' scale.
// Compiled with the other AVX2 kernels (AVX2Dot.swift).
#if SWIFTLET_AVX2 && arch(x86_64)
import _Builtin_intrinsics.intel
import SwiftletGGUF

/// Bytes of prepared activation data per group of eight tokens and super-block: the eight tokens' 256
/// values as eight chunks of 32 (chunk c of tokens 0…7 side by side, then chunk c + 1: two tokens' chunks
/// fill one 64-byte load), each token's sixteen per-16 sums as Int16 (32 bytes, token after token), then
/// the eight tokens' scales. (Side by side, the values of a group's tokens fall in different L1
/// sets; in the activations' own layout, rows of 4096 or 8192 values put all eight in the same one.)
private let preparedBytesPerBlock = 8 * 256 + 8 * 32 + 8 * 4

/// Rows `0..<rows` of a Q6_K matrix (the first at `w`, `rowBytes` apart) · `tokens` (eight or more)
/// tokens' Q8_K activations, to `y[k·ldy + i]`, in the tiled order: whole groups of eight tokens here,
/// the rest by ``avx2RowQ6_K(_:tokens:_:_:_:columns:_:ldy:order:)``. Eight tokens' float steps run in the
/// eight lanes of one vector; each lane is the scalar `fma(d·Σ, da, sum)` of its token.
func avx2RowsQ6_KTiled(rows: Int, tokens: Int, _ w: UnsafeRawPointer, rowBytes: Int, _ qs: UnsafePointer<Int8>,
                       _ ad: UnsafePointer<Float>, _ bsums: UnsafePointer<Int32>, columns: Int,
                       _ y: UnsafeMutablePointer<Float>, ldy: Int) {
    let blocks = columns / 256, groups = tokens / 8, sumsPerToken = columns / 16
    let groupBytes = blocks * preparedBytesPerBlock
    // Rows in blocks of about 256 KiB of weights, which stay in the core's L2 cache while every group
    // of tokens passes over them.
    let rowsPerBlock = max(8, 256 * 1024 / max(1, rowBytes))
    withUnsafeTemporaryAllocation(byteCount: max(1, groups * groupBytes), alignment: 32) { buffer in
        let prepared = buffer.baseAddress!
        // The activations, their side of the offsets (per-16 sums) and their scales, once for every row.
        forEachPreparedBlock(prepared, groups: groups, perGroup: 8, blocks: blocks,
                             bytesPerBlock: preparedBytesPerBlock) { dst, t, b, k in
            let values = qs + (t &* columns &+ b &* 256)
            for c in 0..<8 { (dst + (256 &* c &+ 32 &* k)).copyMemory(from: values + 32 &* c, byteCount: 32) }
            _mm256_storeu_si256((dst + (2048 &+ 32 &* k)).assumingMemoryBound(to: __m256i.self),
                                sixteenSums(bsums + (t &* sumsPerToken &+ b &* 16)))
            dst.storeBytes(of: ad[t &* blocks &+ b], toByteOffset: 2304 &+ 4 &* k, as: Float.self)
        }
        for rb in stride(from: 0, to: rows, by: rowsPerBlock) {
            for group in 0..<groups {
                let prep = prepared + group &* groupBytes
                for i in rb..<min(rows, rb + rowsPerBlock) {
                    let sums = q6KRowEight(w + i &* rowBytes, blocks: blocks, prep)
                    for k in 0..<8 { y[(8 &* group &+ k) &* ldy &+ i] = sums[k] }
                }
            }
        }
    }
    let t = groups * 8
    guard t < tokens else { return }
    for i in 0..<rows {
        var k = t
        while k < tokens {
            let count = tokens - k >= 4 ? 4 : 1
            if count == 4 {
                avx2RowQ6_K(w + i &* rowBytes, tokens: 4, qs + k &* columns, ad + k &* blocks, bsums + k &* sumsPerToken,
                            columns: columns, y + (k &* ldy &+ i), ldy: ldy, order: .tiled)
            } else {
                avx2RowQ6_K(w + i &* rowBytes, tokens: 1, qs + k &* columns, ad + k &* blocks, bsums + k &* sumsPerToken,
                            columns: columns, y + (k &* ldy &+ i), ldy: ldy, order: .tiled)
            }
            k += count
        }
    }
}

/// One Q6_K row of `blocks` super-blocks · eight tokens (their values, sums and scales prepared at
/// `prepared`), as eight lanes (lane k: token k). The six-bit values are assembled
/// once per half super-block for the eight tokens; Σ scale·32·Σa comes from the prepared per-16 sums
/// (one vpmaddwd per token); the eight integer totals are transposed into one vector by unpacks.
@inline(__always)
private func q6KRowEight(_ w: UnsafeRawPointer, blocks: Int, _ prepared: UnsafeRawPointer) -> __m256 {
    var sums = _mm256_setzero_ps()
    for b in 0..<blocks {
        let p = w + b &* GGMLType.q6_K.bytesPerBlock
        let scaleBytes = _mm_loadu_si128((p + 192).assumingMemoryBound(to: __m128i.self))
        let d = Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: 208, as: UInt16.self)))
        let evenOdd = q6KEvenOddScales(scaleBytes)
        let prep = prepared + b &* preparedBytesPerBlock
        var sumi = InlineArray<8, __m256i>(repeating: _mm256_setzero_si256())
        #if SWIFTLET_AVX512
        // Two tokens per 16-lane register (each half does what an eight-lane register does for its token),
        // in two chains (even and odd chunks), added at the end: the same integers.
        var even = InlineArray<4, __m512i>(repeating: _mm512_setzero_si512()), odd = even
        for h in 0..<2 {
            let ql0 = load256(p + 64 &* h), ql1 = load256(p + (64 &* h &+ 32)), qh = load256(p + (128 &+ 32 &* h))
            for i in 0..<4 {
                let q = q6KValues(ql0, ql1, qh, i), scale = q6KScalePair(evenOdd, 4 &* h &+ i)
                let q2 = __m512i(lowHalf: q, highHalf: q), scale2 = __m512i(lowHalf: scale, highHalf: scale)
                for m in 0..<4 {
                    let a = _mm512_loadu_si512(prep + (256 &* (4 &* h &+ i) &+ 64 &* m))
                    let products = _mm512_maddubs_epi16(q2, a)
                    if i & 1 == 0 {
                        even[m] = _mm512_mask_dpwssd_epi32(even[m], 0xFFFF, products, scale2)
                    } else {
                        odd[m] = _mm512_mask_dpwssd_epi32(odd[m], 0xFFFF, products, scale2)
                    }
                }
            }
        }
        for m in 0..<4 {
            let total = _mm512_add_epi32(even[m], odd[m])
            sumi[2 &* m] = total.lowHalf
            sumi[2 &* m &+ 1] = total.highHalf
        }
        #else
        for h in 0..<2 {
            let ql0 = load256(p + 64 &* h), ql1 = load256(p + (64 &* h &+ 32)), qh = load256(p + (128 &+ 32 &* h))
            // `sumi` passed inout: captured by the nested function it would be checked at run time.
            @inline(__always) func accumulate(_ q: __m256i, _ i: Int, _ sumi: inout InlineArray<8, __m256i>) {
                let scale = q6KScalePair(evenOdd, 4 &* h &+ i)
                for k in 0..<8 {
                    let a = load256(prep + (256 &* (4 &* h &+ i) &+ 32 &* k))
                    sumi[k] = addingPairProducts(sumi[k], _mm256_maddubs_epi16(q, a), scale)
                }
            }
            for i in 0..<4 { accumulate(q6KValues(ql0, ql1, qh, i), i, &sumi) }
        }
        #endif
        let scales16 = _mm256_cvtepi8_epi16(scaleBytes)
        for k in 0..<8 {
            let offsets = _mm256_slli_epi32(_mm256_madd_epi16(load256(prep + (2048 &+ 32 &* k)), scales16), 5)
            sumi[k] = _mm256_sub_epi32(sumi[k], offsets)
        }
        let total = _mm256_cvtepi32_ps(eightTotals(sumi))
        let da = _mm256_loadu_ps((prep + 2304).assumingMemoryBound(to: Float.self))
        sums = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(d), total), da, sums)
    }
    return sums
}

/// The lane totals of eight vectors as one vector (lane k: Σ of `v[k]`'s lanes): ``fourTotals`` of each
/// four side by side. The totals are exact integers, so the order of the additions does not change them.
@inline(__always) private func eightTotals(_ v: InlineArray<8, __m256i>) -> __m256i {
    let first = unsafeBitCast(fourTotals(v[0], v[1], v[2], v[3]), to: SIMD4<Int32>.self)
    let second = unsafeBitCast(fourTotals(v[4], v[5], v[6], v[7]), to: SIMD4<Int32>.self)
    return unsafeBitCast(SIMD8(lowHalf: first, highHalf: second), to: __m256i.self)
}
#endif
