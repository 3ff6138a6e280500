import Foundation
import SwiftletGGUF

public enum RoPEStyle: Sendable { case normal, neox }

public func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>, count: Int, epsilon: Float) {
    var sum = 0.0
    for i in 0..<count { sum += Double(x[i] * x[i]) }
    let s = 1 / (Float(sum / Double(count)) + epsilon).squareRoot()
    if let weight {
        for i in 0..<count { out[i] = x[i] * s * weight[i] }
    } else {
        for i in 0..<count { out[i] = x[i] * s }
    }
}

/// RoPE's rotation at one position: cos(freqScale · θᵢ) and sin(freqScale · θᵢ) for i in 0..<ropeDim/2,
/// with θ₀ = position and θᵢ₊₁ = θᵢ · base^(−2/ropeDim), the recurrence ggml uses. Every head at that position
/// shares them, so a decoding step computes them once instead of once per head.
///
/// `factors` (Llama 3.1's `rope_freqs`, Phi-3's long/short factors) divide each θᵢ first, and `yarn`
/// mixes in the unscaled angle and scales cos and sin, as ggml_rope_cache_init and rope_yarn do.
public func ropeAngles(position: Int, ropeDim: Int, base: Float, freqScale: Float = 1,
                       factors: UnsafePointer<Float>? = nil, yarn: YaRN? = nil,
                       cos: UnsafeMutablePointer<Float>, sin: UnsafeMutablePointer<Float>) {
    let thetaScale = powf(base, -2 / Float(ropeDim))
    var theta = Float(position)
    guard factors != nil || yarn != nil else {
        for i in 0..<ropeDim / 2 {
            cos[i] = cosf(freqScale * theta); sin[i] = sinf(freqScale * theta)
            theta *= thetaScale
        }
        return
    }
    for i in 0..<ropeDim / 2 {
        let extrapolated = factors.map { theta / $0[i] } ?? theta
        let interpolated = freqScale * extrapolated
        var angle = interpolated, mscale = yarn?.attentionFactor ?? 1
        if let yarn, yarn.extensionFactor != 0 {
            // rope_yarn: the ramp mixes extrapolated angles into the low dimensions; GCC fuses the first
            // product of each sum, as written here.
            let y = (Float(i) - yarn.low) / max(0.001, yarn.high - yarn.low)
            let mix = (1 - min(1, max(0, y))) * yarn.extensionFactor
            angle = (extrapolated * mix).addingProduct(interpolated, 1 - mix)
            mscale *= Float(1).addingProduct(0.1, logf(1 / freqScale))
        }
        cos[i] = cosf(angle) * mscale; sin[i] = sinf(angle) * mscale
        theta *= thetaScale
    }
}

/// YaRN's parameters for ``ropeAngles(position:ropeDim:base:freqScale:factors:yarn:cos:sin:)``: the
/// extrapolation mix (`ext_factor`), the cos/sin multiplier (`attn_factor`) and the correction range in
/// dimensions (ggml_rope_yarn_corr_dims).
public struct YaRN: Sendable, Equatable {
    public var extensionFactor: Float
    public var attentionFactor: Float
    public var low: Float
    public var high: Float

    /// ggml_rope_yarn_corr_dims for `ropeDim` rotated dimensions trained at `originalContext` positions.
    public init(extensionFactor: Float, attentionFactor: Float, ropeDim: Int, originalContext: Int, base: Float,
                betaFast: Float = 32, betaSlow: Float = 1) {
        func dimension(_ rotations: Float) -> Float {
            Float(ropeDim) * logf(Float(originalContext) / (rotations * 2 * Float.pi)) / (2 * logf(base))
        }
        self.extensionFactor = extensionFactor
        self.attentionFactor = attentionFactor
        low = max(0, floorf(dimension(betaFast)))
        high = min(Float(ropeDim - 1), ceilf(dimension(betaSlow)))
    }
}

