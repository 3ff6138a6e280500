import Foundation
import SwiftletGGUF

/// Where a job's rows split into the pieces its threads claim in turn: bounds on multiples of eight rows,
/// so that row tiles and repacked row groups rarely straddle them.
///
/// A decoding step (one token, or one per sequence of a continuous batch: up to 16) takes one contiguous
/// run per thread, so that each thread streams one run of weights. Decoding reads every weight from memory
/// once per step, and the hardware prefetchers follow long streams far better than eight short runs handed
/// out in turn (the row kernels read a run as two or four streams, half or a quarter of it apart;
/// Docs/PERFORMANCE.md has the figures).
///
/// A prompt takes pieces of an eighth of a thread's share, and from the point where fewer than two such
/// pieces per thread remain, pieces of half of what remains per thread, down to eight rows (guided
/// self-scheduling): the pieces claimed last are the smallest, so the threads finish nearly together,
/// where with equal pieces one waited half a piece on average at the end of every product. A late thread
/// still loses nothing: the others claim its pieces.
private func rowBounds(_ rows: Int, _ pool: ThreadPool, tokens: Int) -> [Int] {
    let groups = (rows + 7) / 8, threads = pool.threadCount
    guard tokens > 16, threads > 1 else {
        let chunks = max(1, min(rows, threads * (tokens <= 16 ? 1 : 8)))
        return (0...chunks).map { min(rows, 8 * (groups * $0 / chunks)) }
    }
    let piece = max(1, groups / (8 * threads))
    var bounds = [0], done = 0
    while done < groups {
        let left = groups - done
        done += min(left, piece, max(1, (left + 2 * threads - 1) / (2 * threads)))
        bounds.append(min(rows, 8 * done))
    }
    return bounds
}

// ggml's CPU matmul quantizes the activations to the weight's "vec_dot type" (Q8_0, Q8_1 or Q8_K;
// F16 for F16 weights) and takes integer dot products per block. Doing the same is what makes logits
// match llama.cpp's to ~1e-3 instead of ~1e-1 nats.
final class QuantizedActivations {
    let qs: UnsafeMutablePointer<Int8>      // (tokens, columns)
    let d: UnsafeMutablePointer<Float>      // per block scale (F16-rounded for Q8_0/Q8_1, F32 for Q8_K)
    let s: UnsafeMutablePointer<Float>      // Q8_1: d × Σq per block (F16-rounded)
    let bsums: UnsafeMutablePointer<Int32>  // Q8_K: Σq per 16; Q8_0: Σq per block (repacked Q4_0)
    let half: UnsafeMutablePointer<Float>   // F16 (BF16) weights: x rounded to F16 (BF16)
    let n: Int

    private let buffer: UnsafeMutableRawPointer

    /// One allocation for all five arrays (a decoding step makes several of these per layer).
    private init(values: Int, blocks: Int, sums: Int, halves: Int) {
        n = max(values, halves)
        let floats = 2 * blocks + halves
        buffer = .allocate(byteCount: 4 * (floats + sums) + values, alignment: 64)
        let f = buffer.bindMemory(to: Float.self, capacity: floats)
        d = f; s = f + blocks; half = f + 2 * blocks
        bsums = (buffer + 4 * floats).bindMemory(to: Int32.self, capacity: sums)
        qs = (buffer + 4 * (floats + sums)).bindMemory(to: Int8.self, capacity: values)
    }

    convenience init(count n: Int) { self.init(values: n, blocks: n / 32 + 1, sums: n / 16 + 1, halves: 1) }

    convenience init(halfCount n: Int) { self.init(values: 1, blocks: 1, sums: 1, halves: n) }

    deinit { buffer.deallocate() }
}

@inline(__always) private func f16Round(_ x: Float) -> Float { Float(Float16(x)) }

/// 32 floats at `v` as Q8 activations at `q`: the scale d = max|v|/127 (before F16 rounding) and Σq.
private func quantizeBlock32(_ v: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Int8>) -> (d: Float, sum: Int32) {
    var amax: Float = 0
    for j in 0..<32 { amax = max(amax, abs(v[j])) }
    let id: Float = amax != 0 ? 127 / amax : 0
    var sum: Int32 = 0
    for j in 0..<32 {
        let qj = Int8(clamping: Int((v[j] * id).rounded(.toNearestOrEven)))
        q[j] = qj
        sum &+= Int32(qj)
    }
    return (amax / 127, sum)
}

