// Prompt products on AVX-512 builds in the AVX2 build's order: each 16-lane register carries two rows'
// eight-lane sums side by side, so every lane sees the operations it would see in an eight-lane register
// (the same bits) in half the instructions. F16 and F32 weights (tinyBLAS's order) and the 32-value block
// formats (ggml's vec_dot order). Compiled only into the AVX-512 build (Docs/CPUFeatures.md); every other
// build takes the AVX2 tiles (AVX2Dot.swift).
#if SWIFTLET_AVX2 && SWIFTLET_AVX512 && arch(x86_64)
import _Builtin_intrinsics.intel

/// Rows `0..<rows` (a multiple of eight) of F16 (`halfWeights`) or F32 weights · `tokens` tokens'
/// activations (F16-rounded for F16 weights; token k's at `x + k·columns`), to `y[k·ldy + i]`, each sum
/// as ``avx2RowsFloat`` forms it: one eight-lane fma chain over the columns in steps of eight, the lanes
/// added as tinyBLAS's `hsum(__m256)`.
///
/// Why two rows per register: one 16-lane fma advances two such chains at once (rows 2p and 2p + 1 of a
/// token, in its low and high halves), so each chain sees the same fused multiply-adds in the same order
/// as in an eight-lane register, and each sum keeps its bits; a CPU with full-width 512-bit units runs
/// twice the chains per cycle. llama.cpp's native AVX-512 build instead runs sixteen-lane chains
/// (`tinyBLAS<16, __m512>`), which add the columns in another order. Tiles of 8 rows × 6 tokens take 24
/// accumulators, four row pairs and one token's values: 29 of the 32 registers.
/// `columns` must be a multiple of 8.
func avx512RowPairsFloat(rows: Int, tokens: Int, _ w: UnsafeRawPointer, rowBytes: Int, halfWeights: Bool,
                         _ x: UnsafePointer<Float>, columns: Int, _ y: UnsafeMutablePointer<Float>, ldy: Int) {
    @inline(__always) func tile(_ r0: Int, _ t0: Int, tokens T: Int) {
        var acc = InlineArray<24, SIMD16<Float>>(repeating: SIMD16())
        let row = w + r0 &* rowBytes
        // Rows 2p and 2p + 1's eight values at column l, in the low and high halves.
        @inline(__always) func rowPair(_ p: Int, _ l: Int) -> SIMD16<Float> {
            let low = row + 2 &* p &* rowBytes, high = low + rowBytes
            if halfWeights {
                return _mm512_cvtph_ps(_mm256_set_m128i(load128(high + 2 &* l), load128(low + 2 &* l)))
            }
            return SIMD16(lowHalf: low.loadUnaligned(fromByteOffset: 4 &* l, as: SIMD8<Float>.self),
                          highHalf: high.loadUnaligned(fromByteOffset: 4 &* l, as: SIMD8<Float>.self))
        }
        let xt = x + t0 &* columns
        var l = 0
        while l < columns {
            var wv = InlineArray<4, SIMD16<Float>>(repeating: SIMD16())
            for p in 0..<4 { wv[p] = rowPair(p, l) }
            for k in 0..<T {
                let x8 = _mm256_loadu_ps(xt + (k &* columns &+ l))
                let xv = SIMD16(lowHalf: x8, highHalf: x8)
                for p in 0..<4 { acc[p &* T &+ k] = _mm512_fmadd_ps(wv[p], xv, acc[p &* T &+ k]) }
            }
            l &+= 8
        }
        for p in 0..<4 {
            for k in 0..<T {
                let out = y + ((t0 &+ k) &* ldy &+ r0 &+ 2 &* p)
                out[0] = horizontalSum(acc[p &* T &+ k].lowHalf)
                out[1] = horizontalSum(acc[p &* T &+ k].highHalf)
            }
        }
    }
    // Tokens in blocks of 24 (their activations stay in the L2 cache while every group of eight rows
    // passes over them), then the rows of a group (in L1) against each tile of the block's tokens.
    for tb in stride(from: 0, to: tokens, by: 24) {
        let tEnd = min(tokens, tb + 24)
        for r in stride(from: 0, to: rows, by: 8) {
            var t = tb
            while t + 6 <= tEnd { tile(r, t, tokens: 6); t += 6 }
            while t < tEnd { tile(r, t, tokens: 1); t += 1 }
        }
    }
}

/// ``avx2Tile32`` on AVX-512 builds: rows 0 and 1 (`rowBytes` apart) · four tokens, the same sums in
/// the same order, each token's two rows in the halves of one 16-lane register (one `vpdpbusd`,
/// conversion and fma per token where the AVX2 tile takes two of each). `vpsignb` has no 512-bit form,
/// so Q8_0 takes its values plus 128 (q xor 0x80) and −128·Σa as the sums' starting value, as Q4_0
/// takes its 8: the same integers in every lane. `rowScales`: each block's d of row 0 and row 1.
@inline(__always)
func avx512Tile32<F: Block32Kind>(_: F.Type, _ w: UnsafeRawPointer, rowBytes: Int, _ qs: UnsafePointer<Int8>,
                                  _ scales4: UnsafePointer<Float>, _ asum: UnsafePointer<Float>, columns: Int,
                                  _ y: UnsafeMutablePointer<Float>, ldy: Int, rowScales: UnsafePointer<Float>) {
    let format = F.format
    let blocks = columns / 32, bpb = format.bytesPerBlock
    var acc = InlineArray<4, SIMD16<Float>>(repeating: SIMD16())
    var minSums = InlineArray<8, Float>(repeating: 0)
    let offset = _mm512_set1_epi8(format == .q8_0 ? -128 : format.offset)
    let hasOffset = format == .q8_0 || format.offset != 0
    for b in 0..<blocks {
        let p0 = w + b &* bpb
        let (q0, dm0) = format.unpack(p0)
        let (q1, dm1) = format.unpack(p0 + rowBytes)
        var q = SIMD8<Int64>(lowHalf: q0, highHalf: q1)
        if format == .q8_0 { q = _mm512_xor_si512(q, offset) }
        let d = SIMD16<Float>(lowHalf: SIMD8(repeating: rowScales[2 &* b]),
                              highHalf: SIMD8(repeating: rowScales[2 &* b &+ 1]))
        for k in 0..<4 {
            let a = load256(qs + (k &* columns &+ b &* 32))
            let a2 = SIMD8<Int64>(lowHalf: a, highHalf: a)
            let zero = _mm512_setzero_si512()
            let start = hasOffset ? _mm512_sub_epi32(zero, _mm512_mask_dpbusd_epi32(zero, 0xFFFF, offset, a2)) : zero
            let sums = _mm512_cvtepi32_ps(_mm512_mask_dpbusd_epi32(start, 0xFFFF, q, a2))
            acc[k] = _mm512_fmadd_ps(sums, d * scales4[4 &* b &+ k], acc[k])
            if format.hasMin {
                minSums[k] += dm0[1] * asum[k &* blocks &+ b]
                minSums[4 &+ k] += dm1[1] * asum[k &* blocks &+ b]
            }
        }
    }
    for k in 0..<4 {
        y[k &* ldy] = horizontalSum(acc[k].lowHalf) + minSums[k]
        y[k &* ldy &+ 1] = horizontalSum(acc[k].highHalf) + minSums[4 &+ k]
    }
}
#endif
