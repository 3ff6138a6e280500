import SwiftletGGUF

/// Quantizes `count` floats (a multiple of the type's block size) into `dst`, bit for bit as ggml's
/// reference quantizers do (`quantize_row_*_ref`): F16, Q8_0, Q4_0 and Q4_1.
public func quantizeRow(_ type: GGMLType, _ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, count: Int) throws(KernelError) {
    guard count % type.blockSize == 0 else { throw .shapeMismatch("\(count) values are not whole \(type.name) blocks") }
    let out = dst.assumingMemoryBound(to: UInt8.self)
    @inline(__always) func storeHalf(_ v: Float, _ offset: Int) {
        dst.storeBytes(of: Float16(v).bitPattern.littleEndian, toByteOffset: offset, as: UInt16.self)
    }
    switch type {
    case .f16:
        for i in 0..<count { storeHalf(src[i], 2 * i) }
    case .q8_0:
        for b in 0..<count / 32 {
            let x = src + 32 * b, o = GGMLType.q8_0.bytesPerBlock * b
            var amax: Float = 0
            for j in 0..<32 { amax = max(amax, abs(x[j])) }
            let d = amax / 127, id: Float = d != 0 ? 1 / d : 0
            storeHalf(d, o)
            for j in 0..<32 {
                let q = (x[j] * id).rounded(.toNearestOrAwayFromZero)
                out[o + 2 + j] = UInt8(bitPattern: q.isFinite ? Int8(max(-128, min(127, q))) : 0)
            }
        }
    case .q4_0:
        for b in 0..<count / 32 {
            let x = src + 32 * b, o = GGMLType.q4_0.bytesPerBlock * b
            // The value of largest magnitude, with its sign, maps to -8.
            var amax: Float = 0, vmax: Float = 0
            for j in 0..<32 where abs(x[j]) > amax { amax = abs(x[j]); vmax = x[j] }
            let d = vmax / -8, id: Float = d != 0 ? 1 / d : 0
            storeHalf(d, o)
            for j in 0..<16 {
                let q0 = nibble(x[j] * id + 8.5), q1 = nibble(x[j + 16] * id + 8.5)
                out[o + 2 + j] = q0 | q1 << 4
            }
        }
    case .q4_1:
        for b in 0..<count / 32 {
            let x = src + 32 * b, o = GGMLType.q4_1.bytesPerBlock * b
            var lo = Float.greatestFiniteMagnitude, hi = -Float.greatestFiniteMagnitude
            for j in 0..<32 { lo = min(lo, x[j]); hi = max(hi, x[j]) }
            let d = (hi - lo) / 15, id: Float = d != 0 ? 1 / d : 0
            storeHalf(d, o)
            storeHalf(lo, o + 2)
            for j in 0..<16 {
                let q0 = nibble((x[j] - lo) * id + 0.5), q1 = nibble((x[j + 16] - lo) * id + 0.5)
                out[o + 4 + j] = q0 | q1 << 4
            }
        }
    default:
        throw .unsupportedType(type)
    }
}

/// `min(15, trunc(v))` for v ≥ 0, as ggml's `MIN(15, (int8_t)v)`; non-finite input (a corrupt weight) is 0.
@inline(__always)
private func nibble(_ v: Float) -> UInt8 {
    guard v.isFinite else { return 0 }
    return UInt8(max(0, min(15, v.rounded(.towardZero))))
}