/// 256 floats at `v` as Q8_K activations at `q` (ggml's quantize_row_q8_K): the scale from the value of
/// largest magnitude (the first, on ties) so that it maps to −127, values rounded to nearest even and
/// capped at 127, and the sixteen per-16 sums. Returns d (0 for an all-zero block, whose values are 0).
private func quantizeBlock256(_ v: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Int8>, _ bsums: UnsafeMutablePointer<Int32>) -> Float {
    var amax: Float = 0, mx: Float = 0
    for j in 0..<256 where abs(v[j]) > amax { amax = abs(v[j]); mx = v[j] }
    guard amax != 0 else {
        q.initialize(repeating: 0, count: 256)
        bsums.initialize(repeating: 0, count: 16)
        return 0
    }
    let iscale = -127 / mx
    for i in 0..<16 {
        var sum: Int32 = 0
        for j in (16 * i)..<(16 * i + 16) {
            let qj = Int8(clamping: min(127, Int((iscale * v[j]).rounded(.toNearestOrEven))))
            q[j] = qj
            sum &+= Int32(qj)
        }
        bsums[i] = sum
    }
    return 1 / iscale
}

private func quantizeActivations(_ type: GGMLType, _ x: UnsafePointer<Float>, tokens: Int, columns: Int,
                                 path: KernelPath = .fastest, pool: ThreadPool? = nil) -> QuantizedActivations {
    let n = tokens * columns
    /// `body(b)` for every block b < count, split over the pool for prompts (a decoding step's blocks,
    /// even for several sequences, are too few to be worth a dispatch).
    func forEachBlock(_ count: Int, _ body: (Int) -> Void) {
        guard let pool, tokens >= 32, pool.threadCount > 1 else {
            for b in 0..<count { body(b) }
            return
        }
        let pieces = pool.threadCount * 4
        pool.parallelFor(pieces) { c in
            for b in (count * c / pieces)..<(count * (c + 1) / pieces) { body(b) }
        }
    }
    switch QuantizationFormat.of(type)?.activation {
    case .q8_0, .q8_1:
        let a = QuantizedActivations(count: n)
        forEachBlock(n / 32) { b in
            var block = (d: Float(0), sum: Int32(0))
            #if SWIFTLET_AVX2 && arch(x86_64)
            if path == .fastest { block = avx2QuantizeBlock32(x + b &* 32, a.qs + b &* 32) }
            else { block = quantizeBlock32(x + b &* 32, a.qs + b &* 32) }
            #else
            block = quantizeBlock32(x + b &* 32, a.qs + b &* 32)
            #endif
            a.d[b] = f16Round(block.d)
            a.s[b] = f16Round(block.d * Float(block.sum))
            a.bsums[b] = block.sum
        }
        return a
    case .q8_K:
        let a = QuantizedActivations(count: n)
        forEachBlock(n / 256) { b in
            #if SWIFTLET_AVX2 && arch(x86_64)
            if path == .fastest { a.d[b] = avx2QuantizeBlock256(x + b &* 256, a.qs + b &* 256, a.bsums + b &* 16); return }
            #endif
            a.d[b] = quantizeBlock256(x + b &* 256, a.qs + b &* 256, a.bsums + b &* 16)
        }
        return a
    case .f16:
        let a = QuantizedActivations(halfCount: n)
        // Eight at a time where whole (SIMD8's conversions compile to vcvtps2ph and back: the same rounding).
        forEachBlock((n + 255) / 256) { b in
            var i = 256 &* b
            let end = min(n, i &+ 256)
            while i &+ 8 <= end {
                let v = SIMD8<Float16>(UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self))
                UnsafeMutableRawPointer(a.half + i).storeBytes(of: SIMD8<Float>(v), as: SIMD8<Float>.self)
                i &+= 8
            }
            while i < end { a.half[i] = f16Round(x[i]); i &+= 1 }
        }
        return a
    case .bf16:
        let a = QuantizedActivations(halfCount: n)
        forEachBlock((n + 255) / 256) { b in
            for i in (256 &* b)..<min(n, 256 &* b &+ 256) { a.half[i] = bf16Round(x[i]) }
        }
        return a
    case .f32, nil:
        return QuantizedActivations(count: 0)
    }
}

/// Σ w·a over `n` int8 pairs. Plain pointer loops: LLVM vectorizes them, where the standard library's
/// generic SIMD conversions were measured to compile to slow out-of-line calls.
@inline(__always)
private func dotI8(_ w: UnsafePointer<Int8>, _ a: UnsafePointer<Int8>, _ n: Int) -> Int32 {
    var s: Int32 = 0
    for j in 0..<n { s &+= Int32(w[j]) &* Int32(a[j]) }
    return s
}

