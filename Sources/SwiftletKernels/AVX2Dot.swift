// Block dot products with AVX2 integer multiplies (vpmaddubsw), compiled only when the build turns the
// features on: `-Xswiftc -target-cpu -Xswiftc haswell -Xswiftc -DSWIFTLET_AVX2` (the Makefile does so
// on a CPU that has them; Docs/CPUFeatures.md has the commands for a dependent package). Every other
// build takes the portable loops in QuantizedMatmul.swift, which give the same sums.
#if SWIFTLET_AVX2 && arch(x86_64)
import _Builtin_intrinsics.intel
import SwiftletGGUF

/// Whether this build carries the AVX2 kernels.
public let kernelsUseAVX2 = true

#if SWIFTLET_AVX512
/// Whether this build forms the AVX2 kernels' integer sums with AVX-512 VNNI (`vpdpbusd`): the same
/// integers, and so the same bits, as without it (Docs/CPUFeatures.md).
public let kernelsUseVNNI = true
#else
/// Whether this build forms the AVX2 kernels' integer sums with AVX-512 VNNI (`vpdpbusd`).
public let kernelsUseVNNI = false
#endif

@inline(__always) func load128(_ p: UnsafeRawPointer) -> __m128i {
    _mm_loadu_si128(p.assumingMemoryBound(to: __m128i.self))
}

@inline(__always) func load256(_ p: UnsafeRawPointer) -> __m256i {
    _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i.self))
}

/// LLVM's prefetch intrinsic, declared by its IR name: Swift cannot call `_mm_prefetch` (a C macro), and
/// the importer drops calls to clang's `_m_prefetch`. Arguments: address, write (0 or 1), locality (0…3),
/// data cache (1); the last three must be literals at the call.
@_silgen_name("llvm.prefetch.p0")
private func llvmPrefetch(_ address: UnsafeRawPointer, _ write: Int32, _ locality: Int32, _ dataCache: Int32)

/// Asks for the cache line at `p` to be brought into every cache level (`prefetcht0`), without waiting
/// for it: decoding streams weights from memory, and a request issued a few lines ahead hides the latency
/// the hardware prefetchers leave at the start of each run of rows. An address past the weights is
/// harmless (a prefetch never faults).
@inline(__always) func prefetch(_ p: UnsafeRawPointer) { llvmPrefetch(p, 0, 3, 1) }

/// How far ahead of its reads a decoding kernel prefetches each stream of weights: four Q6_K super-blocks,
/// far enough for the memory's latency at a kernel's pace, near enough that a line is still cached when
/// read (twice as far gained nothing where this was tuned).
let decodePrefetchDistance = 1024

/// The eight lanes' sum in tinyBLAS's `hsum(__m256)` order: halves added, then quarters, then the two.
@inline(__always) func horizontalSum(_ v: __m256) -> Float {
    let v8 = v
    let s4 = v8.lowHalf + v8.highHalf
    let s2 = s4.lowHalf + s4.highHalf
    return s2[0] + s2[1]
}

/// The two F16 values at `p` (a block's d and m, or d twice when only one is used), as floats.
@inline(__always) func twoHalves(_ p: UnsafeRawPointer) -> SIMD4<Float> {
    _mm_cvtph_ps(_mm_cvtsi32_si128(Int32(bitPattern: p.loadUnaligned(as: UInt32.self))))
}

/// 32 nibbles of a 4-bit block as bytes 0…15: low nibbles first, then high nibbles.
@inline(__always) private func nibbles(_ p: UnsafeRawPointer) -> __m256i {
    let q = load128(p)
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0F))
}

/// Eight Int32 lanes of 16-bit pair sums, widened (vpmaddwd with ones).
@inline(__always) private func widen(_ pairs: __m256i) -> __m256i {
    _mm256_madd_epi16(pairs, _mm256_set1_epi16(1))
}

/// `acc` plus the sums of each two adjacent 16-bit products x·y in 32-bit lanes: `vpmaddwd` then `vpaddd`,
/// or with AVX-512 VNNI one `vpdpwssd`, which forms the same integers (it adds without saturating, and
/// `vpmaddwd` saturates only the pair −32768·−32768 twice, which no kernel here multiplies). The VNNI form
/// makes each step wait for the last: one token's kernels then alternate two accumulators
/// (`oneTokenTwoChains`), whose lanes add to the same integers.
@inline(__always) func addingPairProducts(_ acc: __m256i, _ x: __m256i, _ y: __m256i) -> __m256i {
    #if SWIFTLET_AVX512
    _mm256_mask_dpwssd_epi32(acc, 0xFF, x, y)
    #else
    _mm256_add_epi32(acc, _mm256_madd_epi16(x, y))
    #endif
}

#if SWIFTLET_AVX512
/// `adding` plus the sums of each four adjacent byte products u·s (u unsigned, s signed) in 32-bit lanes:
/// one `vpdpbusd` (AVX-512 VNNI). Clang declares the unmasked form as a macro, which Swift cannot import;
/// the masked form with every lane selected compiles to the same instruction.
@inline(__always) func quadSums(_ u: __m256i, _ s: __m256i, adding: __m256i = _mm256_setzero_si256()) -> __m256i {
    _mm256_mask_dpbusd_epi32(adding, 0xFF, u, s)
}
#endif

/// The 32-value block formats with a fast kernel, by how a block's integer sum Σq·a is formed.
enum Block32Format {
    /// Q8_0: signed bytes; vpmaddubsw wants one operand unsigned, so w's sign moves onto a.
    case q8_0
    /// Q4_0 (offset 8) and Q5_0 (offset 16): unsigned q, Σ(q − offset)·a = Σq·a − offset·Σa, both in
    /// 16-bit pair sums (the same integers as moving signs, and cheaper; offset·Σa is shared by the rows).
    case q4_0, q5_0
    /// Q4_1 and Q5_1: unsigned values plus a per-block minimum m, which adds m·(da·Σa) to the sum.
    case q4_1, q5_1

    /// The format of `type`; nil for a type these kernels do not cover.
    init?(_ type: GGMLType) {
        switch type {
        case .q8_0: self = .q8_0
        case .q4_0: self = .q4_0
        case .q5_0: self = .q5_0
        case .q4_1: self = .q4_1
        case .q5_1: self = .q5_1
        default: return nil
        }
    }

    var type: GGMLType {
        switch self { case .q8_0: .q8_0; case .q4_0: .q4_0; case .q5_0: .q5_0; case .q4_1: .q4_1; case .q5_1: .q5_1 }
    }

    var bytesPerBlock: Int { type.bytesPerBlock }

    /// Whether blocks carry a minimum m (Q4_1, Q5_1).
    var hasMin: Bool { self == .q4_1 || self == .q5_1 }

    /// Block at `p` as 32 bytes in element order (0…15 low nibbles first for the 4-bit formats) and its
    /// d (and m for Q4_1 and Q5_1).
    @inline(__always) func unpack(_ p: UnsafeRawPointer) -> (q: __m256i, dm: SIMD4<Float>) {
        switch self {
        case .q8_0: return (load256(p + 2), twoHalves(p))
        case .q4_0: return (nibbles(p + 2), twoHalves(p))
        case .q4_1: return (nibbles(p + 4), twoHalves(p))
        case .q5_0: return (fiveBitValues(p + 2), twoHalves(p))
        case .q5_1: return (fiveBitValues(p + 4), twoHalves(p))
        }
    }

    /// 32 five-bit values from their fifth bits (four bytes at `p`) and the nibbles that follow them.
    @inline(__always) private func fiveBitValues(_ p: UnsafeRawPointer) -> __m256i {
        let high = _mm256_and_si256(bytesFromBits(p.loadUnaligned(as: UInt32.self)), _mm256_set1_epi8(16))
        return _mm256_or_si256(nibbles(p + 4), high)
    }

    var offset: Int8 { switch self { case .q4_0: 8; case .q5_0: 16; default: 0 } }