/// Rotates the first `ropeDim` values of each of `heads` heads by the angles from ``ropeAngles``:
/// adjacent pairs (`.normal`) or pairs half a rotation apart (`.neox`).
public func rope(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, ropeDim: Int,
                 cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, style: RoPEStyle) {
    for h in 0..<heads {
        let v = x + h * headDim
        for i in 0..<ropeDim / 2 {
            let c = cos[i], s = sin[i]
            let (a, b) = style == .normal ? (2 * i, 2 * i + 1) : (i, i + ropeDim / 2)
            let x0 = v[a], x1 = v[b]
            // x0·c − x1·s and x0·s + x1·c with the first product fused, as GCC contracts ggml's
            // rotate_pairs in llama.cpp's build (any other split differs in the last bit).
            v[a] = (-(x1 * s)).addingProduct(x0, c)
            v[b] = (x1 * c).addingProduct(x0, s)
        }
    }
}

/// RoPE at `position` on `heads` heads: ``ropeAngles`` then the rotation.
public func rope(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, position: Int, ropeDim: Int, base: Float, freqScale: Float = 1, style: RoPEStyle) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: max(2, ropeDim)) { angles in
        let cos = angles.baseAddress!, sin = cos + ropeDim / 2
        ropeAngles(position: position, ropeDim: ropeDim, base: base, freqScale: freqScale, cos: cos, sin: sin)
        rope(x, heads: heads, headDim: headDim, ropeDim: ropeDim, cos: cos, sin: sin, style: style)
    }
}

public func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
    var m = -Float.infinity
    for i in 0..<count { m = max(m, x[i]) }
    var sum = 0.0
    for i in 0..<count { x[i] = expf(x[i] - m); sum += Double(x[i]) }
    let inv = Float(1 / sum)
    for i in 0..<count { x[i] *= inv }
}

/// ggml's GELU (tanh form), with 1 + 0.044715·x·x fused as GCC contracts it in llama.cpp's build (one
/// entry of the F16 table below differs otherwise).
@inline(__always) private func geluScalar(_ x: Float) -> Float {
    let inner = Float(1).addingProduct(0.044715 * x, x)
    return 0.5 * x * (1 + tanhf(0.7978845608028654 * x * inner))
}

/// SiLU in place, ggml's way: eight lanes at a time with ``vectorExp``, the rest with `expf`.
public func silu(_ x: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i + 8 <= count {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(x + i).storeBytes(of: v / (1 + vectorExp(0 - v)), as: SIMD8<Float>.self)
        i += 8
    }
    while i < count { x[i] = x[i] / (1 + expf(-x[i])); i += 1 }
}
/// GELU (tanh form) as ggml's CPU backend computes it: the input rounded to F16 and looked up in a table
/// of F16-rounded results (ggml defines GGML_GELU_FP16), with x ≤ −10 giving 0 and x ≥ 10 giving x.
/// Matching it matters for agreement with llama.cpp; the table is also several times faster than tanhf.
private let geluTable: [Float] = (0...UInt16.max).map { bits in
    let x = Float(Float16(bitPattern: bits))
    return x.isFinite ? Float(Float16(geluScalar(x))) : 0
}

@inline(__always) private func geluLookup(_ x: Float, _ table: UnsafeBufferPointer<Float>) -> Float {
    if x <= -10 { return 0 }
    if x >= 10 { return x }
    return table[Int(Float16(x).bitPattern)]
}

/// GELU in place, ggml's way (see `geluTable`).
public func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
    geluTable.withUnsafeBufferPointer { t in for i in 0..<count { x[i] = geluLookup(x[i], t) } }
}

