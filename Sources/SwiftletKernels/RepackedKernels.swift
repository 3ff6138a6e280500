// The AVX2 kernel over repacked Q4_0 (RepackedRows.swift): eight rows × up to four tokens per pass.
#if SWIFTLET_AVX2 && arch(x86_64)
import _Builtin_intrinsics.intel

/// Dot products of one eight-row group of repacked Q4_0 weights with `T` (1…4) tokens' Q8_0
/// activations: token k's values at `qs + k·columns`, its block scales at `ad + k·blocks` and its
/// per-block Σa at `isum + k·blocks`; row r's sum for token k goes to `y[k·ldy + r]`.
///
/// Per block, each row's Σq·a is exact in 16-bit lanes: a lane sums sixteen products of nibbles (0…15)
/// with activations within ±127, under 2¹⁵, so the lanes are widened once per block. Then
/// Σ(q − 8)·a = Σq·a − 8·Σa, and one fma per token adds it times d·da, as ggml's repacked Q4_0 GEMM
/// and GEMV do. A row's sum is formed the same way for any T, so prompts and decoding agree bit for bit.
/// With VNNI (`vpdpbusd`, ``quadSums(_:_:adding:)``) the same integers come without the 16-bit step.
@inline(__always)
func avx2Repacked8(_ group: UnsafeRawPointer, blocks: Int, tokens T: Int, _ qs: UnsafePointer<Int8>,
                   _ ad: UnsafePointer<Float>, _ isum: UnsafePointer<Int32>, columns: Int, _ y: UnsafeMutablePointer<Float>, ldy: Int) {
    let low = _mm256_set1_epi8(0x0F)
    var acc = InlineArray<4, __m256>(repeating: _mm256_setzero_ps())
    for b in 0..<blocks {
        let p = group + b &* RepackedRows.bytesPerGroupBlock
        #if SWIFTLET_AVX512
        // VNNI: sums of four straight into 32-bit lanes, starting from −8·Σa (the same integers), in two
        // chains per token (low and high nibbles), so that the vpdpbusd of a chain do not wait on each other
        // all the way through the block.
        var lows = InlineArray<4, __m256i>(repeating: _mm256_setzero_si256()), highs = lows
        for k in 0..<T { lows[k] = _mm256_set1_epi32(-8 &* isum[k &* blocks &+ b]) }
        #else
        var pairs = InlineArray<4, __m256i>(repeating: _mm256_setzero_si256())
        #endif
        for j in 0..<4 {
            let w = load256(p + (32 &+ 32 &* j))
            let lo = _mm256_and_si256(w, low), hi = _mm256_and_si256(_mm256_srli_epi16(w, 4), low)
            for k in 0..<T {
                let a = UnsafeRawPointer(qs + (k &* columns &+ b &* 32))
                let al = _mm256_set1_epi32(a.loadUnaligned(fromByteOffset: 4 &* j, as: Int32.self))
                let ah = _mm256_set1_epi32(a.loadUnaligned(fromByteOffset: 16 &+ 4 &* j, as: Int32.self))
                #if SWIFTLET_AVX512
                lows[k] = quadSums(lo, al, adding: lows[k])
                highs[k] = quadSums(hi, ah, adding: highs[k])
                #else
                pairs[k] = _mm256_add_epi16(pairs[k], _mm256_add_epi16(_mm256_maddubs_epi16(lo, al), _mm256_maddubs_epi16(hi, ah)))
                #endif
            }
        }
        let scales = _mm256_loadu_ps(p.assumingMemoryBound(to: Float.self))
        for k in 0..<T {
            let i = k &* blocks &+ b
            #if SWIFTLET_AVX512
            let dot = _mm256_add_epi32(lows[k], highs[k])
            #else
            let dot = _mm256_sub_epi32(_mm256_madd_epi16(pairs[k], _mm256_set1_epi16(1)),
                                       _mm256_set1_epi32(8 &* isum[i]))
            #endif
            acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(scales, _mm256_set1_ps(ad[i])), acc[k])
        }
    }
    for k in 0..<T { _mm256_storeu_ps(y + k &* ldy, acc[k]) }
}

/// The repacked kernel for one group of `packed`, with T (1…4) a constant in each case.
func avx2Repacked8(_ packed: RepackedRows, group g: Int, tokens T: Int, _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>,
                   _ isum: UnsafePointer<Int32>, columns: Int, _ y: UnsafeMutablePointer<Float>, ldy: Int) {
    let group = UnsafeRawPointer(packed.group(g)), blocks = packed.blocks
    switch T {
    case 1: avx2Repacked8(group, blocks: blocks, tokens: 1, qs, ad, isum, columns: columns, y, ldy: ldy)
    case 2: avx2Repacked8(group, blocks: blocks, tokens: 2, qs, ad, isum, columns: columns, y, ldy: ldy)
    case 3: avx2Repacked8(group, blocks: blocks, tokens: 3, qs, ad, isum, columns: columns, y, ldy: ldy)
    default: avx2Repacked8(group, blocks: blocks, tokens: 4, qs, ad, isum, columns: columns, y, ldy: ldy)
    }
}
#endif