    /// The offset's share of a block's sums for Q4_0 and Q5_0 (zero for the others), formed once per
    /// activation block and shared by the rows: offset·a in pair sums, or with VNNI −offset·a in sums of
    /// four (the starting value of `vpdpbusd`).
    @inline(__always) func offsetSums(_ a: __m256i) -> __m256i {
        guard self == .q4_0 || self == .q5_0 else { return _mm256_setzero_si256() }
        #if SWIFTLET_AVX512
        return _mm256_sub_epi32(_mm256_setzero_si256(), quadSums(_mm256_set1_epi8(offset), a))
        #else
        return _mm256_maddubs_epi16(_mm256_set1_epi8(offset), a)
        #endif
    }

    /// Σq·a of one block as eight partial sums (floats, exact integers): `q` as unpacked, `unsignedQ` its
    /// magnitudes for Q8_0 (else q again), `offsetSums` from ``offsetSums(_:)``. With VNNI one `vpdpbusd`
    /// forms the sums of four that `vpmaddubsw` then `vpmaddwd` form otherwise: the same integers, since
    /// no pair sum comes near 16 bits (|q| ≤ 128 against |a| ≤ 127, or q ≤ 31 against a).
    @inline(__always) func blockSums(_ q: __m256i, _ unsignedQ: __m256i, _ a: __m256i, _ offsetSums: __m256i) -> __m256 {
        #if SWIFTLET_AVX512
        let sums: __m256i
        switch self {
        case .q8_0: sums = quadSums(unsignedQ, _mm256_sign_epi8(a, q))
        case .q4_0, .q5_0: sums = quadSums(q, a, adding: offsetSums)
        case .q4_1, .q5_1: sums = quadSums(q, a)
        }
        return _mm256_cvtepi32_ps(sums)
        #else
        let pairs: __m256i
        switch self {
        case .q8_0: pairs = _mm256_maddubs_epi16(unsignedQ, _mm256_sign_epi8(a, q))
        case .q4_0, .q5_0: pairs = _mm256_sub_epi16(_mm256_maddubs_epi16(q, a), offsetSums)
        case .q4_1, .q5_1: pairs = _mm256_maddubs_epi16(q, a)
        }
        return _mm256_cvtepi32_ps(widen(pairs))
        #endif
    }
}

/// A ``Block32Format`` as a type, so that each format's kernels are separate specializations. (Passed
/// as a value, the four decoding calls were merged into one out-of-line function that switched on the
/// format inside its loop, at 2–3× the time per block.)
protocol Block32Kind { static var format: Block32Format { get } }
enum Q8_0Blocks: Block32Kind { static var format: Block32Format { .q8_0 } }
enum Q4_0Blocks: Block32Kind { static var format: Block32Format { .q4_0 } }
enum Q5_0Blocks: Block32Kind { static var format: Block32Format { .q5_0 } }
enum Q4_1Blocks: Block32Kind { static var format: Block32Format { .q4_1 } }
enum Q5_1Blocks: Block32Kind { static var format: Block32Format { .q5_1 } }

/// The largest of eight lanes, by vmaxps on halves (`pointwiseMax` is NaN-ordering scalar code per lane).
@inline(__always) func avx2HorizontalMax(_ m: __m256) -> Float {
    let high = unsafeBitCast(unsafeBitCast(m, to: SIMD8<Float>.self).highHalf, to: __m128.self)
    let m4 = _mm_max_ps(_mm256_castps256_ps128(m), high)
    let m2 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4))
    return _mm_cvtss_f32(_mm_max_ss(m2, _mm_movehdup_ps(m2)))
}

/// 32 floats at `v` as Q8 activations at `q`, returning the block's scale d = max|v|/127 (before F16
/// rounding) and Σq. The same values as the portable loop: q = v·(127/max|v|) rounded to nearest even
/// (vcvtps2dq under the default rounding mode), which is also ggml's AVX2 quantize_row_q8_0.
@inline(__always)
func avx2QuantizeBlock32(_ v: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Int8>) -> (d: Float, sum: Int32) {
    let x0 = _mm256_loadu_ps(v), x1 = _mm256_loadu_ps(v + 8), x2 = _mm256_loadu_ps(v + 16), x3 = _mm256_loadu_ps(v + 24)
    let signBit = _mm256_set1_ps(-0.0)
    let m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(signBit, x0), _mm256_andnot_ps(signBit, x1)),
                          _mm256_max_ps(_mm256_andnot_ps(signBit, x2), _mm256_andnot_ps(signBit, x3)))
    let amax = avx2HorizontalMax(m)
    let id = _mm256_set1_ps(amax != 0 ? 127 / amax : 0)
    let i0 = _mm256_cvtps_epi32(_mm256_mul_ps(x0, id)), i1 = _mm256_cvtps_epi32(_mm256_mul_ps(x1, id))
    let i2 = _mm256_cvtps_epi32(_mm256_mul_ps(x2, id)), i3 = _mm256_cvtps_epi32(_mm256_mul_ps(x3, id))
    let total = unsafeBitCast(_mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3)), to: SIMD8<Int32>.self)
    // The packs interleave 128-bit lanes; the permute puts the 32 bytes back in element order.
    let bytes = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3))
    _mm256_storeu_si256(UnsafeMutableRawPointer(q).assumingMemoryBound(to: __m256i.self),
                        _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)))
    return (amax / 127, total.wrappedSum())
}

/// 256 floats at `v` as Q8_K activations (values at `q`, per-16 sums at `bsums`), returning d: the same
/// values as the portable loop. The largest magnitude comes from eight-lane maxima; the first value with
/// that magnitude gives the sign (ggml scans in order), then q = v·(−127/that value) rounded to nearest
/// even (vcvtps2dq) and capped at 127.
@inline(__always)
func avx2QuantizeBlock256(_ v: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Int8>, _ bsums: UnsafeMutablePointer<Int32>) -> Float {
    let signBit = _mm256_set1_ps(-0.0)
    var m = _mm256_setzero_ps()
    for i in 0..<32 { m = _mm256_max_ps(m, _mm256_andnot_ps(signBit, _mm256_loadu_ps(v + 8 &* i))) }
    let amax = avx2HorizontalMax(m)
    guard amax != 0 else {
        q.initialize(repeating: 0, count: 256)
        bsums.initialize(repeating: 0, count: 16)
        return 0
    }
    var mx: Float = 0
    // Magnitudes are non-negative floats, equal exactly when their bit patterns are.
    let target = _mm256_castps_si256(_mm256_set1_ps(amax))
    for i in 0..<32 {
        let magnitude = _mm256_castps_si256(_mm256_andnot_ps(signBit, _mm256_loadu_ps(v + 8 &* i)))
        let hits = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(magnitude, target)))
        if hits != 0 { mx = v[8 &* i &+ Int(hits.trailingZeroBitCount)]; break }
    }
    let iscale = -127 / mx, scale = _mm256_set1_ps(iscale), cap = _mm256_set1_epi32(127)
    for i in 0..<8 {
        let x = v + 32 &* i
        let i0 = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), scale)), cap)
        let i1 = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8), scale)), cap)
        let i2 = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 16), scale)), cap)
        let i3 = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 24), scale)), cap)
        bsums[2 &* i] = unsafeBitCast(_mm256_add_epi32(i0, i1), to: SIMD8<Int32>.self).wrappedSum()
        bsums[2 &* i &+ 1] = unsafeBitCast(_mm256_add_epi32(i2, i3), to: SIMD8<Int32>.self).wrappedSum()
        let bytes = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3))
        _mm256_storeu_si256(UnsafeMutableRawPointer(q + 32 &* i).assumingMemoryBound(to: __m256i.self),
                            _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)))
    }
    return 1 / iscale
}

/// Bit i of `bits` as byte i of the result: 0xFF where set, 0 where clear.
@inline(__always) private func bytesFromBits(_ bits: UInt32) -> __m256i {
    let spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32(Int32(bitPattern: bits)),
        _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3))
    let select = _mm256_set1_epi64x(Int64(bitPattern: 0x8040_2010_0804_0201))
    return _mm256_cmpeq_epi8(_mm256_and_si256(spread, select), select)
}

