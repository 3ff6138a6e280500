// Q4_K matrix products over batches of tokens in the order of ggml's repacked Q4_K GEMM on AVX2
// (`ggml_gemm_q4_K_8x8_q8_K`, which llama.cpp's AVX2 build runs for every Q4_K matrix whose rows come in
// eights), four rows by four tokens at a time from a block of rows interleaved in the cache; and in the
// order of its GEMV for decoding. Compiled with the other AVX2 kernels (AVX2Dot.swift).
#if SWIFTLET_AVX2 && arch(x86_64)
import _Builtin_intrinsics.intel
import SwiftletGGUF

/// Bytes of prepared activation data per group of four tokens and super-block: for each sub-block pair g
/// the four tokens' two sub-block sums Σa as Int16 (16 bytes, token-major), then the tokens' four scales.
private let preparedBytesPerBlock = 80

/// Bytes of one four-row tile's super-block in the interleaved copy a batched product works from: for
/// each sub-block pair g and each eight-byte chunk c of its 32 bytes of nibbles, the four rows' chunk c
/// side by side (32 bytes at 128g + 32c); then the rows' eight scales and eight mins as bytes (rows 0
/// and 1 in the low half, 2 and 3 in the high), and d and dmin as floats in the order of the float
/// lanes (row 0, 1, 0, 1, 2, 3, 2, 3).
private let tileBytesPerBlock = 640

/// Rows `0..<rows` of a Q4_K matrix whose rows come in eights (the first at `w`, `rowBytes` apart) ·
/// `tokens` tokens' Q8_K activations, to `y[k·ldy + i]`, in the order of ggml's repacked GEMM for whole
/// groups of four tokens and of its GEMV (``avx2RowsQ4_KGEMV(rows:tokens:_:rowBytes:_:_:_:columns:_:ldy:)``)
/// for the rest. Every output is: per pair of sub-blocks, its exact integer sum Σ scale·Σq·a
/// fused into a running sum times d·da, and the pair's Σ min·Σa into a second running sum times dmin·da;
/// the second subtracted at the end.
///
/// Like ggml's `block_q4_Kx8`, the kernel multiplies several rows' nibbles in one register against one
/// token's eight activations broadcast, which lets it add the products of a whole sub-block in 16-bit
/// lanes before the one multiply by their scales (two integer multiplies per 32 products and token
/// become one and a quarter). ggml repacks every such matrix into an interleaved copy when it loads the
/// model; this kernel interleaves one block of rows at a time into a buffer that stays in the L2 cache
/// while every group of tokens passes over it, so the weights are not held twice.
///
/// `perSuperBlock`: every token in the GEMV's order instead (ggml's `mul_mat_id` on these weights: one
/// fused multiply-add per super-block, not per pair), from the same tiles: the pairs' exact integer sums
/// are added before the one conversion to float.
func avx2RowsQ4_KRepacked(rows: Int, tokens: Int, _ w: UnsafeRawPointer, rowBytes: Int, _ qs: UnsafePointer<Int8>,
                          _ ad: UnsafePointer<Float>, _ bsums: UnsafePointer<Int32>, columns: Int,
                          _ y: UnsafeMutablePointer<Float>, ldy: Int, perSuperBlock: Bool = false) {
    let blocks = columns / 256, groups = tokens / 4, sumsPerToken = columns / 16
    guard groups > 0, rows > 0, blocks > 0 else {
        // Decoding (and batches under four tokens): the GEMV over the whole run of rows.
        avx2RowsQ4_KGEMV(rows: rows, tokens: tokens, w, rowBytes: rowBytes, qs, ad, bsums, columns: columns, y,
                         ldy: ldy)
        return
    }
    let groupBytes = blocks * preparedBytesPerBlock, tileBytes = blocks * tileBytesPerBlock
    // Tiles in blocks of about 160 KiB of interleaved weights (L2 holds them, the activations and the
    // outputs); a group's activations (8 KiB at 2048 values) stay in L1 while it meets every tile.
    let tiles = (rows + 3) / 4, tilesPerBlock = min(tiles, max(1, 160 * 1024 / tileBytes))
    let copy = UnsafeMutableRawPointer.allocate(byteCount: tilesPerBlock * tileBytes, alignment: 64)
    defer { copy.deallocate() }
    withUnsafeTemporaryAllocation(byteCount: groups * groupBytes, alignment: 16) { buffer in
        let prepared = buffer.baseAddress!
        // The activations' side of the mins' sums and the scales, once for every row: sub-block j's sum
        // is the sum of its two per-16 sums (at most 32·127 in magnitude).
        forEachPreparedBlock(prepared, groups: groups, perGroup: 4, blocks: blocks,
                             bytesPerBlock: preparedBytesPerBlock) { dst, t, b, k in
            // Word g of the sub-block sums holds sub-blocks 2g and 2g + 1.
            let pairs = unsafeBitCast(subBlockSums(bsums + (t &* sumsPerToken &+ b &* 16)), to: SIMD4<Int32>.self)
            for g in 0..<4 { (dst + (16 &* g &+ 4 &* k)).storeBytes(of: pairs[g], as: Int32.self) }
            dst.storeBytes(of: ad[t &* blocks &+ b], toByteOffset: 64 &+ 4 &* k, as: Float.self)
        }
        for firstTile in stride(from: 0, to: tiles, by: tilesPerBlock) {
            let blockTiles = min(tiles, firstTile + tilesPerBlock) - firstTile
            for i in 0..<blockTiles {
                let r = 4 &* (firstTile &+ i)
                interleaveQ4_KTile(w + r &* rowBytes, rowBytes: rowBytes, rows: min(4, rows - r), blocks: blocks,
                                   into: copy + i &* tileBytes)
            }
            // Specialized once for each order (the flag is a literal at each call).
            @inline(__always) func pass(perSuperBlock: Bool) {
                for group in 0..<groups {
                    for i in 0..<blockTiles {
                        let r = 4 &* (firstTile &+ i)
                        q4KTileFourTokens(copy + i &* tileBytes, blocks: blocks, qs + 4 &* group &* columns,
                                          prepared + group &* groupBytes, columns: columns,
                                          y + (4 &* group &* ldy &+ r), ldy: ldy, rows: min(4, rows - r),
                                          perSuperBlock: perSuperBlock)
                    }
                }
            }
            if perSuperBlock { pass(perSuperBlock: true) } else { pass(perSuperBlock: false) }
        }
    }
    let t = groups * 4
    if t < tokens {
        avx2RowsQ4_KGEMV(rows: rows, tokens: tokens - t, w, rowBytes: rowBytes, qs + t &* columns, ad + t &* blocks,
                         bsums + t &* sumsPerToken, columns: columns, y + t &* ldy, ldy: ldy)
    }
}