/// Σ q·a over a 4-bit block's 32 values (low nibbles are elements 0…15, high nibbles 16…31), q - offset.
@inline(__always)
private func dotNibbles(_ q: UnsafePointer<UInt8>, _ a: UnsafePointer<Int8>, offset: Int32) -> Int32 {
    var s: Int32 = 0
    for j in 0..<16 {
        s &+= (Int32(q[j] & 0x0F) &- offset) &* Int32(a[j])
        s &+= (Int32(q[j] >> 4) &- offset) &* Int32(a[j + 16])
    }
    return s
}

/// Σ q·a over a 5-bit block's 32 values (nibbles as ``dotNibbles(_:_:offset:)``, bit j of `qh` the fifth
/// bit of value j), q - offset.
@inline(__always)
private func dotFiveBit(_ q: UnsafePointer<UInt8>, _ qh: UInt32, _ a: UnsafePointer<Int8>, offset: Int32) -> Int32 {
    var s: Int32 = 0
    for j in 0..<16 {
        let h0 = Int32(truncatingIfNeeded: (qh >> UInt32(j)) & 1) << 4
        let h1 = Int32(truncatingIfNeeded: (qh >> UInt32(j + 16)) & 1) << 4
        s &+= ((Int32(q[j] & 0x0F) | h0) &- offset) &* Int32(a[j])
        s &+= ((Int32(q[j] >> 4) | h1) &- offset) &* Int32(a[j + 16])
    }
    return s
}

/// One Q4_K or Q5_K super-block against Q8_K activations `qa` (256 values, per-16 sums `bsums`):
/// Σ scale·Σq·a and Σ min·Σa over its eight sub-blocks of 32, as integers. `sc` is the 12 packed scale
/// bytes, `q` the 128 nibble bytes; Q5_K passes `qh`, whose bits 2g and 2g + 1 add 16 to the values
/// of sub-blocks 2g and 2g + 1.
@inline(__always)
private func kQuantSums(_ sc: UnsafePointer<UInt8>, _ q: UnsafePointer<UInt8>, _ qh: UnsafePointer<UInt8>?,
                        _ qa: UnsafePointer<Int8>, _ bsums: UnsafePointer<Int32>) -> (scaled: Int32, mins: Int32) {
    var sumi: Int32 = 0, summ: Int32 = 0
    for g in 0..<4 {
        let (s1, m1) = kQuantScaleMin(sc, 2 * g), (s2, m2) = kQuantScaleMin(sc, 2 * g + 1)
        let qg = q + 32 * g, a1 = qa + 64 * g, a2 = qa + 64 * g + 32
        var d1: Int32 = 0, d2: Int32 = 0
        if let qh {
            let u1 = UInt8(1) << UInt8(2 * g), u2 = UInt8(2) << UInt8(2 * g)
            for l in 0..<32 {
                d1 &+= (Int32(qg[l] & 0x0F) | (qh[l] & u1 != 0 ? 16 : 0)) &* Int32(a1[l])
                d2 &+= (Int32(qg[l] >> 4) | (qh[l] & u2 != 0 ? 16 : 0)) &* Int32(a2[l])
            }
        } else {
            for l in 0..<32 {
                d1 &+= Int32(qg[l] & 0x0F) &* Int32(a1[l])
                d2 &+= Int32(qg[l] >> 4) &* Int32(a2[l])
            }
        }
        sumi &+= Int32(s1) &* d1 &+ Int32(s2) &* d2
        summ &+= Int32(m1) &* (bsums[4 * g] &+ bsums[4 * g + 1]) &+ Int32(m2) &* (bsums[4 * g + 2] &+ bsums[4 * g + 3])
    }
    return (sumi, summ)
}

/// One Q2_K or Q3_K super-block against Q8_K activations `qa`: Σ scale(j)·Σq·a over its sixteen
/// sub-blocks of 16, as an integer. Sub-block j = 8n + 2s + p holds bits 2s…2s+1 of bytes
/// 32n + 16p …+15 of `q`; Q3_K passes `hmask`, where a clear bit n·4 + s of byte 16p + l makes value l
/// 4 lower.
@inline(__always)
private func twoBitSums(_ q: UnsafePointer<UInt8>, _ hmask: UnsafePointer<UInt8>?, _ qa: UnsafePointer<Int8>,
                        scale: (Int) -> Int32) -> Int32 {
    var sumi: Int32 = 0
    for j in 0..<16 {
        let shift = UInt8(2 * ((j / 2) % 4)), qj = q + 32 * (j / 8) + 16 * (j % 2), a = qa + 16 * j
        var s: Int32 = 0
        if let hmask {
            let bit = UInt8(1) << UInt8(j / 2), h = hmask + 16 * (j % 2)
            for l in 0..<16 { s &+= (Int32((qj[l] >> shift) & 3) &- (h[l] & bit != 0 ? 0 : 4)) &* Int32(a[l]) }
        } else {
            for l in 0..<16 { s &+= Int32((qj[l] >> shift) & 3) &* Int32(a[l]) }
        }
        sumi &+= scale(j) &* s
    }
    return sumi
}