/// The dot products of two weight rows (the first at `w`, the second `rowBytes` further on) with four
/// tokens' Q8 activations (token k's values at `qs + k·columns` and, for Q4_1, its d·Σa at
/// `asum + k·blocks`; the four tokens' block scales side by side, block b's at `scales4 + 4b`), written to
/// `y[k·ldy + i]` for row i.
///
/// Every (row, token) sum is formed the way ggml's AVX2 kernels form it: one accumulator,
/// acc = fma(Σq·a as floats, d·da, acc) block after block, then the eight lanes summed. llama.cpp's logits
/// depend on this order to the last bit (Docs/Numerics.md). The tile only decides what is shared: each
/// block is unpacked once for four tokens, each activation block loaded once for two rows, and a block's
/// eight products d·da come from one multiply. Those products are written to `products` (8 floats per
/// block) in a pass of their own and broadcast from memory into each sum's fma: a load, not an arithmetic
/// operation. (Formed in the same loop, the compiler keeps them in registers and spends a scalar multiply
/// and a broadcast, or a permute, on every sum.) The two rows' d per block come as floats from
/// `rowScales` (row 0's and row 1's side by side), converted once and shared by every group of tokens.
@inline(__always)
func avx2Tile32<F: Block32Kind>(_: F.Type, _ w: UnsafeRawPointer, rowBytes: Int, _ qs: UnsafePointer<Int8>,
                                _ scales4: UnsafePointer<Float>, _ asum: UnsafePointer<Float>, columns: Int,
                                _ y: UnsafeMutablePointer<Float>, ldy: Int, rowScales: UnsafePointer<Float>,
                                products: UnsafeMutablePointer<Float>) {
    let format = F.format
    let blocks = columns / 32, bpb = format.bytesPerBlock
    var acc = InlineArray<8, __m256>(repeating: _mm256_setzero_ps())
    var minSums = InlineArray<8, Float>(repeating: 0)
    // Lanes 0…3 take row 0's d, lanes 4…7 row 1's.
    let rowOfLane = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1)
    for b in 0..<blocks {
        let d01 = UnsafeRawPointer(rowScales + 2 &* b).loadUnaligned(as: SIMD2<Float>.self)
        let d = _mm256_permutevar8x32_ps(unsafeBitCast(SIMD8(lowHalf: SIMD4(lowHalf: d01, highHalf: d01),
                                                             highHalf: SIMD4<Float>()), to: __m256.self), rowOfLane)
        let da = _mm256_broadcast_ps(UnsafeRawPointer(scales4 + 4 &* b).assumingMemoryBound(to: __m128.self))
        _mm256_storeu_ps(products + 8 &* b, _mm256_mul_ps(d, da))
    }
    for b in 0..<blocks {
        let p0 = w + b &* bpb, p1 = p0 + rowBytes
        let (q0, dm0) = format.unpack(p0)
        let (q1, dm1) = format.unpack(p1)
        let u0 = format == .q8_0 ? _mm256_sign_epi8(q0, q0) : q0, u1 = format == .q8_0 ? _mm256_sign_epi8(q1, q1) : q1
        for k in 0..<4 {
            let a = load256(qs + (k &* columns &+ b &* 32))
            let offsetSums = format.offsetSums(a)
            for i in 0..<2 {
                let j = i &* 4 &+ k
                let sums = format.blockSums(i == 0 ? q0 : q1, i == 0 ? u0 : u1, a, offsetSums)
                acc[j] = _mm256_fmadd_ps(sums, _mm256_broadcast_ss(products + (8 &* b &+ j)), acc[j])
                if format.hasMin { minSums[j] += (i == 0 ? dm0 : dm1)[1] * asum[k &* blocks &+ b] }
            }
        }
    }
    for i in 0..<2 {
        for k in 0..<4 {
            let j = i &* 4 &+ k
            y[k &* ldy &+ i] = horizontalSum(acc[j]) + minSums[j]
        }
    }
}

/// One row · one token, for decoding: the same order of operations as ``avx2Tile32`` (one accumulator),
/// written out for one row so that it compiles to a tight loop.
@inline(__always)
func avx2Row32<F: Block32Kind>(_: F.Type, _ w: UnsafeRawPointer, _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>,
                               _ asum: UnsafePointer<Float>, blocks: Int) -> Float {
    let format = F.format
    let bpb = format.bytesPerBlock
    var acc = _mm256_setzero_ps()
    var minSum: Float = 0
    for b in 0..<blocks {
        let (q, dm) = format.unpack(w + b &* bpb)
        let a = load256(qs + b &* 32)
        let offsetSums = format.offsetSums(a)
        let sums = format.blockSums(q, format == .q8_0 ? _mm256_sign_epi8(q, q) : q, a, offsetSums)
        acc = _mm256_fmadd_ps(sums, _mm256_set1_ps(dm[0] * ad[b]), acc)
        if format.hasMin { minSum += dm[1] * asum[b] }
    }
    return horizontalSum(acc) + minSum
}

/// `R` (up to 4) rows · one token, for decoding: ``avx2Row32`` for each, row r at `w + r·stride`, with
/// each activation block loaded once. Each row's sum is still one fma chain over its blocks (the same
/// bits); the chains are independent, so the core overlaps their fma latencies, which a single row waits
/// out block after block.
@inline(__always)
func avx2Rows32OneToken<F: Block32Kind>(_: F.Type, rows R: Int, _ w: UnsafeRawPointer, stride: Int,
                                        _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>,
                                        _ asum: UnsafePointer<Float>, blocks: Int) -> SIMD4<Float> {
    let format = F.format
    let bpb = format.bytesPerBlock
    var acc = InlineArray<4, __m256>(repeating: _mm256_setzero_ps())
    var minSum = SIMD4<Float>()
    for b in 0..<blocks {
        let a = load256(qs + b &* 32)
        let offsetSums = format.offsetSums(a)
        for r in 0..<R {
            prefetch(w + (r &* stride &+ b &* bpb &+ decodePrefetchDistance))
            let (q, dm) = format.unpack(w + (r &* stride &+ b &* bpb))
            let sums = format.blockSums(q, format == .q8_0 ? _mm256_sign_epi8(q, q) : q, a, offsetSums)
            acc[r] = _mm256_fmadd_ps(sums, _mm256_set1_ps(dm[0] * ad[b]), acc[r])
            if format.hasMin { minSum[r] += dm[1] * asum[b] }
        }
    }
    var out = SIMD4<Float>()
    for r in 0..<R { out[r] = horizontalSum(acc[r]) + minSum[r] }
    return out
}