/// Writes the interleaved copy (``tileBytesPerBlock`` per super-block) of `n` (1…4) Q4_K rows, the first
/// at `w`, `rowBytes` apart; a tile of fewer than four rows repeats its last row.
@inline(__always)
private func interleaveQ4_KTile(_ w: UnsafeRawPointer, rowBytes: Int, rows n: Int, blocks: Int,
                                into dst: UnsafeMutableRawPointer) {
    let bpb = GGMLType.q4_K.bytesPerBlock
    let p0 = w, p1 = w + min(1, n - 1) &* rowBytes, p2 = w + min(2, n - 1) &* rowBytes, p3 = w + (n - 1) &* rowBytes
    for b in 0..<blocks {
        let q0 = p0 + b &* bpb, q1 = p1 + b &* bpb, q2 = p2 + b &* bpb, q3 = p3 + b &* bpb
        let out = dst + b &* tileBytesPerBlock
        @inline(__always) func store(_ offset: Int, _ v: __m256i) {
            _mm256_storeu_si256((out + offset).assumingMemoryBound(to: __m256i.self), v)
        }
        for g in 0..<4 {
            // A 4 × 4 transpose of eight-byte chunks: chunk c of rows 0…3 into one register.
            let o = 16 &+ 32 &* g
            let v0 = load256(q0 + o), v1 = load256(q1 + o), v2 = load256(q2 + o), v3 = load256(q3 + o)
            let even01 = _mm256_unpacklo_epi64(v0, v1), odd01 = _mm256_unpackhi_epi64(v0, v1)
            let even23 = _mm256_unpacklo_epi64(v2, v3), odd23 = _mm256_unpackhi_epi64(v2, v3)
            store(128 &* g, halves(even01, even23, high: false))
            store(128 &* g &+ 32, halves(odd01, odd23, high: false))
            store(128 &* g &+ 64, halves(even01, even23, high: true))
            store(128 &* g &+ 96, halves(odd01, odd23, high: true))
        }
        let headers = q4KFourHeaderBytes(q0, q1, q2, q3)
        let lanes = _mm256_setr_epi32(0, 1, 0, 1, 2, 3, 2, 3)
        store(512, headers.scales)
        store(544, headers.mins)
        _mm256_storeu_ps((out + 576).assumingMemoryBound(to: Float.self),
                         _mm256_permutevar8x32_ps(_mm256_castps128_ps256(headers.d), lanes))
        _mm256_storeu_ps((out + 608).assumingMemoryBound(to: Float.self),
                         _mm256_permutevar8x32_ps(_mm256_castps128_ps256(headers.dmin), lanes))
    }
}

