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

public func rope(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, position: Int, ropeDim: Int, base: Float, freqScale: Float = 1, style: RoPEStyle) {
    let thetaScale = powf(base, -2 / Float(ropeDim))
    for h in 0..<heads {
        let v = x + h * headDim
        var theta = Float(position) * freqScale
        for i in 0..<ropeDim / 2 {
            let c = cosf(theta), s = sinf(theta)
            let (a, b) = style == .normal ? (2 * i, 2 * i + 1) : (i, i + ropeDim / 2)
            let x0 = v[a], x1 = v[b]
            v[a] = x0 * c - x1 * s
            v[b] = x0 * s + x1 * c
            theta *= thetaScale
        }
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

@inline(__always) private func geluScalar(_ x: Float) -> Float {
    0.5 * x * (1 + tanhf(0.7978845608028654 * x * (1 + 0.044715 * x * x)))
}

public func silu(_ x: UnsafeMutablePointer<Float>, count: Int) { for i in 0..<count { x[i] = x[i] / (1 + expf(-x[i])) } }
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
public func swiglu(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { out[i] = gate[i] / (1 + expf(-gate[i])) * up[i] }
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