/// Rows `0..<rows` (the first at `w`, the next `rowBytes` further on) · tokens `0..<tokens` (token k's
/// Q8 activations at `qs + k·columns`, `ad + k·blocks`, `asum + k·blocks`), written to `y[k·ldy + i]`,
/// every sum in ggml's order (one accumulator per sum, ``avx2Tile32``): tiles of 2 rows × 4 tokens where
/// four tokens remain; otherwise (decoding) four rows per pass (``avx2Rows32OneToken``). The loops run
/// inside the format's specialization, so a decoding step pays one dispatch per run of rows, not one per row.
@inline(__always)
func avx2Rows32<F: Block32Kind>(_: F.Type, rows: Int, tokens: Int, _ w: UnsafeRawPointer, rowBytes: Int,
                                _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>, _ asum: UnsafePointer<Float>, columns: Int,
                                _ y: UnsafeMutablePointer<Float>, ldy: Int) {
    let blocks = columns / 32
    @inline(__always) func one(_ r: Int, _ t: Int) {
        y[t &* ldy &+ r] = avx2Row32(F.self, w + r &* rowBytes, qs + t &* columns, ad + t &* blocks, asum + t &* blocks, blocks: blocks)
    }
    var i = 0
    if tokens >= 4 {
        // Row pairs in blocks of about 256 KiB of weights, which stay in the core's L2 cache while every
        // group of four tokens passes over them; a group's activations stay in L1 while it meets every
        // pair of the block (the order of each sum is unchanged).
        let pairs = rows / 2
        let pairsPerBlock = max(4, 128 * 1024 / max(1, rowBytes))
        let scales4 = UnsafeMutableBufferPointer<Float>.allocate(capacity: 4 * blocks)
        let products = UnsafeMutableBufferPointer<Float>.allocate(capacity: 8 * blocks)
        let rowScales = UnsafeMutableBufferPointer<Float>.allocate(capacity: 2 * min(pairs, pairsPerBlock) * blocks)
        defer { scales4.deallocate(); products.deallocate(); rowScales.deallocate() }
        for pb in stride(from: 0, to: pairs, by: pairsPerBlock) {
            let pEnd = min(pairs, pb + pairsPerBlock)
            // Each block's d of each row pair, as floats: converted once, shared by every group of tokens.
            for pair in pb..<pEnd {
                for b in 0..<blocks {
                    for r in 0..<2 {
                        let block = w + ((2 &* pair &+ r) &* rowBytes &+ b &* F.format.bytesPerBlock)
                        let bits = block.loadUnaligned(as: UInt16.self)
                        rowScales[2 &* ((pair &- pb) &* blocks &+ b) &+ r] = Float(Float16(bitPattern: bits))
                    }
                }
            }
            var k = 0
            while k + 4 <= tokens {
                for b in 0..<blocks {
                    for t in 0..<4 { scales4[4 &* b &+ t] = ad[(k &+ t) &* blocks &+ b] }
                }
                for pair in pb..<pEnd {
                    let i = 2 * pair
                    #if SWIFTLET_AVX512
                    avx512Tile32(F.self, w + i &* rowBytes, rowBytes: rowBytes, qs + k &* columns,
                                 scales4.baseAddress!, asum + k &* blocks, columns: columns, y + (k &* ldy &+ i),
                                 ldy: ldy, rowScales: rowScales.baseAddress! + 2 &* (pair &- pb) &* blocks)
                    #else
                    avx2Tile32(F.self, w + i &* rowBytes, rowBytes: rowBytes, qs + k &* columns, scales4.baseAddress!,
                               asum + k &* blocks, columns: columns, y + (k &* ldy &+ i), ldy: ldy,
                               rowScales: rowScales.baseAddress! + 2 &* (pair &- pb) &* blocks,
                               products: products.baseAddress!)
                    #endif
                }
                k += 4
            }
            while k < tokens {
                for pair in pb..<pEnd { one(2 * pair, k); one(2 * pair + 1, k) }
                k += 1
            }
        }
        i = 2 * pairs
    }
    // Decoding: four rows a quarter of the run apart, so that each of the four streams of weights runs on
    // through memory (neighbouring rows made the prefetchers' streams jump at every step: slower past
    // the cache).
    let quarter = (rows - i) / 4
    for j in i..<(i + quarter) {
        for t in 0..<tokens {
            let out = avx2Rows32OneToken(F.self, rows: 4, w + j &* rowBytes, stride: quarter &* rowBytes,
                                         qs + t &* columns, ad + t &* blocks, asum + t &* blocks, blocks: blocks)
            for r in 0..<4 { y[t &* ldy &+ j &+ r &* quarter] = out[r] }
        }
    }
    i += 4 * quarter
    while i < rows {
        for t in 0..<tokens { one(i, t) }
        i += 1
    }
}

/// ``avx2Rows32`` for a weight type; false for a type without a 32-value block kernel.
func avx2Rows(_ type: GGMLType, rows: Int, tokens: Int, _ w: UnsafeRawPointer, rowBytes: Int,
              _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>, _ asum: UnsafePointer<Float>, columns: Int,
              _ y: UnsafeMutablePointer<Float>, ldy: Int) -> Bool {
    switch type {
    case .q8_0: avx2Rows32(Q8_0Blocks.self, rows: rows, tokens: tokens, w, rowBytes: rowBytes, qs, ad, asum, columns: columns, y, ldy: ldy)
    case .q4_0: avx2Rows32(Q4_0Blocks.self, rows: rows, tokens: tokens, w, rowBytes: rowBytes, qs, ad, asum, columns: columns, y, ldy: ldy)
    case .q5_0: avx2Rows32(Q5_0Blocks.self, rows: rows, tokens: tokens, w, rowBytes: rowBytes, qs, ad, asum, columns: columns, y, ldy: ldy)
    case .q4_1: avx2Rows32(Q4_1Blocks.self, rows: rows, tokens: tokens, w, rowBytes: rowBytes, qs, ad, asum, columns: columns, y, ldy: ldy)
    case .q5_1: avx2Rows32(Q5_1Blocks.self, rows: rows, tokens: tokens, w, rowBytes: rowBytes, qs, ad, asum, columns: columns, y, ldy: ldy)
    default: return false
    }
    return true
}

/// Q4_K's (and Q5_K's) eight 6-bit sub-block scales and mins (bytes 4…15 of a super-block) as eight
/// 16-bit lanes each, unpacked four at a time in 32-bit words: scale and min j < 4
/// are the low six bits of bytes j and j + 4; for j ≥ 4, the nibbles of byte j + 4 with the top two bits
/// of bytes j − 4 and j above them.
@inline(__always) func kScalesAndMins(_ p: UnsafeRawPointer) -> (scales: __m128i, mins: __m128i) {
    let u0 = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self), u1 = p.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
    let u2 = p.loadUnaligned(fromByteOffset: 12, as: UInt32.self)
    let six: UInt32 = 0x3F3F_3F3F, nibble: UInt32 = 0x0F0F_0F0F, two: UInt32 = 0x0303_0303
    let scalesLow = u0 & six, scalesHigh = (u2 & nibble) | (((u0 >> 6) & two) << 4)
    let minsLow = u1 & six, minsHigh = ((u2 >> 4) & nibble) | (((u1 >> 6) & two) << 4)
    return (_mm_cvtepu8_epi16(_mm_setr_epi32(Int32(bitPattern: scalesLow), Int32(bitPattern: scalesHigh), 0, 0)),
            _mm_cvtepu8_epi16(_mm_setr_epi32(Int32(bitPattern: minsLow), Int32(bitPattern: minsHigh), 0, 0)))
}

/// The K-quant super-block formats with a kernel below, as types so that each gets its own
/// specialization, in pairs that share a kernel and differ by one extra bit per value:
/// - nibbles with 6-bit scales and mins (``avx2RowNibblesK``): Q4_K (144 bytes, nibbles at byte 16) and
///   Q5_K (176 bytes, each value's fifth bit in bytes 16…47, nibbles at byte 48);
/// - 2-bit values in sixteen sub-blocks of 16 (``avx2RowTwoBitK``): Q2_K (84 bytes: scale | min << 4
///   per sub-block, then 64 bytes of values, d, dmin) and Q3_K (110 bytes: a third bit per value in bytes
///   0…31, values at 32, twelve bytes of 6-bit signed scales at 96, d at 108).
protocol SuperBlockKind { static var bytes: Int { get }; static var extraBit: Bool { get } }

/// Which of ggml's AVX2 kernels a K-quant product follows, for its order of float operations:
/// - `lanes`: `vec_dot` (batches under eight tokens): eight lanes per sum, added at the end;
/// - `repacked`: the repacked Q4_K GEMM/GEMV (rows in eights): exact integer sums per sub-block pair
///   (four tokens) or super-block (one token), fused into a running sum, the mins' sum subtracted last;
/// - `tiled`: its tiled K-quant matmul (batches of eight tokens or more): per super-block
///   d·Σ − dmin·Σmin fused, then fused into the running sum times the activations' scale.
enum KQuantOrder { case lanes, repacked, tiled }
enum Q4_KBlocks: SuperBlockKind { static var bytes: Int { GGMLType.q4_K.bytesPerBlock }; static var extraBit: Bool { false } }
enum Q5_KBlocks: SuperBlockKind { static var bytes: Int { GGMLType.q5_K.bytesPerBlock }; static var extraBit: Bool { true } }
enum Q2_KBlocks: SuperBlockKind { static var bytes: Int { GGMLType.q2_K.bytesPerBlock }; static var extraBit: Bool { false } }
enum Q3_KBlocks: SuperBlockKind { static var bytes: Int { GGMLType.q3_K.bytesPerBlock }; static var extraBit: Bool { true } }