/// One interleaved tile of four rows (``tileBytesPerBlock`` per super-block at `tile`) · one group of four
/// tokens (token k's values at `qs + k·columns`, the group's prepared sums at `prepared`), to
/// `y[k·ldy + r]` for the tile's first `n` rows. Per sub-block and token, four `vpmaddubsw` (the four
/// rows' chunks against the token's eight values broadcast) are added in 16-bit lanes (each at most
/// 4·2·15·128 in magnitude), then one `vpmaddwd` applies the rows' scales. The float steps run in two
/// registers of eight lanes, tokens 0 and 1 and tokens 2 and 3, each as rows 0, 1 of the first token, 0,
/// 1 of the second, then rows 2, 3 likewise. They run per pair of sub-blocks (the GEMM's order), or with
/// `perSuperBlock` once per super-block (the GEMV's), after the integer sums of the four pairs are added.
@inline(__always)
private func q4KTileFourTokens(_ tile: UnsafeRawPointer, blocks: Int, _ qs: UnsafePointer<Int8>,
                               _ prepared: UnsafeRawPointer, columns: Int, _ y: UnsafeMutablePointer<Float>, ldy: Int,
                               rows n: Int, perSuperBlock: Bool) {
    let low = _mm256_set1_epi8(0x0F)
    // Byte shuffles that give sub-block j's scale of each row in its four 16-bit words (plus j), and the
    // mins of sub-blocks 2g and 2g + 1 of the lane's row as two words (plus 2g).
    #if SWIFTLET_AVX512
    // With VNNI the sums come in 32-bit lanes (two per row): the scale as a 32-bit word.
    let scalePick = _mm256_setr_epi8(0, -128, -128, -128, 0, -128, -128, -128, 8, -128, -128, -128, 8, -128, -128, -128,
                                     0, -128, -128, -128, 0, -128, -128, -128, 8, -128, -128, -128, 8, -128, -128, -128)
    #else
    let scalePick = _mm256_setr_epi8(0, -128, 0, -128, 0, -128, 0, -128, 8, -128, 8, -128, 8, -128, 8, -128,
                                     0, -128, 0, -128, 0, -128, 0, -128, 8, -128, 8, -128, 8, -128, 8, -128)
    #endif
    let minPick = _mm256_setr_epi8(0, -128, 1, -128, 8, -128, 9, -128, 0, -128, 1, -128, 8, -128, 9, -128,
                                   0, -128, 1, -128, 8, -128, 9, -128, 0, -128, 1, -128, 8, -128, 9, -128)
    let one = _mm256_set1_epi8(1), two = _mm256_set1_epi8(2)
    let tokens01 = _mm256_setr_epi32(0, 0, 1, 1, 0, 0, 1, 1), tokens23 = _mm256_setr_epi32(2, 2, 3, 3, 2, 2, 3, 3)
    var whole01 = _mm256_setzero_ps(), whole23 = whole01, mins01 = whole01, mins23 = whole01
    for b in 0..<blocks {
        let t = tile + b &* tileBytesPerBlock, prep = prepared + b &* preparedBytesPerBlock
        let scaleBytes = load256(t + 512), minBytes = load256(t + 544)
        let d = _mm256_loadu_ps((t + 576).assumingMemoryBound(to: Float.self))
        let dmin = _mm256_loadu_ps((t + 608).assumingMemoryBound(to: Float.self))
        let da = _mm256_castps128_ps256(_mm_loadu_ps((prep + 64).assumingMemoryBound(to: Float.self)))
        let da01 = _mm256_permutevar8x32_ps(da, tokens01), da23 = _mm256_permutevar8x32_ps(da, tokens23)
        let dda01 = _mm256_mul_ps(d, da01), dda23 = _mm256_mul_ps(d, da23)
        let mda01 = _mm256_mul_ps(dmin, da01), mda23 = _mm256_mul_ps(dmin, da23)
        let a = qs + b &* 256
        var scaleIndex = scalePick
        var acc = InlineArray<4, __m256i>(repeating: _mm256_setzero_si256())
        for g in 0..<4 {
            if !perSuperBlock { acc = InlineArray(repeating: _mm256_setzero_si256()) }
            for h in 0..<2 {
                let scale = _mm256_shuffle_epi8(scaleBytes, scaleIndex)
                scaleIndex = _mm256_add_epi8(scaleIndex, one)
                var values = InlineArray<4, __m256i>(repeating: _mm256_setzero_si256())
                for c in 0..<4 {
                    let v = load256(t + (128 &* g &+ 32 &* c))
                    values[c] = _mm256_and_si256(h == 0 ? v : _mm256_srli_epi16(v, 4), low)
                }
                for k in 0..<4 {
                    let ak = UnsafeRawPointer(a + (k &* columns &+ 64 &* g &+ 32 &* h))
                    @inline(__always) func eight(_ c: Int) -> __m256i {
                        _mm256_set1_epi64x(ak.loadUnaligned(fromByteOffset: 8 &* c, as: Int64.self))
                    }
                    #if SWIFTLET_AVX512
                    // Four `vpdpbusd` add the sub-block's products in sums of four, then one multiply by
                    // the scales: the same integers as the pair sums below.
                    var sums = quadSums(values[0], eight(0))
                    for c in 1..<4 { sums = quadSums(values[c], eight(c), adding: sums) }
                    acc[k] = _mm256_add_epi32(acc[k], _mm256_mullo_epi32(sums, scale))
                    #else
                    @inline(__always) func product(_ c: Int) -> __m256i { _mm256_maddubs_epi16(values[c], eight(c)) }
                    let sums = _mm256_add_epi16(_mm256_add_epi16(product(0), product(1)),
                                                _mm256_add_epi16(product(2), product(3)))
                    acc[k] = addingPairProducts(acc[k], sums, scale)
                    #endif
                }
            }
            if !perSuperBlock || g == 3 {
                whole01 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_hadd_epi32(acc[0], acc[1])), dda01, whole01)
                whole23 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_hadd_epi32(acc[2], acc[3])), dda23, whole23)
            }
        }
        // The mins' running sums, in their own order of pairs (independent of the sums above).
        var minIndex = minPick
        var minSums01 = _mm256_setzero_si256(), minSums23 = minSums01
        for g in 0..<4 {
            let minPair = _mm256_shuffle_epi8(minBytes, minIndex)
            minIndex = _mm256_add_epi8(minIndex, two)
            let sums = _mm256_castsi128_si256(load128(prep + 16 &* g))
            @inline(__always) func minTotals(_ tokens: __m256i) -> __m256i {
                _mm256_madd_epi16(minPair, _mm256_permutevar8x32_epi32(sums, tokens))
            }
            if perSuperBlock {
                minSums01 = _mm256_add_epi32(minSums01, minTotals(tokens01))
                minSums23 = _mm256_add_epi32(minSums23, minTotals(tokens23))
            } else {
                mins01 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(minTotals(tokens01)), mda01, mins01)
                mins23 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(minTotals(tokens23)), mda23, mins23)
            }
        }
        if perSuperBlock {
            mins01 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(minSums01), mda01, mins01)
            mins23 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(minSums23), mda23, mins23)
        }
    }
    let result01 = unsafeBitCast(_mm256_sub_ps(whole01, mins01), to: SIMD8<Float>.self)
    let result23 = unsafeBitCast(_mm256_sub_ps(whole23, mins23), to: SIMD8<Float>.self)
    for lane in 0..<8 {
        let k = (lane >> 1) & 1, r = (lane & 1) | (lane >> 2) << 1
        guard r < n else { continue }
        y[k &* ldy &+ r] = result01[lane]
        y[(k &+ 2) &* ldy &+ r] = result23[lane]
    }
}

