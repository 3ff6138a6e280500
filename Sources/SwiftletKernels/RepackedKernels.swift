// The AVX2 kernels over repacked Q4_0, Q5_0 and Q8_0 (RepackedRows.swift): eight rows × up to four tokens per pass.
#if SWIFTLET_AVX2 && arch(x86_64)
import _Builtin_intrinsics.intel

/// Dot products of one eight-row group of repacked Q4_0 or Q5_0 (`fiveBit`) weights with `T` (1…4)
/// tokens' Q8_0 activations: token k's values at `qs + k·columns`, its block scales at `ad + k·blocks`
/// and its per-block Σa at `isum + k·blocks`; row r's sum for token k goes to `y[k·ldy + r]`.
///
/// Per block, each row's Σq·a is exact in 16-bit lanes: a lane sums sixteen products of Q4_0's nibbles
/// (0…15) or eight of Q5_0's values (nibble + 16·fifth bit, 0…31) with activations within ±127, under
/// 2¹⁵, so the lanes are widened once per block for Q4_0 and twice for Q5_0. Then
/// Σ(q − offset)·a = Σq·a − offset·Σa (offset 8 or 16), and one fma per token adds it times d·da. A
/// row's sum is formed the same way for any T, so prompts and decoding agree bit for bit.
@inline(__always)
func avx2Repacked8(fiveBit: Bool, _ group: UnsafeRawPointer, blocks: Int, tokens T: Int, _ qs: UnsafePointer<Int8>,
                   _ ad: UnsafePointer<Float>, _ isum: UnsafePointer<Int32>, columns: Int, _ y: UnsafeMutablePointer<Float>, ldy: Int) {
    let low = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1), sixteen = _mm256_set1_epi8(16)
    let bytesPerGroupBlock = fiveBit ? 192 : 160, offset: Int32 = fiveBit ? 16 : 8
    let slicesPerWidening = fiveBit ? 2 : 4
    var acc = InlineArray<4, __m256>(repeating: _mm256_setzero_ps())
    for b in 0..<blocks {
        let p = group + b &* bytesPerGroupBlock
        let qh = fiveBit ? load256(p + 160) : _mm256_setzero_si256()
        var sums = InlineArray<4, __m256i>(repeating: _mm256_setzero_si256())
        for part in 0..<(4 / slicesPerWidening) {
            var pairs = InlineArray<4, __m256i>(repeating: _mm256_setzero_si256())
            for jj in 0..<slicesPerWidening {
                let j = part &* slicesPerWidening &+ jj
                let w = load256(p + (32 &+ 32 &* j))
                var lo = _mm256_and_si256(w, low), hi = _mm256_and_si256(_mm256_srli_epi16(w, 4), low)
                if fiveBit {
                    // The fifth bits, placed by RepackedRows.reorderHighBits so that a shift brings them to bit 4.
                    lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_srlv_epi32(qh, _mm256_set1_epi32(Int32(j))), sixteen))
                    hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_sllv_epi32(qh, _mm256_set1_epi32(Int32(j &+ 1))), sixteen))
                }
                for k in 0..<T {
                    let a = UnsafeRawPointer(qs + (k &* columns &+ b &* 32))
                    let al = _mm256_set1_epi32(a.loadUnaligned(fromByteOffset: 4 &* j, as: Int32.self))
                    let ah = _mm256_set1_epi32(a.loadUnaligned(fromByteOffset: 16 &+ 4 &* j, as: Int32.self))
                    pairs[k] = _mm256_add_epi16(pairs[k], _mm256_add_epi16(_mm256_maddubs_epi16(lo, al), _mm256_maddubs_epi16(hi, ah)))
                }
            }
            for k in 0..<T { sums[k] = _mm256_add_epi32(sums[k], _mm256_madd_epi16(pairs[k], ones)) }
        }
        let scales = _mm256_loadu_ps(p.assumingMemoryBound(to: Float.self))
        for k in 0..<T {
            let i = k &* blocks &+ b
            let dot = _mm256_sub_epi32(sums[k], _mm256_set1_epi32(offset &* isum[i]))
            acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(scales, _mm256_set1_ps(ad[i])), acc[k])
        }
    }
    for k in 0..<T { _mm256_storeu_ps(y + k &* ldy, acc[k]) }
}