/// One Q4_K or Q5_K row · `T` (1…4) tokens' Q8_K activations (token k's values at `qs + k·columns`,
/// scales at `ad + k·blocks`, per-16 sums at `bsums + k·columns/16`), to `y[k·ldy]`:
/// d·da·Σ scale·Σq·a − dmin·da·Σ min·Σa per super-block. Each 32-byte vector of nibbles is split once
/// and meets every token's activations, and every token's sums are formed the same way for any T.
/// `order` picks which of ggml's kernels the float steps follow (``KQuantOrder``).
@inline(__always)
func avx2RowNibblesK<K: SuperBlockKind>(_: K.Type, _ w: UnsafeRawPointer, tokens T: Int, _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>,
                                          _ bsums: UnsafePointer<Int32>, columns: Int, _ y: UnsafeMutablePointer<Float>, ldy: Int,
                                          order: KQuantOrder) {
    let blocks = columns / 256, low = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1)
    let oneTokenTwoChains = T == 1 && kernelsUseVNNI
    var acc = InlineArray<4, __m256>(repeating: _mm256_setzero_ps())
    var minSum = SIMD4<Float>(repeating: 0), wholeSum = minSum
    var running = InlineArray<4, SIMD4<Float>>(repeating: .zero)  // `.repacked`: (Σ whole, Σ min) per token
    for b in 0..<blocks {
        let p = w + b &* K.bytes
        let (scales128, mins) = kScalesAndMins(p)
        let scales = _mm256_set_m128i(scales128, scales128)
        let dm = twoHalves(p)
        let qh = K.extraBit ? load256(p + 16) : _mm256_setzero_si256()
        var sumi = InlineArray<4, __m256i>(repeating: _mm256_setzero_si256())
        for g in 0..<4 {
            let q = load256(p + ((K.extraBit ? 48 : 16) &+ 32 &* g))
            var lo = _mm256_and_si256(q, low), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low)
            if K.extraBit {
                // Bit 2g of byte l is value l's fifth bit in sub-block 2g, bit 2g + 1 in sub-block 2g + 1.
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, Int32(2 &* g)), one), 4))
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, Int32(2 &* g &+ 1)), one), 4))
            }
            // Scale 2g (and 2g + 1) in every lane of each half.
            let scaleLo = _mm256_shuffle_epi8(scales, _mm256_set1_epi16(wordPick(2 &* g)))
            let scaleHi = _mm256_shuffle_epi8(scales, _mm256_set1_epi16(wordPick(2 &* g &+ 1)))
            for k in 0..<T {
                let a = qs + (k &* columns &+ b &* 256 &+ 64 &* g)
                if oneTokenTwoChains {
                    sumi[0] = addingPairProducts(sumi[0], _mm256_maddubs_epi16(lo, load256(a)), scaleLo)
                    sumi[1] = addingPairProducts(sumi[1], _mm256_maddubs_epi16(hi, load256(a + 32)), scaleHi)
                } else {
                    let even = addingPairProducts(sumi[k], _mm256_maddubs_epi16(lo, load256(a)), scaleLo)
                    sumi[k] = addingPairProducts(even, _mm256_maddubs_epi16(hi, load256(a + 32)), scaleHi)
                }
            }
        }
        if oneTokenTwoChains { sumi[0] = _mm256_add_epi32(sumi[0], sumi[1]) }
        for k in 0..<T {
            let da = ad[k &* blocks &+ b]
            // Σ min_j·(Σa over sub-block j): the per-16 sums added in pairs, times the mins, in four lanes.
            let minLanes = _mm_madd_epi16(mins, subBlockSums(bsums + (k &* (columns / 16) &+ b &* 16)))
            if order == .repacked {
                // Both running sums in one vector: lane 0 Σ scale·Σq·a with d·da, lane 1 Σ min·Σa with
                // dmin·da (two horizontal adds give both totals; each lane's fma is the scalar one).
                let lanes = unsafeBitCast(sumi[k], to: SIMD8<Int32>.self)
                let halves = unsafeBitCast(lanes.lowHalf &+ lanes.highHalf, to: __m128i.self)
                let totals = _mm_hadd_epi32(_mm_hadd_epi32(halves, minLanes), _mm_setzero_si128())
                running[k] = running[k].addingProduct(SIMD4<Float>(_mm_cvtepi32_ps(totals)), dm * da)
                continue
            }
            let m = unsafeBitCast(minLanes, to: SIMD4<Int32>.self).wrappedSum()
            if order == .tiled {
                let total = unsafeBitCast(sumi[k], to: SIMD8<Int32>.self).wrappedSum()
                wholeSum[k] = wholeSum[k].addingProduct((dm[0] * Float(total)).addingProduct(-dm[1], Float(m)), da)
            } else {
                acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[k]), _mm256_set1_ps(dm[0] * da), acc[k])
                minSum[k] += dm[1] * da * Float(m)
            }
        }
    }
    for k in 0..<T {
        switch order {
        case .repacked: y[k &* ldy] = running[k][0] - running[k][1]
        case .tiled: y[k &* ldy] = wholeSum[k]
        case .lanes: y[k &* ldy] = horizontalSum(acc[k]) - minSum[k]
        }
    }
}

/// A super-block's sixteen per-16 activation sums (Int32 at `p`) as 16-bit lanes in order (each is at
/// most 16·127 in magnitude).
@inline(__always) func sixteenSums(_ p: UnsafePointer<Int32>) -> __m256i {
    // packs_epi32 interleaves 128-bit lanes; the permute puts the sums back in order.
    _mm256_permutevar8x32_epi32(_mm256_packs_epi32(load256(p), load256(p + 8)), _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7))
}

/// A super-block's eight 32-value sub-block sums Σa (each the sum of two per-16 sums, Int32 at `p`), as
/// 16-bit lanes in order: the side of Σ min·Σa that the activations give.
@inline(__always) func subBlockSums(_ p: UnsafePointer<Int32>) -> __m128i {
    let sums16 = unsafeBitCast(sixteenSums(p), to: SIMD16<Int16>.self)
    return _mm_hadd_epi16(unsafeBitCast(sums16.lowHalf, to: __m128i.self),
                          unsafeBitCast(sums16.highHalf, to: __m128i.self))
}

/// Q3_K's sixteen signed 6-bit scales from its 12 packed bytes at `p`, as bytes (the vector form of
/// `q3KScales`: low four bits from bytes 0…7, then their high nibbles; the top two bits of scale j are
/// bits 2(j / 4)… of byte 8 + j % 4, which a per-lane shift of that word broadcast four times brings down).
@inline(__always) private func q3KScales128(_ p: UnsafeRawPointer) -> __m128i {
    let low8 = _mm_cvtsi64_si128(Int64(bitPattern: p.loadUnaligned(as: UInt64.self))), mask = _mm_set1_epi8(0x0F)
    let low = _mm_unpacklo_epi64(_mm_and_si128(low8, mask), _mm_and_si128(_mm_srli_epi16(low8, 4), mask))
    let high = _mm_and_si128(_mm_srlv_epi32(_mm_set1_epi32(Int32(bitPattern: p.loadUnaligned(fromByteOffset: 8, as: UInt32.self))),
                                            _mm_setr_epi32(0, 2, 4, 6)), _mm_set1_epi8(3))
    return _mm_sub_epi8(_mm_or_si128(low, _mm_slli_epi16(high, 4)), _mm_set1_epi8(32))
}