/// Sub-blocks 2g and 2g + 1 of the Q4_K super-block at `p`: their 64 values as the low (`lo`) and high
/// (`hi`) nibbles of one 32-byte load, and their scales (from `scales`, the eight scales as 16-bit words
/// in both halves) in every 16-bit lane, for `vpmaddwd` after `vpmaddubsw`.
@inline(__always) private func q4KSubBlockPair(_ p: UnsafeRawPointer, _ g: Int, _ scales: __m256i)
    -> (lo: __m256i, hi: __m256i, scaleLo: __m256i, scaleHi: __m256i) {
    let low = _mm256_set1_epi8(0x0F), v = load256(p + (16 &+ 32 &* g))
    // Scale 2g (and 2g + 1) in every lane of each half.
    return (_mm256_and_si256(v, low), _mm256_and_si256(_mm256_srli_epi16(v, 4), low),
            _mm256_shuffle_epi8(scales, _mm256_set1_epi16(wordPick(2 &* g))),
            _mm256_shuffle_epi8(scales, _mm256_set1_epi16(wordPick(2 &* g &+ 1))))
}

/// The lane totals of four vectors as four lanes (lane k: Σ of `tk`'s eight lanes): transposed by unpacks
/// and added, then the two halves.
@inline(__always) func fourTotals(_ t0: __m256i, _ t1: __m256i, _ t2: __m256i, _ t3: __m256i) -> __m128i {
    let s01 = _mm256_add_epi32(_mm256_unpacklo_epi32(t0, t1), _mm256_unpackhi_epi32(t0, t1))
    let s23 = _mm256_add_epi32(_mm256_unpacklo_epi32(t2, t3), _mm256_unpackhi_epi32(t2, t3))
    let h = _mm256_add_epi32(_mm256_unpacklo_epi64(s01, s23), _mm256_unpackhi_epi64(s01, s23))
    let halves = unsafeBitCast(h, to: SIMD8<Int32>.self)
    return unsafeBitCast(halves.lowHalf &+ halves.highHalf, to: __m128i.self)
}