/// One weight row · one token's quantized activations: the AVX2 kernel when the build has one for
/// `type`, else the portable loop.
@inline(__always)
private func quantizedDot(_ type: GGMLType, _ w: UnsafeRawPointer, _ a: QuantizedActivations, token t: Int, columns: Int, x: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>) -> Float {
    #if SWIFTLET_AVX2 && arch(x86_64)
    let qs = a.qs, ad = a.d
    switch type {
    case .q8_0, .q4_0, .q4_1, .q5_0, .q5_1:
        var y: Float = 0
        _ = avx2Rows(type, rows: 1, tokens: 1, w, rowBytes: 0, qs + t * columns, ad + t * columns / 32, a.s + t * columns / 32,
                     columns: columns, &y, ldy: 1)
        return y
    case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K:
        var y: Float = 0
        _ = avx2RowsK(type, rows: 1, tokens: 1, w, rowBytes: 0, qs + t * columns, ad + t * columns / 256, a.bsums + t * columns / 16,
                      columns: columns, &y, ldy: 1)
        return y
    case .f16: return avx2DotF16(w, a.half + t * columns, count: columns)
    case .bf16: return avx2DotBF16(w, a.half + t * columns, count: columns)
    case .f32: return avx2DotF32(w, x + t * columns, count: columns)
    default: break
    }
    #endif
    return portableDot(type, w, a, token: t, columns: columns, x: x, scratch: scratch)
}

/// One weight row · one token's quantized activations, the way ggml's scalar vec_dot does it (the
/// format table's `dot`); types without one dequantize the row and take the float dot.
private func portableDot(_ type: GGMLType, _ w: UnsafeRawPointer, _ a: QuantizedActivations, token t: Int, columns: Int, x: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>) -> Float {
    if let dot = QuantizationFormat.of(type)?.dot { return dot(w, a, t, columns) }
    try? dequantizeRow(type, w, scratch, count: columns)
    return dot(scratch, x + t * columns, count: columns)
}

/// ggml's scalar `ggml_vec_dot_q8_0_q8_0`.
func dotQ8_0(_ w: UnsafeRawPointer, _ a: QuantizedActivations, token t: Int, columns: Int) -> Float {
    let b = w.assumingMemoryBound(to: UInt8.self)
    let qs = a.qs, ad = a.d
    var sumf: Float = 0
    let base = t * columns / 32
    for blk in 0..<columns / 32 {
        let o = blk * GGMLType.q8_0.bytesPerBlock, ab = base + blk
        let sumi = dotI8(UnsafeRawPointer(b + o + 2).assumingMemoryBound(to: Int8.self), qs + ab * 32, 32)
        sumf += Float(sumi) * (half(w, o) * ad[ab])
    }
    return sumf
}

/// ggml's scalar `ggml_vec_dot_q4_0_q8_0`.
func dotQ4_0(_ w: UnsafeRawPointer, _ a: QuantizedActivations, token t: Int, columns: Int) -> Float {
    let b = w.assumingMemoryBound(to: UInt8.self)
    let qs = a.qs, ad = a.d
    var sumf: Float = 0
    let base = t * columns / 32
    for blk in 0..<columns / 32 {
        let o = blk * GGMLType.q4_0.bytesPerBlock, ab = base + blk
        let sumi = dotNibbles(b + o + 2, qs + ab * 32, offset: 8)
        sumf += Float(sumi) * (half(w, o) * ad[ab])
    }
    return sumf
}

/// ggml's scalar `ggml_vec_dot_q4_1_q8_1`.
func dotQ4_1(_ w: UnsafeRawPointer, _ a: QuantizedActivations, token t: Int, columns: Int) -> Float {
    let b = w.assumingMemoryBound(to: UInt8.self)
    let qs = a.qs, ad = a.d, asum = a.s
    var sumf: Float = 0
    let base = t * columns / 32
    for blk in 0..<columns / 32 {
        let o = blk * GGMLType.q4_1.bytesPerBlock, ab = base + blk
        let sumi = dotNibbles(b + o + 4, qs + ab * 32, offset: 0)
        sumf += (half(w, o) * ad[ab]) * Float(sumi) + half(w, o + 2) * asum[ab]
    }
    return sumf
}