/// One Q2_K or Q3_K row · `T` (1…4) tokens' Q8_K activations, laid out as for
/// ``avx2RowNibblesK(_:_:tokens:_:_:_:columns:_:ldy:order:)``. Byte l of 32 in half n holds, at bits 2s…2s+1,
/// value l of sub-blocks 8n + 2s (l < 16) and 8n + 2s + 1, so one shift and mask gives 32 values that
/// line up with 32 consecutive activations. Q2_K: d·da·Σ scale·Σq·a − dmin·da·Σ min·Σa. Q3_K's values
/// are q − 4 where the third bit is clear: Σ(q + 4·bit)·a − 4·Σa, the second sum from the per-16 sums.
@inline(__always)
func avx2RowTwoBitK<K: SuperBlockKind>(_: K.Type, _ w: UnsafeRawPointer, tokens T: Int, _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>,
                                         _ bsums: UnsafePointer<Int32>, columns: Int, _ y: UnsafeMutablePointer<Float>, ldy: Int) {
    let blocks = columns / 256, three = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1)
    var acc = InlineArray<4, __m256>(repeating: _mm256_setzero_ps())
    for b in 0..<blocks {
        let p = w + b &* K.bytes
        let scales128 = K.extraBit ? q3KScales128(p + 96) : _mm_and_si128(load128(p), _mm_set1_epi8(0x0F))
        let scales = unsafeBitCast(scales128, to: SIMD16<Int8>.self)
        let hm = K.extraBit ? load256(p) : _mm256_setzero_si256()
        var sumi = InlineArray<4, __m256i>(repeating: _mm256_setzero_si256())
        for n in 0..<2 {
            let q = load256(p + ((K.extraBit ? 32 : 16) &+ 32 &* n))
            for s in 0..<4 {
                var u = _mm256_and_si256(_mm256_srli_epi16(q, Int32(2 &* s)), three)
                if K.extraBit { u = _mm256_or_si256(u, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hm, Int32(4 &* n &+ s)), one), 2)) }
                let j = 8 &* n &+ 2 &* s
                let scale = _mm256_set_m128i(_mm_set1_epi16(Int16(scales[j &+ 1])), _mm_set1_epi16(Int16(scales[j])))
                for k in 0..<T {
                    let a = load256(qs + (k &* columns &+ b &* 256 &+ 128 &* n &+ 32 &* s))
                    sumi[k] = addingPairProducts(sumi[k], _mm256_maddubs_epi16(u, a), scale)
                }
            }
        }
        // (Q3_K's d is the block's last two bytes: a four-byte load would read past the tensor's end.)
        let d = Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: K.extraBit ? 108 : 80, as: UInt16.self)))
        let dmin = K.extraBit ? 0 : Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: 82, as: UInt16.self)))
        let mins16 = K.extraBit ? _mm256_setzero_si256() : _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(load128(p), 4), _mm_set1_epi8(0x0F)))
        for k in 0..<T {
            let da = ad[k &* blocks &+ b], sums16 = sixteenSums(bsums + (k &* (columns / 16) &+ b &* 16))
            if K.extraBit {
                let offsets = _mm256_slli_epi32(_mm256_madd_epi16(sums16, _mm256_cvtepi8_epi16(scales128)), 2)
                acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(sumi[k], offsets)), _mm256_set1_ps(d * da), acc[k])
            } else {
                acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[k]), _mm256_set1_ps(d * da), acc[k])
                acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(sums16, mins16)), _mm256_set1_ps(-dmin * da), acc[k])
            }
        }
    }
    for k in 0..<T { y[k &* ldy] = horizontalSum(acc[k]) }
}

/// Calls `body(dst, t, b, k)` for token k (t overall) of every whole group of `perGroup` tokens and every
/// super-block b, `dst` the group's prepared bytes for b (groups of `blocks · bytesPerBlock` bytes): the
/// loop that fills a batched K-quant kernel's prepared activations.
@inline(__always) func forEachPreparedBlock(_ prepared: UnsafeMutableRawPointer, groups: Int, perGroup: Int, blocks: Int,
                                            bytesPerBlock: Int, _ body: (UnsafeMutableRawPointer, Int, Int, Int) -> Void) {
    for group in 0..<groups {
        for b in 0..<blocks {
            let dst = prepared + (group &* blocks &+ b) &* bytesPerBlock
            for k in 0..<perGroup { body(dst, perGroup &* group &+ k, b, k) }
        }
    }
}

/// Values 32i…32i + 31 (i < 4, a literal after inlining) of one half of a Q6_K super-block, as unsigned
/// six-bit bytes: the low nibbles from `ql0` (i even) or `ql1` (i odd), low or high nibbles as i < 2 or
/// not, and bits 2i…2i + 1 of each byte of `qh` above them.
@inline(__always) func q6KValues(_ ql0: __m256i, _ ql1: __m256i, _ qh: __m256i, _ i: Int) -> __m256i {
    let low = _mm256_set1_epi8(0x0F)
    @inline(__always) func bits(_ mask: Int8) -> __m256i { _mm256_and_si256(qh, _mm256_set1_epi8(mask)) }
    switch i {
    case 0: return _mm256_or_si256(_mm256_and_si256(ql0, low), _mm256_slli_epi16(bits(0x03), 4))
    case 1: return _mm256_or_si256(_mm256_and_si256(ql1, low), _mm256_slli_epi16(bits(0x0C), 2))
    case 2: return _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low), bits(0x30))
    default: return _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low), _mm256_srli_epi16(bits(-64), 2))
    }
}

/// The sixteen scales of a Q6_K super-block (bytes at `scaleBytes`) as 16-bit words, the even ones in the
/// low half and the odd ones in the high: scales s (even) and s + 1 of each 32 values then sit at the same
/// word of both halves, which one in-lane byte shuffle broadcasts (low half: sub-block s, high half: s + 1,
/// as the values lie).
@inline(__always) func q6KEvenOddScales(_ scaleBytes: __m128i) -> __m256i {
    let evenFirst = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15)
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scaleBytes, evenFirst))
}

/// The `vpshufb` index (as a 16-bit word, for `set1_epi16`) that copies 16-bit word `j` (< 8) of each
/// 128-bit lane into every word of that lane: bytes 2j and 2j + 1.
@inline(__always) func wordPick(_ j: Int) -> Int16 { Int16(2 &* j) | Int16(2 &* j &+ 1) << 8 }

/// Scales 2w and 2w + 1 (`word` w < 8 of ``q6KEvenOddScales(_:)``) in every 16-bit lane of their half.
@inline(__always) func q6KScalePair(_ evenOdd: __m256i, _ word: Int) -> __m256i {
    _mm256_shuffle_epi8(evenOdd, _mm256_set1_epi16(wordPick(word)))
}

/// One Q6_K row (super-blocks of 210 bytes) · `T` (1…8) tokens' Q8_K activations, laid out as for
/// ``avx2RowNibblesK(_:_:tokens:_:_:_:columns:_:ldy:order:)``: d·da·Σ scale·Σ(q − 32)·a per 16 values. The
/// six-bit values are assembled once per half super-block for every token; Σ scale·32·Σa comes from
/// the activations' per-16 sums (one vpmaddwd) instead of a second vpmaddubsw per 32 values.
@inline(__always)
func avx2RowQ6_K(_ w: UnsafeRawPointer, tokens T: Int, _ qs: UnsafePointer<Int8>, _ ad: UnsafePointer<Float>,
                 _ bsums: UnsafePointer<Int32>, columns: Int, _ y: UnsafeMutablePointer<Float>, ldy: Int, order: KQuantOrder) {
    let blocks = columns / 256
    let oneTokenTwoChains = T == 1 && kernelsUseVNNI
    var acc = InlineArray<8, __m256>(repeating: _mm256_setzero_ps())
    var wholeSum = InlineArray<8, Float>(repeating: 0)
    for b in 0..<blocks {
        let p = w + b &* GGMLType.q6_K.bytesPerBlock
        // Decoding reads each super-block once, from memory: ask for the one four blocks on.
        if T == 1 { for l in 0..<4 { prefetch(p + (decodePrefetchDistance &+ 64 &* l)) } }
        let scales = (p + 192).assumingMemoryBound(to: Int8.self)
        let d = Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: 208, as: UInt16.self)))
        let scaleBytes = _mm_loadu_si128(UnsafeRawPointer(scales).assumingMemoryBound(to: __m128i.self))
        let evenOdd = q6KEvenOddScales(scaleBytes)
        var sumi = InlineArray<8, __m256i>(repeating: _mm256_setzero_si256())
        for h in 0..<2 {
            let ql0 = load256(p + 64 &* h), ql1 = load256(p + (64 &* h &+ 32)), qh = load256(p + (128 &+ 32 &* h))
            // `sumi` passed inout: captured by the nested function it would be checked at run time.
            @inline(__always) func accumulate(_ q: __m256i, _ i: Int, _ sumi: inout InlineArray<8, __m256i>) {
                let scale = q6KScalePair(evenOdd, 4 &* h &+ i)
                for k in 0..<T {
                    let a = load256(qs + (k &* columns &+ b &* 256 &+ 128 &* h &+ 32 &* i))
                    let j = oneTokenTwoChains ? i & 1 : k
                    sumi[j] = addingPairProducts(sumi[j], _mm256_maddubs_epi16(q, a), scale)
                }
            }
            for i in 0..<4 { accumulate(q6KValues(ql0, ql1, qh, i), i, &sumi) }
        }
        if oneTokenTwoChains { sumi[0] = _mm256_add_epi32(sumi[0], sumi[1]) }
        let scales16 = _mm256_cvtepi8_epi16(scaleBytes)
        for k in 0..<T {
            let sums16 = sixteenSums(bsums + (k &* (columns / 16) &+ b &* 16))
            let offsets = _mm256_slli_epi32(_mm256_madd_epi16(sums16, scales16), 5)
            let lanes = _mm256_sub_epi32(sumi[k], offsets)
            if order == .tiled {
                let total = unsafeBitCast(lanes, to: SIMD8<Int32>.self).wrappedSum()
                wholeSum[k] = wholeSum[k].addingProduct(d * Float(total), ad[k &* blocks &+ b])
            } else {
                acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(lanes), _mm256_set1_ps(d * ad[k &* blocks &+ b]), acc[k])
            }
        }
    }
    for k in 0..<T { y[k &* ldy] = order == .tiled ? wholeSum[k] : horizontalSum(acc[k]) }
}