/// The lane totals of four 4-lane vectors as four lanes, by the same unpacks.
@inline(__always) private func fourTotals(_ m0: __m128i, _ m1: __m128i, _ m2: __m128i, _ m3: __m128i) -> __m128i {
    let s01 = _mm_add_epi32(_mm_unpacklo_epi32(m0, m1), _mm_unpackhi_epi32(m0, m1))
    let s23 = _mm_add_epi32(_mm_unpacklo_epi32(m2, m3), _mm_unpackhi_epi32(m2, m3))
    return _mm_add_epi32(_mm_unpacklo_epi64(s01, s23), _mm_unpackhi_epi64(s01, s23))
}

/// Bytes of prepared activation data per group of four tokens and super-block for the GEMV order: the
/// four tokens' 256 values one after another, each token's eight sub-block sums Σa as Int16 (16 bytes),
/// the tokens' four scales, padding to a multiple of 32.
private let gemvBytesPerBlock = 1024 + 64 + 16 + 16

/// Rows `0..<rows` of a Q4_K matrix whose rows come in eights · `tokens` tokens' Q8_K activations, to
/// `y[k·ldy + i]`, every token in the order of ggml's repacked GEMV (`ggml_gemv_q4_K_8x8_q8_K`, which
/// its `mul_mat_id` runs for each token routed to an expert): per super-block, the exact integer sum
/// Σ scale·Σq·a fused into a running sum times d·da and Σ min·Σa into a second times dmin·da, the second
/// subtracted at the end. Four tokens per pass over a row, their float steps in four lanes; the tokens
/// after the last four by ``avx2RowsQ4_KGEMV(rows:tokens:_:rowBytes:_:_:_:columns:_:ldy:)``.
func avx2RowsQ4_KRepackedGEMV(rows: Int, tokens: Int, _ w: UnsafeRawPointer, rowBytes: Int, _ qs: UnsafePointer<Int8>,
                              _ ad: UnsafePointer<Float>, _ bsums: UnsafePointer<Int32>, columns: Int,
                              _ y: UnsafeMutablePointer<Float>, ldy: Int) {
    let blocks = columns / 256, groups = tokens / 4, sumsPerToken = columns / 16
    let groupBytes = blocks * gemvBytesPerBlock
    let rowsPerBlock = max(8, 256 * 1024 / max(1, rowBytes))
    withUnsafeTemporaryAllocation(byteCount: max(1, groups * groupBytes), alignment: 32) { buffer in
        let prepared = buffer.baseAddress!
        // The activations, their sub-block sums (each the sum of two per-16 sums) and their scales,
        // once for every row.
        forEachPreparedBlock(prepared, groups: groups, perGroup: 4, blocks: blocks,
                             bytesPerBlock: gemvBytesPerBlock) { dst, t, b, k in
            (dst + 256 &* k).copyMemory(from: qs + (t &* columns &+ b &* 256), byteCount: 256)
            _mm_storeu_si128((dst + (1024 &+ 16 &* k)).assumingMemoryBound(to: __m128i.self),
                             subBlockSums(bsums + (t &* sumsPerToken &+ b &* 16)))
            dst.storeBytes(of: ad[t &* blocks &+ b], toByteOffset: 1088 &+ 4 &* k, as: Float.self)
        }
        for rb in stride(from: 0, to: rows, by: rowsPerBlock) {
            for group in 0..<groups {
                let prep = prepared + group &* groupBytes
                for i in rb..<min(rows, rb + rowsPerBlock) {
                    let result = q4KRowFourGEMV(w + i &* rowBytes, blocks: blocks, prep)
                    for k in 0..<4 { y[(4 &* group &+ k) &* ldy &+ i] = result[k] }
                }
            }
        }
    }
    let t = groups * 4
    if t < tokens {
        avx2RowsQ4_KGEMV(rows: rows, tokens: tokens - t, w, rowBytes: rowBytes, qs + t &* columns, ad + t &* blocks,
                         bsums + t &* sumsPerToken, columns: columns, y + t &* ldy, ldy: ldy)
    }
}