/// ggml's scalar `ggml_vec_dot_q5_0_q8_0`.
func dotQ5_0(_ w: UnsafeRawPointer, _ a: QuantizedActivations, token t: Int, columns: Int) -> Float {
    let b = w.assumingMemoryBound(to: UInt8.self)
    let qs = a.qs, ad = a.d
    var sumf: Float = 0
    let base = t * columns / 32
    for blk in 0..<columns / 32 {
        let o = blk * GGMLType.q5_0.bytesPerBlock, ab = base + blk
        let sumi = dotFiveBit(b + o + 6, w.loadUnaligned(fromByteOffset: o + 2, as: UInt32.self), qs + ab * 32, offset: 16)
        sumf += Float(sumi) * (half(w, o) * ad[ab])
    }
    return sumf
}

/// ggml's scalar `ggml_vec_dot_q5_1_q8_1`.
func dotQ5_1(_ w: UnsafeRawPointer, _ a: QuantizedActivations, token t: Int, columns: Int) -> Float {
    let b = w.assumingMemoryBound(to: UInt8.self)
    let qs = a.qs, ad = a.d, asum = a.s
    var sumf: Float = 0
    let base = t * columns / 32
    for blk in 0..<columns / 32 {
        let o = blk * GGMLType.q5_1.bytesPerBlock, ab = base + blk
        let sumi = dotFiveBit(b + o + 8, w.loadUnaligned(fromByteOffset: o + 4, as: UInt32.self), qs + ab * 32, offset: 0)
        sumf += (half(w, o) * ad[ab]) * Float(sumi) + half(w, o + 2) * asum[ab]
    }
    return sumf
}

/// ggml's scalar `ggml_vec_dot_q4_K_q8_K` and `ggml_vec_dot_q5_K_q8_K`.
func dotNibblesK(_ type: GGMLType, _ w: UnsafeRawPointer, _ a: QuantizedActivations, token t: Int, columns: Int) -> Float {
    let b = w.assumingMemoryBound(to: UInt8.self)
    let qs = a.qs, ad = a.d
    var sumf: Float = 0
    let five = type == .q5_K, bpb = (five ? GGMLType.q5_K : GGMLType.q4_K).bytesPerBlock
    for blk in 0..<columns / 256 {
        let o = blk * bpb, ab = t * columns / 256 + blk
        let (sumi, summ) = kQuantSums(b + o + 4, b + o + (five ? 48 : 16), five ? b + o + 16 : nil,
                                      qs + t * columns + blk * 256, a.bsums + ab * 16)
        let d = ad[ab] * half(w, o), dmin = -ad[ab] * half(w, o + 2)
        sumf += d * Float(sumi) + dmin * Float(summ)
    }
    return sumf
}

/// ggml's scalar `ggml_vec_dot_q2_K_q8_K`.
func dotQ2_K(_ w: UnsafeRawPointer, _ a: QuantizedActivations, token t: Int, columns: Int) -> Float {
    let b = w.assumingMemoryBound(to: UInt8.self)
    let qs = a.qs, ad = a.d
    var sumf: Float = 0
    for blk in 0..<columns / 256 {
        let o = blk * GGMLType.q2_K.bytesPerBlock, ab = t * columns / 256 + blk, sc = b + o
        let sumi = twoBitSums(b + o + 16, nil, qs + t * columns + blk * 256) { Int32(sc[$0] & 0xF) }
        var summ: Int32 = 0
        for j in 0..<16 { summ &+= Int32(sc[j] >> 4) &* a.bsums[ab * 16 + j] }
        sumf += (ad[ab] * half(w, o + 80)) * Float(sumi) - (ad[ab] * half(w, o + 82)) * Float(summ)
    }
    return sumf
}

/// ggml's scalar `ggml_vec_dot_q3_K_q8_K`.
func dotQ3_K(_ w: UnsafeRawPointer, _ a: QuantizedActivations, token t: Int, columns: Int) -> Float {
    let b = w.assumingMemoryBound(to: UInt8.self)
    let qs = a.qs, ad = a.d
    var sumf: Float = 0
    for blk in 0..<columns / 256 {
        let o = blk * GGMLType.q3_K.bytesPerBlock, ab = t * columns / 256 + blk, scales = q3KScales(b + o + 96)
        let sumi = twoBitSums(b + o + 32, b + o, qs + t * columns + blk * 256) { Int32(scales[$0]) }
        sumf += (half(w, o + 108) * ad[ab]) * Float(sumi)
    }
    return sumf
}