/// Dot products of one eight-row group of repacked Q8_0 weights with `T` (1…4) tokens' Q8_0
/// activations (laid out as for ``avx2Repacked8(fiveBit:_:blocks:tokens:_:_:_:columns:_:ldy:)``).
///
/// vpmaddubsw wants one operand unsigned, so each slice's weights lose their signs (|w|, shared by the
/// tokens) and the broadcast activations take them on (sign(a, w)). A 16-bit lane then holds two
/// products within ±2·127·128, so each slice is widened to 32 bits (vpmaddwd) before it is added: a
/// block's eight row sums are exact integers, and one fma per token adds them times d·da. The sum is
/// formed the same way for any T, so prompts and decoding agree bit for bit.
@inline(__always)
func avx2Repacked8Q8(_ group: UnsafeRawPointer, blocks: Int, tokens T: Int, _ qs: UnsafePointer<Int8>,
                     _ ad: UnsafePointer<Float>, columns: Int, _ y: UnsafeMutablePointer<Float>, ldy: Int) {
    let ones = _mm256_set1_epi16(1)
    var acc = InlineArray<4, __m256>(repeating: _mm256_setzero_ps())
    for b in 0..<blocks {
        let p = group + b &* 288
        var sums = InlineArray<4, __m256i>(repeating: _mm256_setzero_si256())
        for j in 0..<8 {
            let w = load256(p + (32 &+ 32 &* j))
            let magnitude = _mm256_sign_epi8(w, w)
            for k in 0..<T {
                let a = _mm256_set1_epi32(UnsafeRawPointer(qs + (k &* columns &+ b &* 32)).loadUnaligned(fromByteOffset: 4 &* j, as: Int32.self))
                sums[k] = _mm256_add_epi32(sums[k], _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(a, w)), ones))
            }
        }
        let scales = _mm256_loadu_ps(p.assumingMemoryBound(to: Float.self))
        for k in 0..<T {
            acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums[k]), _mm256_mul_ps(scales, _mm256_set1_ps(ad[k &* blocks &+ b])), acc[k])
        }
    }
    for k in 0..<T { _mm256_storeu_ps(y + k &* ldy, acc[k]) }
}

/// The repacked kernel for `packed`'s type, with the format and T (1…4) constants in each case.
func avx2Repacked8(_ packed: RepackedRows, group g: Int, tokens T: Int, _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>,
                   _ isum: UnsafePointer<Int32>, columns: Int, _ y: UnsafeMutablePointer<Float>, ldy: Int) {
    let group = UnsafeRawPointer(packed.group(g)), blocks = packed.blocks
    if packed.type == .q8_0 {
        switch T {
        case 1: avx2Repacked8Q8(group, blocks: blocks, tokens: 1, qs, ad, columns: columns, y, ldy: ldy)
        case 2: avx2Repacked8Q8(group, blocks: blocks, tokens: 2, qs, ad, columns: columns, y, ldy: ldy)
        case 3: avx2Repacked8Q8(group, blocks: blocks, tokens: 3, qs, ad, columns: columns, y, ldy: ldy)
        default: avx2Repacked8Q8(group, blocks: blocks, tokens: 4, qs, ad, columns: columns, y, ldy: ldy)
        }
        return
    }
    switch (packed.type == .q5_0, T) {
    case (false, 1): avx2Repacked8(fiveBit: false, group, blocks: blocks, tokens: 1, qs, ad, isum, columns: columns, y, ldy: ldy)
    case (false, 2): avx2Repacked8(fiveBit: false, group, blocks: blocks, tokens: 2, qs, ad, isum, columns: columns, y, ldy: ldy)
    case (false, 3): avx2Repacked8(fiveBit: false, group, blocks: blocks, tokens: 3, qs, ad, isum, columns: columns, y, ldy: ldy)
    case (false, _): avx2Repacked8(fiveBit: false, group, blocks: blocks, tokens: 4, qs, ad, isum, columns: columns, y, ldy: ldy)
    case (true, 1): avx2Repacked8(fiveBit: true, group, blocks: blocks, tokens: 1, qs, ad, isum, columns: columns, y, ldy: ldy)
    case (true, 2): avx2Repacked8(fiveBit: true, group, blocks: blocks, tokens: 2, qs, ad, isum, columns: columns, y, ldy: ldy)
    case (true, 3): avx2Repacked8(fiveBit: true, group, blocks: blocks, tokens: 3, qs, ad, isum, columns: columns, y, ldy: ldy)
    case (true, _): avx2Repacked8(fiveBit: true, group, blocks: blocks, tokens: 4, qs, ad, isum, columns: columns, y, ldy: ldy)
    }
}
#endif