/// One Q4_K row of `blocks` super-blocks · four tokens prepared at `prepared`, in the GEMV order, as
/// four lanes (lane k: token k).
@inline(__always)
private func q4KRowFourGEMV(_ w: UnsafeRawPointer, blocks: Int, _ prepared: UnsafeRawPointer) -> __m128 {
    var whole = _mm_setzero_ps(), mins = _mm_setzero_ps()
    for b in 0..<blocks {
        let p = w + b &* GGMLType.q4_K.bytesPerBlock, prep = prepared + b &* gemvBytesPerBlock
        let (scales128, minValues) = kScalesAndMins(p)
        let scales = _mm256_set_m128i(scales128, scales128)
        let dm = twoHalves(p)
        var sumi = InlineArray<4, __m256i>(repeating: _mm256_setzero_si256())
        for g in 0..<4 {
            let (lo, hi, scaleLo, scaleHi) = q4KSubBlockPair(p, g, scales)
            for k in 0..<4 {
                let a = prep + (256 &* k &+ 64 &* g)
                let even = addingPairProducts(sumi[k], _mm256_maddubs_epi16(lo, load256(a)), scaleLo)
                sumi[k] = addingPairProducts(even, _mm256_maddubs_epi16(hi, load256(a + 32)), scaleHi)
            }
        }
        let totals = fourTotals(sumi[0], sumi[1], sumi[2], sumi[3])
        @inline(__always) func minSums(_ k: Int) -> __m128i { _mm_madd_epi16(minValues, load128(prep + (1024 &+ 16 &* k))) }
        let minTotals = fourTotals(minSums(0), minSums(1), minSums(2), minSums(3))
        let da = _mm_loadu_ps((prep + 1088).assumingMemoryBound(to: Float.self))
        whole = _mm_fmadd_ps(_mm_cvtepi32_ps(totals), _mm_mul_ps(_mm_set1_ps(dm[0]), da), whole)
        mins = _mm_fmadd_ps(_mm_cvtepi32_ps(minTotals), _mm_mul_ps(_mm_set1_ps(dm[1]), da), mins)
    }
    return _mm_sub_ps(whole, mins)
}

/// Rows `0..<rows` of a Q4_K matrix whose rows come in eights · `tokens` tokens' Q8_K activations, to
/// `y[k·ldy + i]`, every token in the order of ggml's repacked GEMV (the decoding step): four rows per
/// pass, their float steps in four lanes, so that the activations are loaded and the lanes totalled once
/// for four rows, and the running sums of four rows wait on their fma latencies side by side. The four
/// rows are a quarter of the run apart: each of the four streams of weights then runs on through memory,
/// where neighbouring rows would make the prefetchers' streams jump at every step. Several tokens take
/// the rows in blocks of about 256 KiB, which stay in the core's L2 cache from one token to the next.
func avx2RowsQ4_KGEMV(rows: Int, tokens: Int, _ w: UnsafeRawPointer, rowBytes: Int, _ qs: UnsafePointer<Int8>,
                      _ ad: UnsafePointer<Float>, _ bsums: UnsafePointer<Int32>, columns: Int,
                      _ y: UnsafeMutablePointer<Float>, ldy: Int) {
    let blocks = columns / 256, sumsPerToken = columns / 16
    guard rows > 0 else { return }
    withUnsafeTemporaryAllocation(byteCount: max(1, tokens * blocks * 16), alignment: 16) { buffer in
        // Each sub-block's Σa (the sum of its two per-16 sums), as eight Int16 per super-block.
        let pairSums = buffer.baseAddress!
        for t in 0..<tokens {
            for b in 0..<blocks {
                _mm_storeu_si128((pairSums + 16 &* (t &* blocks &+ b)).assumingMemoryBound(to: __m128i.self),
                                 subBlockSums(bsums + (t &* sumsPerToken &+ b &* 16)))
            }
        }
        let rowsPerBlock = tokens == 1 ? rows : max(8, 256 * 1024 / max(1, rowBytes))
        for rb in stride(from: 0, to: rows, by: rowsPerBlock) {
            let n = min(rows, rb + rowsPerBlock) - rb, quarter = n / 4, wb = w + rb &* rowBytes
            for t in 0..<tokens {
                let a = qs + t &* columns, da = ad + t &* blocks, yt = y + (t &* ldy &+ rb)
                for i in 0..<quarter {
                    let result = q4KFourRowsGEMV(wb + i &* rowBytes, quarter &* rowBytes, blocks: blocks, a, da,
                                                 pairSums + 16 &* t &* blocks)
                    for r in 0..<4 { yt[i &+ r &* quarter] = result[r] }
                }
                for i in (4 &* quarter)..<n {
                    avx2RowNibblesK(Q4_KBlocks.self, wb + i &* rowBytes, tokens: 1, a, da, bsums + t &* sumsPerToken,
                                    columns: columns, yt + i, ldy: 1, order: .repacked)
                }
            }
        }
    }
}

