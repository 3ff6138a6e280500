import Foundation
import SwiftletGGUF

@inline(__always) private func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}

/// Scale and minimum of sub-block `j` (0…7) from the 12 packed 6-bit bytes of a Q4_K or Q5_K block.
@inline(__always) func kQuantScaleMin(_ sc: UnsafePointer<UInt8>, _ j: Int) -> (scale: UInt8, min: UInt8) {
    if j < 4 { return (sc[j] & 63, sc[j + 4] & 63) }
    return ((sc[j + 4] & 0xF) | ((sc[j - 4] >> 6) << 4), (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4))
}

@inline(__always) private func kQuantScaleMinFloats(_ sc: UnsafePointer<UInt8>, _ j: Int) -> (Float, Float) {
    let (s, m) = kQuantScaleMin(sc, j)
    return (Float(s), Float(m))
}

/// The sixteen signed 6-bit sub-block scales of a Q3_K block, from its 12 packed bytes at `sc`: low four
/// bits from bytes 0…7, high two from bytes 8…11, minus 32.
@inline(__always) func q3KScales(_ sc: UnsafePointer<UInt8>) -> InlineArray<16, Int8> {
    var scales = InlineArray<16, Int8>(repeating: 0)
    for j in 0..<16 {
        let low = j < 8 ? sc[j] & 0xF : sc[j - 8] >> 4
        let high = (sc[8 + j % 4] >> UInt8(2 * (j / 4))) & 3
        scales[j] = Int8(bitPattern: low | high << 4) &- 32
    }
    return scales
}

/// The BF16 value at `offset` bytes into `p`: the top half of a float.
@inline(__always) func bf16Value(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(bitPattern: UInt32(p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)) << 16)
}

/// A float rounded to BF16 the way ggml does (nearest, ties to even; NaN stays a quiet NaN), as a float.
@inline(__always) func bf16Round(_ x: Float) -> Float {
    let u = x.bitPattern
    if u & 0x7FFF_FFFF > 0x7F80_0000 { return Float(bitPattern: ((u >> 16) | 64) << 16) }
    return Float(bitPattern: ((u &+ (0x7FFF &+ ((u >> 16) & 1))) >> 16) << 16)
}

/// Dequantizes `count` values (whole blocks) of `type` at `src` into `dst` (the format table's `to_float`).
public func dequantizeRow(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) throws(KernelError) {
    guard let format = QuantizationFormat.of(type) else { throw .unsupportedType(type) }
    format.dequantize(src, dst, count)
}

/// ggml's `dequantize_row_f32`.
func dequantizeF32(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    dst.update(from: src.assumingMemoryBound(to: Float.self), count: count)
}

/// ggml's `dequantize_row_f16`.
func dequantizeF16(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { dst[i] = half(src, 2 * i) }
}

/// ggml's `dequantize_row_q8_0`.
func dequantizeQ8_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    let b = src.assumingMemoryBound(to: UInt8.self), bytes = GGMLType.q8_0.bytesPerBlock
    for blk in 0..<count / 32 {
        let o = blk * bytes, d = half(src, o)
        for j in 0..<32 { dst[blk * 32 + j] = d * Float(Int8(bitPattern: b[o + 2 + j])) }
    }
}

/// ggml's `dequantize_row_q4_0`.
func dequantizeQ4_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    let b = src.assumingMemoryBound(to: UInt8.self), bytes = GGMLType.q4_0.bytesPerBlock
    for blk in 0..<count / 32 {
        let o = blk * bytes, d = half(src, o), y = dst + blk * 32
        for j in 0..<16 {
            y[j] = d * Float(Int(b[o + 2 + j] & 0xF) - 8)
            y[j + 16] = d * Float(Int(b[o + 2 + j] >> 4) - 8)
        }
    }
}

/// ggml's `dequantize_row_q4_1`.
func dequantizeQ4_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    let b = src.assumingMemoryBound(to: UInt8.self), bytes = GGMLType.q4_1.bytesPerBlock
    for blk in 0..<count / 32 {
        let o = blk * bytes, d = half(src, o), m = half(src, o + 2), y = dst + blk * 32
        for j in 0..<16 {
            y[j] = d * Float(b[o + 4 + j] & 0xF) + m
            y[j + 16] = d * Float(b[o + 4 + j] >> 4) + m
        }
    }
}

/// ggml's `dequantize_row_q5_0`.
func dequantizeQ5_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    let b = src.assumingMemoryBound(to: UInt8.self), bytes = GGMLType.q5_0.bytesPerBlock
    for blk in 0..<count / 32 {
        let o = blk * bytes, d = half(src, o), y = dst + blk * 32
        let qh = src.loadUnaligned(fromByteOffset: o + 2, as: UInt32.self)
        for j in 0..<16 {
            let h0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
            let h1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
            y[j] = d * Float(Int((b[o + 6 + j] & 0xF) | h0) - 16)
            y[j + 16] = d * Float(Int((b[o + 6 + j] >> 4) | h1) - 16)
        }
    }
}