/// ggml's scalar `ggml_vec_dot_q6_K_q8_K`.
func dotQ6_K(_ w: UnsafeRawPointer, _ a: QuantizedActivations, token t: Int, columns: Int) -> Float {
    let b = w.assumingMemoryBound(to: UInt8.self)
    let qs = a.qs, ad = a.d
    var sumf: Float = 0
    for blk in 0..<columns / 256 {
        let o = blk * GGMLType.q6_K.bytesPerBlock, ab = t * columns / 256 + blk, qa = qs + t * columns + blk * 256
        let ql = b + o, qh = b + o + 128
        let sc = UnsafeRawPointer(b + o + 192).assumingMemoryBound(to: Int8.self)
        var sumi: Int32 = 0
        for half_ in 0..<2 {
            let l0 = ql + 64 * half_, h0 = qh + 32 * half_, s0 = sc + 8 * half_, a0 = qa + 128 * half_
            for part in 0..<2 {
                var acc1: Int32 = 0, acc2: Int32 = 0, acc3: Int32 = 0, acc4: Int32 = 0
                for l in (16 * part)..<(16 * part + 16) {
                    let q1 = Int32((l0[l] & 0xF) | ((h0[l] & 3) << 4)) &- 32
                    let q2 = Int32((l0[l + 32] & 0xF) | (((h0[l] >> 2) & 3) << 4)) &- 32
                    let q3 = Int32((l0[l] >> 4) | (((h0[l] >> 4) & 3) << 4)) &- 32
                    let q4 = Int32((l0[l + 32] >> 4) | (((h0[l] >> 6) & 3) << 4)) &- 32
                    acc1 &+= q1 &* Int32(a0[l])
                    acc2 &+= q2 &* Int32(a0[l + 32])
                    acc3 &+= q3 &* Int32(a0[l + 64])
                    acc4 &+= q4 &* Int32(a0[l + 96])
                }
                sumi &+= Int32(s0[part]) * acc1 + Int32(s0[part + 2]) * acc2 + Int32(s0[part + 4]) * acc3 + Int32(s0[part + 6]) * acc4
            }
        }
        sumf += half(w, o + 208) * ad[ab] * Float(sumi)
    }
    return sumf
}

/// ggml's scalar `ggml_vec_dot_f16`.
func dotF16(_ w: UnsafeRawPointer, _ a: QuantizedActivations, token t: Int, columns: Int) -> Float {
    var sumf: Float = 0
    let xa = a.half + t * columns
    let wh = UnsafeRawPointer(w).assumingMemoryBound(to: Float16.self)
    for i in 0..<columns { sumf += Float(wh[i]) * xa[i] }
    return sumf
}

/// ggml's scalar `ggml_vec_dot_bf16`.
func dotBF16(_ w: UnsafeRawPointer, _ a: QuantizedActivations, token t: Int, columns: Int) -> Float {
    var sumf: Float = 0
    let xa = a.half + t * columns
    for i in 0..<columns { sumf += bf16Value(w, 2 * i) * xa[i] }
    return sumf
}

@inline(__always) private func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}

/// The layout of the activations a weight type's dot product consumes (matrices that share one can
/// share one quantization of their input), from the format table.
private func activationFormat(_ type: GGMLType) -> Int {
    (QuantizationFormat.of(type)?.activation ?? .f32).layout
}

/// y (1, w.rows) = x (1, w.columns) · wᵀ.
public func matvec(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
    matmul([(w, y)], x, tokens: 1, pool: pool)
}

/// y (tokens, w.rows) = x (tokens, w.columns) · wᵀ.
public func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, tokens: Int, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
    matmul([(w, y)], x, tokens: tokens, pool: pool)
}

/// The order of additions a batched product gives each output.
public enum ProductOrder: Sendable {
    /// ggml's `mul_mat` for the batch size: tinyBLAS for F16 batches, the tiled K-quant kernels from
    /// eight tokens on, the repacked Q4_K kernels where ggml repacks.
    case matrixProduct
    /// Every output as ggml's `mul_mat_id` (mixture-of-experts products) forms it for the tokens routed
    /// to one expert: the type's `vec_dot` (F16 included: no tinyBLAS), the tiled K-quant order from
    /// eight tokens, and for the weights ggml repacks (Q4_0, Q4_K) its GEMV one token at a time.
    case expertProduct
    /// Every output exactly as the one-token product (``matvec(_:_:_:pool:)``) forms it, with each weight
    /// row read once for all the tokens: the decoding step of several sequences at once, whose tokens
    /// must come out as they would alone (continuous batching is invisible in the numbers).
    case tokenwise
}

/// Several products of the same input, y_i (tokens, w_i.rows) = x (tokens, columns) · w_iᵀ, as one job
/// on the pool: x is quantized once per activation format, and one dispatch covers every row (q, k and
/// v, or gate and up, in a decode step cost one wake-up of the workers instead of three or two).
public func matmul(_ products: [(weight: WeightMatrix, output: UnsafeMutablePointer<Float>)], _ x: UnsafePointer<Float>, tokens: Int,
                   pool: ThreadPool, order: ProductOrder = .matrixProduct) {
    matmul(products.map { (weight: $0.weight, input: x, output: $0.output) }, tokens: tokens, pool: pool, order: order)
}