/// Q4_K rows at `w + r·stride` (r < 4) · one token, in the GEMV order, as four lanes (lane r: row r): per
/// super-block, each row's exact integer sums (Σ scale·Σq·a and Σ min·Σa) transposed into lanes, then
/// fused into the running sums times d·da and dmin·da as the one-row kernel does for its row.
@inline(__always)
private func q4KFourRowsGEMV(_ w: UnsafeRawPointer, _ stride: Int, blocks: Int, _ qs: UnsafePointer<Int8>,
                             _ ad: UnsafePointer<Float>, _ pairSums: UnsafeRawPointer) -> SIMD4<Float> {
    var whole = _mm_setzero_ps(), mins = _mm_setzero_ps()
    let bpb = GGMLType.q4_K.bytesPerBlock
    for b in 0..<blocks {
        let p0 = w + b &* bpb, p1 = p0 + stride, p2 = p1 + stride, p3 = p2 + stride
        for r in 0..<4 { for l in 0..<3 { prefetch(p0 + (r &* stride &+ decodePrefetchDistance &+ 64 &* l)) } }
        let (scales, minValues, d, dmin) = q4KFourHeaders(p0, p1, p2, p3)
        var sumi = InlineArray<4, __m256i>(repeating: _mm256_setzero_si256())
        let a = qs + b &* 256
        #if SWIFTLET_AVX512
        // Rows 0, 1 and rows 2, 3 in the halves of two 16-lane registers, each half doing what an
        // eight-lane register does for its row; low and high nibbles in separate chains (so that the
        // vpdpwssd wait less on each other), added at the end: the same integers.
        let low = _mm512_set1_epi8(0x0F)
        let rowScales: InlineArray<2, __m512i> = [__m512i(lowHalf: scales[0], highHalf: scales[1]),
                                                  __m512i(lowHalf: scales[2], highHalf: scales[3])]
        var lows = InlineArray<2, __m512i>(repeating: _mm512_setzero_si512()), highs = lows
        for g in 0..<4 {
            let a0 = load256(a + 64 &* g), a1 = load256(a + (64 &* g &+ 32))
            let a0x2 = __m512i(lowHalf: a0, highHalf: a0), a1x2 = __m512i(lowHalf: a1, highHalf: a1)
            // Scale 2g (and 2g + 1) in every lane of each 128-bit lane.
            let pickLo = _mm512_set1_epi16(wordPick(2 &* g)), pickHi = _mm512_set1_epi16(wordPick(2 &* g &+ 1))
            for pair in 0..<2 {
                let row = p0 + (2 &* pair &* stride &+ 16 &+ 32 &* g)
                let v = __m512i(lowHalf: load256(row), highHalf: load256(row + stride))
                let lo = _mm512_and_si512(v, low), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low)
                lows[pair] = _mm512_mask_dpwssd_epi32(lows[pair], 0xFFFF, _mm512_maddubs_epi16(lo, a0x2),
                                                      _mm512_shuffle_epi8(rowScales[pair], pickLo))
                highs[pair] = _mm512_mask_dpwssd_epi32(highs[pair], 0xFFFF, _mm512_maddubs_epi16(hi, a1x2),
                                                       _mm512_shuffle_epi8(rowScales[pair], pickHi))
            }
        }
        for pair in 0..<2 {
            let total = _mm512_add_epi32(lows[pair], highs[pair])
            sumi[2 &* pair] = total.lowHalf
            sumi[2 &* pair &+ 1] = total.highHalf
        }
        #else
        for g in 0..<4 {
            let a0 = load256(a + 64 &* g), a1 = load256(a + (64 &* g &+ 32))
            for r in 0..<4 {
                let (lo, hi, scaleLo, scaleHi) = q4KSubBlockPair(p0 + r &* stride, g, scales[r])
                let even = addingPairProducts(sumi[r], _mm256_maddubs_epi16(lo, a0), scaleLo)
                sumi[r] = addingPairProducts(even, _mm256_maddubs_epi16(hi, a1), scaleHi)
            }
        }
        #endif
        let pairs = load128(pairSums + 16 &* b)
        let minTotals = fourTotals(_mm_madd_epi16(minValues[0], pairs), _mm_madd_epi16(minValues[1], pairs),
                                   _mm_madd_epi16(minValues[2], pairs), _mm_madd_epi16(minValues[3], pairs))
        let da = _mm_set1_ps(ad[b])
        whole = _mm_fmadd_ps(_mm_cvtepi32_ps(fourTotals(sumi[0], sumi[1], sumi[2], sumi[3])), _mm_mul_ps(d, da), whole)
        mins = _mm_fmadd_ps(_mm_cvtepi32_ps(minTotals), _mm_mul_ps(dmin, da), mins)
    }
    return unsafeBitCast(_mm_sub_ps(whole, mins), to: SIMD4<Float>.self)
}