/// ggml's `dequantize_row_q4_k`.
func dequantizeQ4_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    let b = src.assumingMemoryBound(to: UInt8.self), bytes = GGMLType.q4_K.bytesPerBlock
    for blk in 0..<count / 256 {
        let o = blk * bytes, d = half(src, o), dmin = half(src, o + 2)
        let sc = b + o + 4, q0 = b + o + 16
        var y = dst + blk * 256
        for g in 0..<4 {
            let (s1, m1) = kQuantScaleMinFloats(sc, 2 * g), (s2, m2) = kQuantScaleMinFloats(sc, 2 * g + 1)
            let q = q0 + 32 * g
            for l in 0..<32 { y[l] = d * s1 * Float(q[l] & 0xF) - dmin * m1 }
            for l in 0..<32 { y[l + 32] = d * s2 * Float(q[l] >> 4) - dmin * m2 }
            y += 64
        }
    }
}

/// ggml's `dequantize_row_q6_k`.
func dequantizeQ6_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    let b = src.assumingMemoryBound(to: UInt8.self), bytes = GGMLType.q6_K.bytesPerBlock
    for blk in 0..<count / 256 {
        let o = blk * bytes, d = half(src, o + 208)
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
}

/// ggml's `dequantize_row_bf16`.
func dequantizeBF16(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { dst[i] = bf16Value(src, 2 * i) }
}

/// ggml's `dequantize_row_q5_1`.
func dequantizeQ5_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    let b = src.assumingMemoryBound(to: UInt8.self), bytes = GGMLType.q5_1.bytesPerBlock
    for blk in 0..<count / 32 {
        let o = blk * bytes, d = half(src, o), m = half(src, o + 2), y = dst + blk * 32
        let qh = src.loadUnaligned(fromByteOffset: o + 4, as: UInt32.self)
        for j in 0..<16 {
            let h0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
            let h1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
            y[j] = d * Float((b[o + 8 + j] & 0xF) | h0) + m
            y[j + 16] = d * Float((b[o + 8 + j] >> 4) | h1) + m
        }
    }
}

/// ggml's `dequantize_row_q2_k`.
func dequantizeQ2_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    let b = src.assumingMemoryBound(to: UInt8.self), bytes = GGMLType.q2_K.bytesPerBlock
    // scales[16] (scale | min << 4), qs[64] (four 2-bit values a byte), d, dmin.
    for blk in 0..<count / 256 {
        let o = blk * bytes, d = half(src, o + 80), dmin = half(src, o + 82)
        var y = dst + blk * 256, q = b + o + 16, scale = 0
        for _ in 0..<2 {
            for shift in stride(from: 0, to: 8, by: 2) {
                for part in 0..<2 {
                    let sc = b[o + scale]
                    scale += 1
                    let dl = d * Float(sc & 0xF), ml = dmin * Float(sc >> 4)
                    for l in 0..<16 { y[l] = dl * Float((q[l + 16 * part] >> UInt8(shift)) & 3) - ml }
                    y += 16
                }
            }
            q += 32
        }
    }
}

/// ggml's `dequantize_row_q3_k`.
func dequantizeQ3_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    let b = src.assumingMemoryBound(to: UInt8.self), bytes = GGMLType.q3_K.bytesPerBlock
    // hmask[32] (the third bit), qs[64] (low two bits), scales[12] (sixteen 6-bit scales), d.
    for blk in 0..<count / 256 {
        let o = blk * bytes, d = half(src, o + 108)
        let hm = b + o, scales = q3KScales(b + o + 96)
        var y = dst + blk * 256, q = b + o + 32, scale = 0, mask: UInt8 = 1
        for _ in 0..<2 {
            for shift in stride(from: 0, to: 8, by: 2) {
                for part in 0..<2 {
                    let dl = d * Float(scales[scale])
                    scale += 1
                    for l in 0..<16 {
                        let i = l + 16 * part
                        let v = Int((q[i] >> UInt8(shift)) & 3) - (hm[i] & mask != 0 ? 0 : 4)
                        y[l] = dl * Float(v)
                    }
                    y += 16
                }
                mask <<= 1
            }
            q += 32
        }
    }
}

/// ggml's `dequantize_row_q5_k`.
func dequantizeQ5_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    let b = src.assumingMemoryBound(to: UInt8.self), bytes = GGMLType.q5_K.bytesPerBlock
    // d, dmin, scales[12] (as Q4_K), qh[32] (fifth bits), qs[128].
    for blk in 0..<count / 256 {
        let o = blk * bytes, d = half(src, o), dmin = half(src, o + 2)
        let sc = b + o + 4, qh = b + o + 16
        var ql = b + o + 48, y = dst + blk * 256
        var u1: UInt8 = 1, u2: UInt8 = 2
        for g in 0..<4 {
            let (s1, m1) = kQuantScaleMinFloats(sc, 2 * g), (s2, m2) = kQuantScaleMinFloats(sc, 2 * g + 1)
            let d1 = d * s1, dm1 = dmin * m1, d2 = d * s2, dm2 = dmin * m2
            for l in 0..<32 { y[l] = d1 * Float((ql[l] & 0xF) + (qh[l] & u1 != 0 ? 16 : 0)) - dm1 }
            for l in 0..<32 { y[l + 32] = d2 * Float((ql[l] >> 4) + (qh[l] & u2 != 0 ? 16 : 0)) - dm2 }
            ql += 32; y += 64; u1 <<= 2; u2 <<= 2
        }
    }
}