/// GELU without the F16 table: the exact formula, the reference ``gelu(_:count:)`` is tested against.
public func geluReference(_ x: Float) -> Float { geluScalar(x) }
/// e^x for eight lanes, the way ggml's vectorized expf (ggml_v_expf, after ARM's optimized-routines)
/// computes it: x = n·ln2 + b with n rounded to an integer, e^b from a degree-5 polynomial, 2^n put
/// in the exponent bits, and a two-factor scale where 2^n alone would overflow or go subnormal
/// (|n| > 126). Within about 1.5 ULP of e^x. llama.cpp's SiLU and SwiGLU run on it, so using it
/// is what makes ours give its numbers, besides being several times faster than `expf` per lane.
@inline(__always)
public func vectorExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let shift = SIMD8<Float>(repeating: 0x1.8p23)
    let z = shift.addingProduct(x, SIMD8(repeating: 0x1.715476p+0))   // x/ln2 + 1.5·2²³, rounded
    let n = z - shift
    let b = x.addingProduct(-n, SIMD8(repeating: 0x1.62e4p-1)).addingProduct(-n, SIMD8(repeating: 0x1.7f7d1cp-20))
    let e = unsafeBitCast(z, to: SIMD8<UInt32>.self) &<< 23
    let k = unsafeBitCast(e &+ (1 as Float).bitPattern, to: SIMD8<Float>.self)
    let u = b * b
    let j = SIMD8<Float>(repeating: 0x1.573e2ep-5).addingProduct(SIMD8(repeating: 0x1.0e4020p-7), b)
        .addingProduct0(u, SIMD8<Float>(repeating: 0x1.fffdb6p-2).addingProduct(SIMD8(repeating: 0x1.555e66p-3), b))
        .addingProduct0(u, SIMD8(repeating: 0x1.ffffecp-1) * b)
    let magnitude = unsafeBitCast(unsafeBitCast(n, to: SIMD8<UInt32>.self) & 0x7fff_ffff, to: SIMD8<Float>.self)
    let large = magnitude .> 126
    if !any(large) { return k.addingProduct(j, k) }
    let g = SIMD8<UInt32>(repeating: 0).replacing(with: 0x8200_0000, where: n .<= 0)
    let s1 = unsafeBitCast(g &+ 0x7f00_0000, to: SIMD8<Float>.self)
    let s2 = unsafeBitCast(e &- g, to: SIMD8<Float>.self)
    let scaled = s2.addingProduct(s2, j) * s1
    return k.addingProduct(k, j).replacing(with: scaled, where: large).replacing(with: s1 * s1, where: magnitude .> 192)
}

private extension SIMD8<Float> {
    /// a·self + c, fused: the polynomial's Horner steps read in ggml's order, fma(inner, u, c).
    @inline(__always) func addingProduct0(_ u: SIMD8<Float>, _ c: SIMD8<Float>) -> SIMD8<Float> { c.addingProduct(self, u) }
}

/// SiLU(gate) · up, ggml's way: eight lanes at a time as x / (1 + ``vectorExp``(−x)), the rest with `expf`.
public func swiglu(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i + 8 <= count {
        let x = UnsafeRawPointer(gate + i).loadUnaligned(as: SIMD8<Float>.self)
        let y = UnsafeRawPointer(up + i).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(out + i).storeBytes(of: x / (1 + vectorExp(0 - x)) * y, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count { out[i] = gate[i] / (1 + expf(-gate[i])) * up[i]; i += 1 }
}
/// GELU(gate) · up, ggml's way (see `geluTable`).
public func geglu(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int) {
    geluTable.withUnsafeBufferPointer { t in for i in 0..<count { out[i] = geluLookup(gate[i], t) * up[i] } }
}
public func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { out[i] = a[i] + b[i] }
}
public func multiply(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { out[i] = a[i] * b[i] }
}
public func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
    var i = 0
    while i + 4 <= count { s0 += a[i] * b[i]; s1 += a[i+1] * b[i+1]; s2 += a[i+2] * b[i+2]; s3 += a[i+3] * b[i+3]; i += 4 }
    while i < count { s0 += a[i] * b[i]; i += 1 }
    return (s0 + s1) + (s2 + s3)
}
public func scale(_ x: UnsafeMutablePointer<Float>, by s: Float, count: Int) { for i in 0..<count { x[i] *= s } }

/// One row of ggml's soft_max (`ggml_compute_forward_soft_max_f32` with scale 1 and no mask): the
/// maximum, e^(x − max) through ggml's vectorized e^x eight at a time (each eight summed as
/// `ggml_vec_soft_max_f32` does, into a double) and `expf` for the tail, then × (float)(1 / sum).
public func softmaxAsGGML(_ x: UnsafeMutablePointer<Float>, count: Int) {
    var m = -Float.infinity
    for i in 0..<count { m = max(m, x[i]) }
    var sum = 0.0, i = 0
    while i + 8 <= count {
        var v = SIMD8<Float>()
        for l in 0..<8 { v[l] = x[i + l] }
        let e = vectorExp(v - SIMD8(repeating: m))
        for l in 0..<8 { x[i + l] = e[l] }
        let t = e.highHalf + e.lowHalf
        sum += Double((t[0] + t[2]) + (t[1] + t[3]))
        i += 8
    }
    while i < count {
        x[i] = expf(x[i] - m)
        sum += Double(x[i])
        i += 1
    }
    let inverse = Float(1 / sum)
    for j in 0..<count { x[j] *= inverse }
}