/// Several products, each of its own input, y_i (tokens, w_i.rows) = x_i (tokens, w_i.columns) · w_iᵀ, as
/// one job on the pool: each input is quantized once per activation format, and one dispatch covers every
/// row (a decoding step's eight experts cost one wake-up of the workers instead of eight). Each output is
/// summed as its product alone would sum it.
public func matmul(_ products: [(weight: WeightMatrix, input: UnsafePointer<Float>,
                                  output: UnsafeMutablePointer<Float>)],
                   tokens: Int, pool: ThreadPool, order: ProductOrder = .matrixProduct) {
    guard !products.isEmpty else { return }
    // One quantization per input, width and activation format.
    var quantized: [(input: UnsafePointer<Float>, columns: Int, format: Int, activations: QuantizedActivations)] = []
    let activations = products.map { p -> QuantizedActivations in
        let format = activationFormat(p.weight.type), columns = p.weight.columns
        if let done = quantized.first(where: { $0.input == p.input && $0.columns == columns && $0.format == format }) {
            return done.activations
        }
        let a = quantizeActivations(p.weight.type, p.input, tokens: tokens, columns: columns, pool: pool)
        quantized.append((p.input, columns, format, a))
        return a
    }
    let totalRows = products.reduce(0) { $0 + $1.weight.rows }
    let bounds = rowBounds(totalRows, pool, tokens: tokens)
    let scratchCount = products.reduce(1) { activationFormat($1.weight.type) == 3 ? max($0, $1.weight.columns) : $0 }
    let pieces = bounds.count - 1
    pool.parallelFor(pieces) { c in withUnsafeTemporaryAllocation(of: Float.self, capacity: scratchCount) { buffer in
        let scratch = buffer.baseAddress!
        var lo = bounds[c]
        let hi = bounds[c + 1]
        var first = 0
        for (i, p) in products.enumerated() {
            let w = p.weight, x = p.input, y = p.output, a = activations[i], columns = w.columns
            let end = first + w.rows
            defer { first = end }
            guard lo < end, lo < hi else { continue }
            var r = lo - first
            let rowEnd = min(hi, end) - first
            #if SWIFTLET_AVX2 && arch(x86_64)
            // F16 and F32 in batches: tinyBLAS's order, where llama.cpp takes tinyBLAS (llamafile_sgemm:
            // two tokens or more, rows in fours, columns in eights); otherwise, and for one token,
            // ggml_vec_dot_f16's (next) or ggml_vec_dot_f32's (in the row loop below).
            if w.type == .f16 || w.type == .f32, order == .matrixProduct, tokens >= 2, columns % 8 == 0, w.rows % 4 == 0,
               r < rowEnd {
                avx2RowsFloat(rows: rowEnd - r, tokens: tokens, w.row(r), rowBytes: w.bytesPerRow, halfWeights: w.type == .f16,
                              w.type == .f16 ? UnsafePointer(a.half) : x, columns: columns, y + r, ldy: w.rows)
                r = rowEnd
            }
            // F16 one token at a time (decoding, and the orders that keep each token's vec_dot).
            if w.type == .f16, r < rowEnd {
                avx2RowsF16Dot(rows: rowEnd - r, tokens: tokens, w.row(r), rowBytes: w.bytesPerRow, a.half,
                               columns: columns, y + r, ldy: w.rows)
                r = rowEnd
            }
            // Repacked Q4_0: whole eight-row groups, up to four tokens per pass. (A segment that does not
            // start on a group, which the chunking above avoids, takes the row paths instead.)
            if let packed = w.repacked, r % 8 == 0 {
                let blocks = columns / 32
                var g = r / 8
                while g * 8 + 8 <= rowEnd {
                    var t = 0
                    while t < tokens {
                        let T = order == .tokenwise ? 1 : min(4, tokens - t)
                        avx2Repacked8(packed, group: g, tokens: T, a.qs + t &* columns, a.d + t &* blocks, a.bsums + t &* blocks,
                                      columns: columns, y + (t &* w.rows &+ g &* 8), ldy: w.rows)
                        t += T
                    }
                    g += 1
                    r = g * 8
                }
            }
            // The 32-value block formats: tiles of 2 rows × 4 tokens in prompts (shared unpacks and
            // activation loads), four rows a quarter of the run apart when decoding.
            if r < rowEnd, avx2Rows(w.type, rows: rowEnd - r, tokens: tokens, w.row(r), rowBytes: w.bytesPerRow, a.qs, a.d, a.s,
                                    columns: columns, y + r, ldy: w.rows) {
                r = rowEnd
            }
            // The K-quants: four tokens per pass over a row in prompts, each super-block unpacked once.
            if r < rowEnd, avx2RowsK(w.type, rows: rowEnd - r, tokens: tokens, w.row(r), rowBytes: w.bytesPerRow, a.qs, a.d, a.bsums,
                                     columns: columns, y + r, ldy: w.rows, matrixRows: w.rows,
                                     mulMatID: order == .expertProduct, tokenwise: order == .tokenwise) {
                r = rowEnd
            }
            #endif
            while r < rowEnd {
                let row = w.row(r)
                var t = 0
                while t < tokens {
                    y[t * w.rows + r] = quantizedDot(w.type, row, a, token: t, columns: columns, x: x, scratch: scratch)
                    t += 1
                }
                r += 1
            }
            lo = min(hi, end)
        }
    } }
}

