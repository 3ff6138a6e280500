// TEMPORARY: scalar stand-ins for the SwiftletKernels contract (notes/KERNELS_API.md), with its exact
// names and signatures, so the model can run before the `kernels` and `fast` branches land.
// Delete this file when they are merged.
import Foundation
import SwiftletGGUF

enum KernelError: Error, Sendable, CustomStringConvertible {
    case unsupportedType(GGMLType)
    case shapeMismatch(String)
    var description: String {
        switch self {
        case .unsupportedType(let t): "unsupported tensor type \(t.name)"
        case .shapeMismatch(let s): "shape mismatch: \(s)"
        }
    }
}

@inline(__always) private func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}

func dequantizeRow(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) throws(KernelError) {
    let b = src.assumingMemoryBound(to: UInt8.self)
    switch type {
    case .f32:
        dst.update(from: src.assumingMemoryBound(to: Float.self), count: count)
    case .f16:
        for i in 0..<count { dst[i] = half(src, 2 * i) }
    case .q8_0:
        for blk in 0..<count / 32 {
            let o = blk * 34, d = half(src, o)
            for j in 0..<32 { dst[blk * 32 + j] = d * Float(Int8(bitPattern: b[o + 2 + j])) }
        }
    case .q4_0:
        for blk in 0..<count / 32 {
            let o = blk * 18, d = half(src, o), y = dst + blk * 32
            for j in 0..<16 {
                y[j] = d * Float(Int(b[o + 2 + j] & 0xF) - 8)
                y[j + 16] = d * Float(Int(b[o + 2 + j] >> 4) - 8)
            }
        }
    case .q4_1:
        for blk in 0..<count / 32 {
            let o = blk * 20, d = half(src, o), m = half(src, o + 2), y = dst + blk * 32
            for j in 0..<16 {
                y[j] = d * Float(b[o + 4 + j] & 0xF) + m
                y[j + 16] = d * Float(b[o + 4 + j] >> 4) + m
            }
        }
    case .q5_0:
        for blk in 0..<count / 32 {
            let o = blk * 22, d = half(src, o), y = dst + blk * 32
            let qh = src.loadUnaligned(fromByteOffset: o + 2, as: UInt32.self)
            for j in 0..<16 {
                let h0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
                let h1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
                y[j] = d * Float(Int((b[o + 6 + j] & 0xF) | h0) - 16)
                y[j + 16] = d * Float(Int((b[o + 6 + j] >> 4) | h1) - 16)
            }
        }
    case .q4_K:
        for blk in 0..<count / 256 {
            let o = blk * 144, d = half(src, o), dmin = half(src, o + 2)
            let sc = b + o + 4, q0 = b + o + 16
            var y = dst + blk * 256
            func scaleMin(_ j: Int) -> (Float, Float) {
                if j < 4 { return (Float(sc[j] & 63), Float(sc[j + 4] & 63)) }
                return (Float((sc[j + 4] & 0xF) | ((sc[j - 4] >> 6) << 4)), Float((sc[j + 4] >> 4) | ((sc[j] >> 6) << 4)))
            }
            for g in 0..<4 {
                let (s1, m1) = scaleMin(2 * g), (s2, m2) = scaleMin(2 * g + 1)
                let q = q0 + 32 * g
                for l in 0..<32 { y[l] = d * s1 * Float(q[l] & 0xF) - dmin * m1 }
                for l in 0..<32 { y[l + 32] = d * s2 * Float(q[l] >> 4) - dmin * m2 }
                y += 64
            }
        }
    case .q6_K:
        for blk in 0..<count / 256 {
            let o = blk * 210, d = half(src, o + 208)
            var ql = b + o, qh = b + o + 128
            var sc = UnsafeRawPointer(b + o + 192).assumingMemoryBound(to: Int8.self)
            var y = dst + blk * 256
            for _ in 0..<2 {
                for l in 0..<32 {
                    let s = l / 16
                    let q1 = Int((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32
                    let q2 = Int((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32
                    let q3 = Int((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32
                    let q4 = Int((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32
                    y[l] = d * Float(sc[s]) * Float(q1)
                    y[l + 32] = d * Float(sc[s + 2]) * Float(q2)
                    y[l + 64] = d * Float(sc[s + 4]) * Float(q3)
                    y[l + 96] = d * Float(sc[s + 6]) * Float(q4)
                }
                y += 128; ql += 64; qh += 32; sc += 8
            }
        }
    default:
        throw .unsupportedType(type)
    }
}

enum RoPEStyle: Sendable { case normal, neox }

func rmsNorm(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>?, out: UnsafeMutablePointer<Float>, count: Int, epsilon: Float) {
    var sum = 0.0
    for i in 0..<count { sum += Double(x[i] * x[i]) }
    let s = 1 / (Float(sum / Double(count)) + epsilon).squareRoot()
    if let weight {
        for i in 0..<count { out[i] = x[i] * s * weight[i] }
    } else {
        for i in 0..<count { out[i] = x[i] * s }
    }
}

func rope(_ x: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, position: Int, ropeDim: Int, base: Float, freqScale: Float = 1, style: RoPEStyle) {
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

func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
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

func silu(_ x: UnsafeMutablePointer<Float>, count: Int) { for i in 0..<count { x[i] = x[i] / (1 + expf(-x[i])) } }
func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) { for i in 0..<count { x[i] = geluScalar(x[i]) } }
func swiglu(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { out[i] = gate[i] / (1 + expf(-gate[i])) * up[i] }
}
func geglu(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { out[i] = geluScalar(gate[i]) * up[i] }
}
func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { out[i] = a[i] + b[i] }
}
func multiply(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { out[i] = a[i] * b[i] }
}
func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
    var i = 0
    while i + 4 <= count { s0 += a[i] * b[i]; s1 += a[i+1] * b[i+1]; s2 += a[i+2] * b[i+2]; s3 += a[i+3] * b[i+3]; i += 4 }
    while i < count { s0 += a[i] * b[i]; i += 1 }
    return (s0 + s1) + (s2 + s3)
}
func scale(_ x: UnsafeMutablePointer<Float>, by s: Float, count: Int) { for i in 0..<count { x[i] *= s } }

private struct UncheckedBody: @unchecked Sendable { let f: (Int) -> Void }

final class ThreadPool: @unchecked Sendable {
    let threadCount: Int
    init(threads: Int) { threadCount = max(1, threads) }
    func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if threadCount == 1 || count < 2 { for i in 0..<count { body(i) }; return }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBody(f: body)
            DispatchQueue.concurrentPerform(iterations: count) { box.f($0) }
        }
    }
}

struct WeightMatrix: @unchecked Sendable {
    let type: GGMLType
    let rows: Int
    let columns: Int
    let data: UnsafeRawPointer
    let bytesPerRow: Int
    init(_ tensor: GGUFTensorInfo, in file: GGUFFile) throws(KernelError) {
        guard tensor.shape.count == 1 || tensor.shape.count == 2 else { throw .shapeMismatch("\(tensor.name) has \(tensor.shape.count) dimensions") }
        type = tensor.type
        columns = tensor.shape[0]
        rows = tensor.shape.count == 2 ? tensor.shape[1] : 1
        bytesPerRow = tensor.bytesPerRow
        guard let base = file.tensorData(tensor).baseAddress else { throw .shapeMismatch("\(tensor.name) is empty") }
        data = base
    }
    func row(_ r: Int) -> UnsafeRawPointer { data + r * bytesPerRow }
}

private func rowChunks(_ rows: Int, _ pool: ThreadPool) -> Int { max(1, min(rows, pool.threadCount * 8)) }

// ggml's CPU matmul quantizes the activations to the weight's "vec_dot type" (Q8_0, Q8_1 or Q8_K;
// F16 for F16 weights) and takes integer dot products per block. Doing the same is what makes logits
// match llama.cpp's to ~1e-3 instead of ~1e-1 nats.
private struct QuantizedActivations {
    var qs: [Int8] = []       // (tokens, columns)
    var d: [Float] = []       // per block scale (F16-rounded for Q8_0/Q8_1, F32 for Q8_K)
    var s: [Float] = []       // Q8_1: d × Σq per block (F16-rounded)
    var bsums: [Int32] = []   // Q8_K: Σq per 16
    var half: [Float] = []    // F16 weights: x rounded to F16
}

@inline(__always) private func f16Round(_ x: Float) -> Float { Float(Float16(x)) }

private func quantizeActivations(_ type: GGMLType, _ x: UnsafePointer<Float>, tokens: Int, columns: Int) -> QuantizedActivations {
    var a = QuantizedActivations()
    let n = tokens * columns
    switch type {
    case .q4_0, .q5_0, .q8_0, .q4_1, .q5_1:
        a.qs = [Int8](repeating: 0, count: n)
        a.d = [Float](repeating: 0, count: n / 32)
        a.s = [Float](repeating: 0, count: n / 32)
        for b in 0..<n / 32 {
            let v = x + b * 32
            var amax: Float = 0
            for j in 0..<32 { amax = max(amax, abs(v[j])) }
            let d = amax / 127, id: Float = amax != 0 ? 127 / amax : 0
            var sum = 0
            for j in 0..<32 {
                let q = Int((v[j] * id).rounded(.toNearestOrEven))
                a.qs[b * 32 + j] = Int8(clamping: q)
                sum += q
            }
            a.d[b] = f16Round(d)
            a.s[b] = f16Round(d * Float(sum))
        }
    case .q4_K, .q6_K, .q5_K, .q3_K, .q2_K:
        a.qs = [Int8](repeating: 0, count: n)
        a.d = [Float](repeating: 0, count: n / 256)
        a.bsums = [Int32](repeating: 0, count: n / 16)
        for b in 0..<n / 256 {
            let v = x + b * 256
            var amax: Float = 0, mx: Float = 0
            for j in 0..<256 where abs(v[j]) > amax { amax = abs(v[j]); mx = v[j] }
            guard amax != 0 else { continue }
            let iscale = -127 / mx
            for j in 0..<256 {
                let q = min(127, Int((iscale * v[j]).rounded(.toNearestOrEven)))
                a.qs[b * 256 + j] = Int8(clamping: q)
                a.bsums[b * 16 + j / 16] += Int32(q)
            }
            a.d[b] = 1 / iscale
        }
    case .f16:
        a.half = (0..<n).map { f16Round(x[$0]) }
    default:
        break
    }
    return a
}

/// One weight row · one token's quantized activations, the way ggml's vec_dot does it.
private func quantizedDot(_ type: GGMLType, _ w: UnsafeRawPointer, _ a: QuantizedActivations, token t: Int, columns: Int, x: UnsafePointer<Float>, scratch: UnsafeMutablePointer<Float>) -> Float {
    let b = w.assumingMemoryBound(to: UInt8.self)
    var sumf: Float = 0
    switch type {
    case .q8_0:
        for blk in 0..<columns / 32 {
            let o = blk * 34, ab = t * columns / 32 + blk
            var sumi: Int32 = 0
            for j in 0..<32 { sumi += Int32(Int8(bitPattern: b[o + 2 + j])) * Int32(a.qs[ab * 32 + j]) }
            sumf += Float(sumi) * (half(w, o) * a.d[ab])
        }
    case .q4_0:
        for blk in 0..<columns / 32 {
            let o = blk * 18, ab = t * columns / 32 + blk
            var sumi: Int32 = 0
            for j in 0..<16 {
                sumi += (Int32(b[o + 2 + j] & 0xF) - 8) * Int32(a.qs[ab * 32 + j])
                sumi += (Int32(b[o + 2 + j] >> 4) - 8) * Int32(a.qs[ab * 32 + j + 16])
            }
            sumf += Float(sumi) * (half(w, o) * a.d[ab])
        }
    case .q4_1:
        for blk in 0..<columns / 32 {
            let o = blk * 20, ab = t * columns / 32 + blk
            var sumi: Int32 = 0
            for j in 0..<16 {
                sumi += Int32(b[o + 4 + j] & 0xF) * Int32(a.qs[ab * 32 + j])
                sumi += Int32(b[o + 4 + j] >> 4) * Int32(a.qs[ab * 32 + j + 16])
            }
            sumf += (half(w, o) * a.d[ab]) * Float(sumi) + half(w, o + 2) * a.s[ab]
        }
    case .q5_0:
        for blk in 0..<columns / 32 {
            let o = blk * 22, ab = t * columns / 32 + blk
            let qh = w.loadUnaligned(fromByteOffset: o + 2, as: UInt32.self)
            var sumi: Int32 = 0
            for j in 0..<16 {
                let h0 = Int32((qh >> UInt32(j)) << 4 & 0x10), h1 = Int32((qh >> UInt32(j + 12)) & 0x10)
                sumi += ((Int32(b[o + 6 + j] & 0xF) | h0) - 16) * Int32(a.qs[ab * 32 + j])
                sumi += ((Int32(b[o + 6 + j] >> 4) | h1) - 16) * Int32(a.qs[ab * 32 + j + 16])
            }
            sumf += Float(sumi) * (half(w, o) * a.d[ab])
        }
    case .q4_K:
        for blk in 0..<columns / 256 {
            let o = blk * 144, ab = t * columns / 256 + blk
            let sc = b + o + 4, q = b + o + 16, qa = t * columns + blk * 256
            func scaleMin(_ j: Int) -> (Int32, Int32) {
                if j < 4 { return (Int32(sc[j] & 63), Int32(sc[j + 4] & 63)) }
                return (Int32((sc[j + 4] & 0xF) | ((sc[j - 4] >> 6) << 4)), Int32((sc[j + 4] >> 4) | ((sc[j] >> 6) << 4)))
            }
            var sumi: Int32 = 0, summ: Int32 = 0
            for g in 0..<4 {
                let (s1, m1) = scaleMin(2 * g), (s2, m2) = scaleMin(2 * g + 1)
                var d1: Int32 = 0, d2: Int32 = 0
                for l in 0..<32 {
                    d1 += Int32(q[32 * g + l] & 0xF) * Int32(a.qs[qa + 64 * g + l])
                    d2 += Int32(q[32 * g + l] >> 4) * Int32(a.qs[qa + 64 * g + 32 + l])
                }
                sumi += s1 * d1 + s2 * d2
                let bs = ab * 16 + 4 * g
                summ += m1 * (a.bsums[bs] + a.bsums[bs + 1]) + m2 * (a.bsums[bs + 2] + a.bsums[bs + 3])
            }
            let d = a.d[ab] * half(w, o), dmin = -a.d[ab] * half(w, o + 2)
            sumf += d * Float(sumi) + dmin * Float(summ)
        }
    case .q6_K:
        for blk in 0..<columns / 256 {
            let o = blk * 210, ab = t * columns / 256 + blk, qa = t * columns + blk * 256
            let ql = b + o, qh = b + o + 128
            let sc = UnsafeRawPointer(b + o + 192).assumingMemoryBound(to: Int8.self)
            var sumi: Int32 = 0
            for half_ in 0..<2 {
                let l0 = ql + 64 * half_, h0 = qh + 32 * half_, s0 = sc + 8 * half_, a0 = qa + 128 * half_
                var acc = [Int32](repeating: 0, count: 8)
                for l in 0..<32 {
                    let q1 = Int32((l0[l] & 0xF) | ((h0[l] & 3) << 4)) - 32
                    let q2 = Int32((l0[l + 32] & 0xF) | (((h0[l] >> 2) & 3) << 4)) - 32
                    let q3 = Int32((l0[l] >> 4) | (((h0[l] >> 4) & 3) << 4)) - 32
                    let q4 = Int32((l0[l + 32] >> 4) | (((h0[l] >> 6) & 3) << 4)) - 32
                    let s = l / 16
                    acc[s] += q1 * Int32(a.qs[a0 + l])
                    acc[s + 2] += q2 * Int32(a.qs[a0 + l + 32])
                    acc[s + 4] += q3 * Int32(a.qs[a0 + l + 64])
                    acc[s + 6] += q4 * Int32(a.qs[a0 + l + 96])
                }
                for j in 0..<8 { sumi += Int32(s0[j]) * acc[j] }
            }
            sumf += half(w, o + 208) * a.d[ab] * Float(sumi)
        }
    case .f16:
        for i in 0..<columns { sumf += half(w, 2 * i) * a.half[t * columns + i] }
    default:
        try? dequantizeRow(type, w, scratch, count: columns)
        sumf = dot(scratch, x + t * columns, count: columns)
    }
    return sumf
}

func matvec(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
    matmul(w, x, tokens: 1, y, pool: pool)
}

func matmul(_ w: WeightMatrix, _ x: UnsafePointer<Float>, tokens: Int, _ y: UnsafeMutablePointer<Float>, pool: ThreadPool) {
    let a = quantizeActivations(w.type, x, tokens: tokens, columns: w.columns)
    let chunks = rowChunks(w.rows, pool)
    pool.parallelFor(chunks) { c in
        let buf = UnsafeMutablePointer<Float>.allocate(capacity: w.columns)
        defer { buf.deallocate() }
        for r in (w.rows * c / chunks)..<(w.rows * (c + 1) / chunks) {
            for t in 0..<tokens { y[t * w.rows + r] = quantizedDot(w.type, w.row(r), a, token: t, columns: w.columns, x: x, scratch: buf) }
        }
    }
}

func embeddingRow(_ w: WeightMatrix, token: Int, into dst: UnsafeMutablePointer<Float>) throws(KernelError) {
    guard token >= 0, token < w.rows else { throw .shapeMismatch("token \(token) outside 0..<\(w.rows)") }
    try dequantizeRow(w.type, w.row(token), dst, count: w.columns)
}