/// Rows `0..<rows` of a K-quant matrix (the first at `w`, the next `rowBytes` further on) ·
/// `tokens` tokens' Q8_K activations, written to `y[k·ldy + i]`: eight (Q6_K) or four tokens per pass
/// over a row, then one; Q4_K whose rows come in eights in ggml's repacked GEMM order
/// (``avx2RowsQ4_KRepacked(rows:tokens:_:rowBytes:_:_:_:columns:_:ldy:perSuperBlock:)``), and Q6_K in the tiled order
/// with eight tokens' float steps in one vector (``avx2RowsQ6_KTiled(rows:tokens:_:rowBytes:_:_:_:columns:_:ldy:)``).
/// `mulMatID`: in the orders of
/// ggml's `mul_mat_id`, which differ from `mul_mat`'s only for the repacked Q4_K weights (its GEMV for
/// every token, never the four-token GEMM); the other K-quants take vec_dot's lanes under eight tokens and
/// the tiled order from eight, per expert, as there. `tokenwise`: every token in the one-token order.
/// False for another type.
func avx2RowsK(_ type: GGMLType, rows: Int, tokens: Int, _ w: UnsafeRawPointer, rowBytes: Int, _ qs: UnsafePointer<Int8>,
               _ ad: UnsafePointer<Float>, _ bsums: UnsafePointer<Int32>, columns: Int, _ y: UnsafeMutablePointer<Float>, ldy: Int,
               matrixRows: Int = 0, mulMatID: Bool = false, tokenwise: Bool = false) -> Bool {
    // ggml's mul_mat_id on repacked Q4_K takes its GEMV for every token (never the four-token GEMM), and
    // a tokenwise product gives every token the one-token kernel's order. The row kernels below form each
    // token's sums the same way however many tokens share a pass (only the GEMM order is a batch order),
    // so both still pass over a row with four or eight tokens at once; an expert's tokens of a prompt
    // take the GEMM's tiles, summed in the GEMV's order.
    let oneTokenOrder = tokenwise || (mulMatID && type == .q4_K && matrixRows % 8 == 0 && matrixRows > 0)
    @inline(__always) func run(_ row: (UnsafeRawPointer, Int, UnsafePointer<Int8>, UnsafePointer<Float>, UnsafePointer<Int32>, UnsafeMutablePointer<Float>) -> Void) {
        let blocks = columns / 256
        // Rows in blocks of about 256 KiB of weights, which stay in the core's L2 cache while every group
        // of tokens passes over them; a group's activations stay in L1 while it meets every row of the
        // block (eight tokens of up to 4096 values: 32 KiB). Groups of four tokens start where they did,
        // and each sum's order is unchanged.
        let rowsPerBlock = max(8, 256 * 1024 / max(1, rowBytes))
        for rb in stride(from: 0, to: rows, by: rowsPerBlock) {
            let rEnd = min(rows, rb + rowsPerBlock)
            var t = 0
            while t + 8 <= tokens && type == .q6_K && columns <= 4096 {
                for i in rb..<rEnd {
                    row(w + i &* rowBytes, 8, qs + t &* columns, ad + t &* blocks, bsums + t &* (columns / 16), y + (t &* ldy &+ i))
                }
                t += 8
            }
            while t + 4 <= tokens {
                for i in rb..<rEnd {
                    row(w + i &* rowBytes, 4, qs + t &* columns, ad + t &* blocks, bsums + t &* (columns / 16), y + (t &* ldy &+ i))
                }
                t += 4
            }
            while t < tokens {
                for i in rb..<rEnd {
                    row(w + i &* rowBytes, 1, qs + t &* columns, ad + t &* blocks, bsums + t &* (columns / 16), y + (t &* ldy &+ i))
                }
                t += 1
            }
        }
    }
    // `run` passes T as the literal 8 (Q6_K), 4 or 1, so each kernel is specialized for each once inlined.
    let order: KQuantOrder = tokens >= 8 && !tokenwise ? .tiled : .lanes
    switch type {
    case .q2_K: run { avx2RowTwoBitK(Q2_KBlocks.self, $0, tokens: $1, $2, $3, $4, columns: columns, $5, ldy: ldy) }
    case .q3_K: run { avx2RowTwoBitK(Q3_KBlocks.self, $0, tokens: $1, $2, $3, $4, columns: columns, $5, ldy: ldy) }
    // The batched kernel's tiles: in the GEMM's order, or for an expert's eight tokens or more in the GEMV's.
    case .q4_K where matrixRows % 8 == 0 && matrixRows > 0 && !tokenwise && (!oneTokenOrder || tokens >= 8):
        avx2RowsQ4_KRepacked(rows: rows, tokens: tokens, w, rowBytes: rowBytes, qs, ad, bsums, columns: columns, y,
                             ldy: ldy, perSuperBlock: oneTokenOrder)
    case .q4_K where matrixRows % 8 == 0 && matrixRows > 0 && tokens >= 4:
        avx2RowsQ4_KRepackedGEMV(rows: rows, tokens: tokens, w, rowBytes: rowBytes, qs, ad, bsums, columns: columns, y, ldy: ldy)
    case .q4_K where matrixRows % 8 == 0 && matrixRows > 0:
        avx2RowsQ4_KGEMV(rows: rows, tokens: tokens, w, rowBytes: rowBytes, qs, ad, bsums, columns: columns, y,
                         ldy: ldy)
    case .q4_K: run { avx2RowNibblesK(Q4_KBlocks.self, $0, tokens: $1, $2, $3, $4, columns: columns, $5, ldy: ldy, order: order) }
    case .q5_K: run { avx2RowNibblesK(Q5_KBlocks.self, $0, tokens: $1, $2, $3, $4, columns: columns, $5, ldy: ldy, order: order) }
    case .q6_K where order == .tiled:
        avx2RowsQ6_KTiled(rows: rows, tokens: tokens, w, rowBytes: rowBytes, qs, ad, bsums, columns: columns, y, ldy: ldy)
    case .q6_K: run { avx2RowQ6_K($0, tokens: $1, $2, $3, $4, columns: columns, $5, ldy: ldy, order: order) }
    default: return false
    }
    return true
}


/// One F32 row · one token's activations, in the order of ggml's `ggml_vec_dot_f32` on AVX2: 32 values
/// per step into four eight-lane fma accumulators, added 0+2, 1+3, then together, the lanes as
/// (l0+h0 + l1+h1) + (l2+h2 + l3+h3); values after the last whole step fused in one by one.
@inline(__always)
func avx2DotF32(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
    let f = w.assumingMemoryBound(to: Float.self)
    var acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0
    var i = 0
    while i + 32 <= count {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(f + i), _mm256_loadu_ps(x + i), acc0)
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(f + (i &+ 8)), _mm256_loadu_ps(x + (i &+ 8)), acc1)
        acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(f + (i &+ 16)), _mm256_loadu_ps(x + (i &+ 16)), acc2)
        acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(f + (i &+ 24)), _mm256_loadu_ps(x + (i &+ 24)), acc3)
        i &+= 32
    }
    let v = _mm256_add_ps(_mm256_add_ps(acc0, acc2), _mm256_add_ps(acc1, acc3))
    let t = v.lowHalf + v.highHalf
    var sum = (t[0] + t[1]) + (t[2] + t[3])
    while i < count { sum = sum.addingProduct(f[i], x[i]); i += 1 }
    return sum
}