/// Which implementation of the block dot products to run.
public enum KernelPath: Sendable, CaseIterable {
    /// The build's fastest: AVX2 where compiled in (see ``kernelsUseAVX2``), else portable.
    case fastest
    /// Plain Swift loops, in every build: the reference the fast kernels are tested against.
    case portable
}

/// `x` (a multiple of 32 values) as the matrix products quantize activations for the 32-value block
/// formats: 8-bit values and one F16-rounded scale per block. For tests and tools.
public func q8Activations(_ x: [Float], path: KernelPath = .fastest) throws(KernelError) -> (values: [Int8], scales: [Float]) {
    guard x.count % 32 == 0 else { throw .shapeMismatch("\(x.count) values is not a multiple of 32") }
    guard !x.isEmpty else { return ([], []) }
    let a = x.withUnsafeBufferPointer { quantizeActivations(.q8_0, $0.baseAddress!, tokens: 1, columns: x.count, path: path) }
    return (Array(UnsafeBufferPointer(start: a.qs, count: x.count)), Array(UnsafeBufferPointer(start: a.d, count: x.count / 32)))
}

/// `x` (a multiple of 256 values) as the matrix products quantize activations for the K-quant formats
/// (ggml's Q8_K): 8-bit values, one float scale per 256 values and the sums of each 16 values. For
/// tests and tools.
public func q8KActivations(_ x: [Float], path: KernelPath = .fastest) throws(KernelError) -> (values: [Int8], scales: [Float], sums: [Int32]) {
    guard x.count % 256 == 0 else { throw .shapeMismatch("\(x.count) values is not a multiple of 256") }
    guard !x.isEmpty else { return ([], [], []) }
    let a = x.withUnsafeBufferPointer { quantizeActivations(.q4_K, $0.baseAddress!, tokens: 1, columns: x.count, path: path) }
    return (Array(UnsafeBufferPointer(start: a.qs, count: x.count)), Array(UnsafeBufferPointer(start: a.d, count: x.count / 256)),
            Array(UnsafeBufferPointer(start: a.bsums, count: x.count / 16)))
}

/// `row` (one weight row of `type`, `x.count` columns) · `x`, with `x` quantized as the matrix
/// products quantize activations. For tests and tools; the matrix products run the same code.
public func quantizedRowDot(_ type: GGMLType, row: UnsafeRawBufferPointer, _ x: [Float], path: KernelPath = .fastest) throws(KernelError) -> Float {
    let columns = x.count
    guard columns > 0, columns % type.blockSize == 0 else {
        throw .shapeMismatch("\(columns) columns is not a multiple of \(type.name)'s block size \(type.blockSize)")
    }
    guard let base = row.baseAddress, row.count >= columns / type.blockSize * type.bytesPerBlock else {
        throw .shapeMismatch("a \(type.name) row of \(columns) columns needs \(columns / type.blockSize * type.bytesPerBlock) bytes, got \(row.count)")
    }
    return x.withUnsafeBufferPointer { xp in
        let a = quantizeActivations(type, xp.baseAddress!, tokens: 1, columns: columns, path: path)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: columns)
        defer { scratch.deallocate() }
        switch path {
        case .fastest: return quantizedDot(type, base, a, token: 0, columns: columns, x: xp.baseAddress!, scratch: scratch)
        case .portable: return portableDot(type, base, a, token: 0, columns: columns, x: xp.baseAddress!, scratch: scratch)
        }
    }
}

public func embeddingRow(_ w: WeightMatrix, token: Int, into dst: UnsafeMutablePointer<Float>) throws(KernelError) {
    guard token >= 0, token < w.rows else { throw .shapeMismatch("token \(token) outside 0..<\(w.rows)") }
    try dequantizeRow(w.type, w.row(token), dst, count: w.columns)
}