/// The first 16 bytes of four Q4_K super-blocks (d, dmin, and the packed 6-bit scales and mins), unpacked
/// for all four at once (the bit layout of ``kScalesAndMins(_:)``): each row's eight scales as 16-bit
/// words in both halves (lane r: row r), its eight mins as 16-bit words, and the rows' d and dmin as four
/// lanes each. (Unpacked row by row, in scalar code, these steps took about a quarter of the GEMV's
/// instructions.)
@inline(__always)
private func q4KFourHeaders(_ p0: UnsafeRawPointer, _ p1: UnsafeRawPointer, _ p2: UnsafeRawPointer,
                            _ p3: UnsafeRawPointer)
    -> (scales: InlineArray<4, __m256i>, mins: InlineArray<4, __m128i>, d: __m128, dmin: __m128) {
    let bytes = q4KFourHeaderBytes(p0, p1, p2, p3)
    let s01 = _mm256_cvtepu8_epi16(_mm256_castsi256_si128(bytes.scales))
    let s23 = _mm256_cvtepu8_epi16(highHalf(bytes.scales))
    let first = _mm256_setr_epi32(0, 1, 2, 3, 0, 1, 2, 3), second = _mm256_setr_epi32(4, 5, 6, 7, 4, 5, 6, 7)
    let m01 = _mm256_castsi256_si128(bytes.mins), m23 = highHalf(bytes.mins)
    return ([_mm256_permutevar8x32_epi32(s01, first), _mm256_permutevar8x32_epi32(s01, second),
             _mm256_permutevar8x32_epi32(s23, first), _mm256_permutevar8x32_epi32(s23, second)],
            [_mm_cvtepu8_epi16(m01), _mm_cvtepu8_epi16(_mm_unpackhi_epi64(m01, m01)),
             _mm_cvtepu8_epi16(m23), _mm_cvtepu8_epi16(_mm_unpackhi_epi64(m23, m23))],
            bytes.d, bytes.dmin)
}

/// The headers of four Q4_K super-blocks as bytes: the eight 6-bit scales of rows 0 and 1 (row 0's first)
/// in the low half of `scales` and of rows 2 and 3 in the high half, the mins likewise, and the rows' d
/// and dmin as four lanes each.
@inline(__always)
private func q4KFourHeaderBytes(_ p0: UnsafeRawPointer, _ p1: UnsafeRawPointer, _ p2: UnsafeRawPointer,
                                _ p3: UnsafeRawPointer) -> (scales: __m256i, mins: __m256i, d: __m128, dmin: __m128) {
    // Transposed: words[j] holds word j (bytes 4j…4j + 3) of each row.
    let h0 = load128(p0), h1 = load128(p1), h2 = load128(p2), h3 = load128(p3)
    let lo01 = _mm_unpacklo_epi32(h0, h1), lo23 = _mm_unpacklo_epi32(h2, h3)
    let hi01 = _mm_unpackhi_epi32(h0, h1), hi23 = _mm_unpackhi_epi32(h2, h3)
    let dms = _mm_unpacklo_epi64(lo01, lo23), u0 = _mm_unpackhi_epi64(lo01, lo23)
    let u1 = _mm_unpacklo_epi64(hi01, hi23), u2 = _mm_unpackhi_epi64(hi01, hi23)
    let six = _mm_set1_epi8(0x3F), nibble = _mm_set1_epi8(0x0F), two = _mm_set1_epi8(0x03)
    let scalesLow = _mm_and_si128(u0, six)
    let scalesHigh = _mm_or_si128(_mm_and_si128(u2, nibble),
                                  _mm_slli_epi32(_mm_and_si128(_mm_srli_epi32(u0, 6), two), 4))
    let minsLow = _mm_and_si128(u1, six)
    let minsHigh = _mm_or_si128(_mm_and_si128(_mm_srli_epi32(u2, 4), nibble),
                                _mm_slli_epi32(_mm_and_si128(_mm_srli_epi32(u1, 6), two), 4))
    // Row r's eight scale (min) bytes are lane r of the low and the high words, side by side.
    let dm = _mm256_permutevar8x32_ps(_mm256_cvtph_ps(dms), _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7))
    return (_mm256_set_m128i(_mm_unpackhi_epi32(scalesLow, scalesHigh), _mm_unpacklo_epi32(scalesLow, scalesHigh)),
            _mm256_set_m128i(_mm_unpackhi_epi32(minsLow, minsHigh), _mm_unpacklo_epi32(minsLow, minsHigh)),
            dm.lowHalf, dm.highHalf)
}

/// The low (`high` false) or high halves of `a` and `b`, as one register (`vperm2i128`).
@inline(__always) private func halves(_ a: __m256i, _ b: __m256i, high: Bool) -> __m256i {
    high ? SIMD4(lowHalf: a.highHalf, highHalf: b.highHalf) : SIMD4(lowHalf: a.lowHalf, highHalf: b.lowHalf)
}

@inline(__always) private func highHalf(_ v: __m256i) -> __m128i { v.highHalf }
#endif