/// One F16 row · one token's activations rounded to F16 (held as floats), in the order of ggml's
/// `ggml_vec_dot_f16` on AVX2 (its path for one token): 32 values per step into four eight-lane fma
/// accumulators, added 0+2, 1+3, then together, the lanes as (l0+h0 + l1+h1) + (l2+h2 + l3+h3); values
/// after the last whole step added one by one in double precision.
@inline(__always)
func avx2DotF16(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
    avx2DotF16Rows(rows: 1, w, stride: 0, x, count: count)[0]
}

/// ``avx2DotF16(_:_:count:)`` of `R` (1 to 4) rows, row r at `w + r·stride`, with each activation vector
/// loaded once: several rows keep 4R fma chains and R streams of weights in flight.
@inline(__always)
func avx2DotF16Rows(rows R: Int, _ w: UnsafeRawPointer, stride: Int, _ x: UnsafePointer<Float>,
                    count: Int) -> SIMD4<Float> {
    var acc = InlineArray<16, __m256>(repeating: _mm256_setzero_ps())
    var i = 0
    while i + 32 <= count {
        for r in 0..<R { prefetch(w + (r &* stride &+ 2 &* i &+ decodePrefetchDistance)) }
        for l in 0..<4 {
            let xl = _mm256_loadu_ps(x + (i &+ 8 &* l))
            for r in 0..<R {
                let j = 4 &* r &+ l
                acc[j] = _mm256_fmadd_ps(_mm256_cvtph_ps(load128(w + (r &* stride &+ 2 &* i &+ 16 &* l))), xl, acc[j])
            }
        }
        i &+= 32
    }
    var out = SIMD4<Float>()
    for r in 0..<R {
        let v = _mm256_add_ps(_mm256_add_ps(acc[4 &* r], acc[4 &* r &+ 2]),
                              _mm256_add_ps(acc[4 &* r &+ 1], acc[4 &* r &+ 3]))
        let t = v.lowHalf + v.highHalf
        var sum = Double((t[0] + t[1]) + (t[2] + t[3]))
        let h = (w + r &* stride).assumingMemoryBound(to: Float16.self)
        for k in i..<count { sum += Double(Float(h[k]) * x[k]) }
        out[r] = Float(sum)
    }
    return out
}

/// F16 rows `0..<rows` (the first at `w`, `rowBytes` apart) · `tokens` tokens' activations rounded to
/// F16 (token k's at `x + k·columns`), to `y[k·ldy + i]`, each sum as ``avx2DotF16(_:_:count:)``
/// forms it: four rows per pass, a quarter of the run apart, so that each of the four streams of weights
/// runs on through memory. (On two threads, where both cores share the memory's bandwidth, four streams
/// per core decoded SmolLM2 F16 faster than three, and three faster than two: more reads in flight.)
func avx2RowsF16Dot(rows: Int, tokens: Int, _ w: UnsafeRawPointer, rowBytes: Int, _ x: UnsafePointer<Float>,
                    columns: Int, _ y: UnsafeMutablePointer<Float>, ldy: Int) {
    let quarter = rows / 4
    for i in 0..<quarter {
        for t in 0..<tokens {
            let out = avx2DotF16Rows(rows: 4, w + i &* rowBytes, stride: quarter &* rowBytes, x + t &* columns,
                                     count: columns)
            for r in 0..<4 { y[t &* ldy &+ i &+ r &* quarter] = out[r] }
        }
    }
    for i in (4 &* quarter)..<rows {
        for t in 0..<tokens { y[t &* ldy &+ i] = avx2DotF16(w + i &* rowBytes, x + t &* columns, count: columns) }
    }
}

/// F16 rows (`halfWeights`; the first at `w`, the next `rowBytes` further on) · two or more tokens'
/// activations rounded to F16 (token k's at `x + k·columns`), or F32 rows · F32 activations, to
/// `y[k·ldy + i]`, in the order of llamafile's tinyBLAS, which llama.cpp runs for F16 and F32 weights in
/// batches: per sum one eight-lane fma accumulator over the columns in
/// steps of eight, then the lanes added as ``horizontalSum(_:)`` does. Tiles of 4 rows × 3 tokens (the
/// shape tinyBLAS takes with 16 vector registers) share the loads.
/// `columns` must be a multiple of 8.
func avx2RowsFloat(rows: Int, tokens: Int, _ w: UnsafeRawPointer, rowBytes: Int, halfWeights: Bool, _ x: UnsafePointer<Float>,
                   columns: Int, _ y: UnsafeMutablePointer<Float>, ldy: Int) {
    @inline(__always) func tile(_ r0: Int, _ t0: Int, rows R: Int, tokens T: Int) {
        var acc = InlineArray<12, __m256>(repeating: _mm256_setzero_ps())
        @inline(__always) func weights(_ i: Int, _ l: Int) -> __m256 {
            let row = w + (r0 &+ i) &* rowBytes
            return halfWeights ? _mm256_cvtph_ps(load128(row + 2 &* l))
                               : _mm256_loadu_ps(row.assumingMemoryBound(to: Float.self) + l)
        }
        var l = 0
        while l < columns {
            // The T tokens' eight values stay in registers while each row's eight are loaded in turn
            // (tinyBLAS's order for tiles taller than wide): 4 × 3 sums need 12 + 3 + 1 registers.
            var xv = InlineArray<3, __m256>(repeating: _mm256_setzero_ps())
            for k in 0..<T { xv[k] = _mm256_loadu_ps(x + ((t0 &+ k) &* columns &+ l)) }
            for i in 0..<R {
                let wv = weights(i, l)
                for k in 0..<T { acc[i &* T &+ k] = _mm256_fmadd_ps(wv, xv[k], acc[i &* T &+ k]) }
            }
            l &+= 8
        }
        for i in 0..<R { for k in 0..<T { y[(t0 &+ k) &* ldy &+ r0 &+ i] = horizontalSum(acc[i &* T &+ k]) } }
    }
    var first = 0
    #if SWIFTLET_AVX512
    // Whole groups of eight rows two to a 16-lane register, each sum in the same order.
    first = rows / 8 * 8
    avx512RowPairsFloat(rows: first, tokens: tokens, w, rowBytes: rowBytes, halfWeights: halfWeights, x,
                        columns: columns, y, ldy: ldy)
    #endif
    // Tokens in blocks of 24 (their F32 activations, 8 KB a token at 2048 values, stay in the L2 cache
    // while every group of four rows passes over them); tiles of 4 rows × 3 tokens. The order of each sum
    // is unchanged.
    for tb in stride(from: 0, to: tokens, by: 24) {
        let tEnd = min(tokens, tb + 24)
        var r = first
        while r + 4 <= rows {
            var t = tb
            while t + 3 <= tEnd { tile(r, t, rows: 4, tokens: 3); t += 3 }
            while t < tEnd { tile(r, t, rows: 4, tokens: 1); t += 1 }
            r += 4
        }
        while r < rows {
            var t = tb
            while t + 3 <= tEnd { tile(r, t, rows: 1, tokens: 3); t += 3 }
            while t < tEnd { tile(r, t, rows: 1, tokens: 1); t += 1 }
            r += 1
        }
    }
}

/// One BF16 row against activations already rounded to BF16 (held as floats): a BF16 value is the top
/// half of a float, so widening to 32 bits and shifting left 16 gives it exactly.
@inline(__always)
func avx2DotBF16(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, count: Int) -> Float {
    @inline(__always) func widen(_ p: UnsafeRawPointer) -> __m256 {
        _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(p)), 16))
    }
    var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
    var i = 0
    while i + 16 <= count {
        acc0 = _mm256_fmadd_ps(widen(w + 2 * i), _mm256_loadu_ps(x + i), acc0)
        acc1 = _mm256_fmadd_ps(widen(w + 2 * i + 16), _mm256_loadu_ps(x + i + 8), acc1)
        i += 16
    }
    var sum = horizontalSum(_mm256_add_ps(acc0, acc1))
    while i < count { sum += bf16Value(w, 2 * i) * x[i]; i += 1 }
    return sum
}

#else
/// Whether this build carries the AVX2 kernels.
public let kernelsUseAVX2 = false
/// Whether this build forms the AVX2 kernels' integer sums with AVX-512 VNNI (`vpdpbusd`).
public let kernelsUseVNNI = false
#endif
