#if SWIFTLET_AVX2 && arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Values in one Q8_0 block (ggml's `QK8_0`).
public let q8_0BlockValues = 32
/// Bytes of one Q8_0 block: the F16 scale, then 32 signed bytes (ggml's `block_q8_0`).
public let q8_0BlockBytes = 34

/// Quantizes `count` floats (a multiple of 32) at `src` to Q8_0 blocks at `dst`, as llama.cpp writes a
/// row into a Q8_0 KV cache: its CPU backend's `set_rows` calls the type's `from_float`, which on x86 is
/// `quantize_row_q8_0` (ggml-cpu/arch/x86/quants.c). Per block: d = max|x| / 127 stored as F16, and
/// q = x · (127 / max|x|) rounded to nearest, ties to even (`_mm256_round_ps(_MM_ROUND_NEAREST)`).
///
/// ggml's reference `quantize_row_q8_0_ref` (and Python `gguf`) instead multiply by 1 / d and round
/// ties away from zero (`roundf`); the two differ only on exact ties and in the last bit of the
/// multiplier, and the cache follows the function llama.cpp actually runs. Every build of Swiftlet
/// quantizes the same way (the AVX2 path and the portable loop give the same bytes for finite input; a
/// NaN or infinity, which no healthy model produces, gives some byte and never a trap).
public func quantizeQ8_0Row(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, count: Int) {
    precondition(count % q8_0BlockValues == 0, "a Q8_0 row holds whole blocks of 32 values")
    for b in 0..<count / q8_0BlockValues {
        let x = src + b &* q8_0BlockValues, block = dst + b &* q8_0BlockBytes
        let qs = (block + 2).assumingMemoryBound(to: Int8.self)
        #if SWIFTLET_AVX2 && arch(x86_64)
        let amax = avx2QuantizeQ8_0Block(x, qs)
        #else
        let amax = portableQuantizeQ8_0Block(x, qs)
        #endif
        block.storeBytes(of: Float16(amax / 127).bitPattern.littleEndian, as: UInt16.self)
    }
}

/// The floats of `count` values (a multiple of 32) of Q8_0 blocks at `src`: x = d · q, as ggml's
/// `dequantize_row_q8_0`.
public func dequantizeQ8_0Row(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    for b in 0..<count / q8_0BlockValues {
        let block = src + b &* q8_0BlockBytes, out = dst + b &* q8_0BlockValues
        let d = Float(Float16(bitPattern: UInt16(littleEndian: block.loadUnaligned(as: UInt16.self))))
        let qs = (block + 2).assumingMemoryBound(to: Int8.self)
        #if SWIFTLET_AVX2 && arch(x86_64)
        // Eight at a time: sign-extend, convert (exact), one multiply each, as the scalar loop.
        let scale = _mm256_set1_ps(d)
        for i in stride(from: 0, to: q8_0BlockValues, by: 8) {
            let bytes = _mm_loadl_epi64(UnsafeRawPointer(qs + i).assumingMemoryBound(to: __m128i.self))
            _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes)), scale))
        }
        #else
        for j in 0..<q8_0BlockValues { out[j] = d * Float(qs[j]) }
        #endif
    }
}

/// One block's q values at `q`; returns max|x| (the scale before F16 rounding is max|x| / 127).
@inline(__always)
func portableQuantizeQ8_0Block(_ x: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Int8>) -> Float {
    var amax: Float = 0
    for j in 0..<q8_0BlockValues where abs(x[j]) > amax { amax = abs(x[j]) }
    let id: Float = amax != 0 ? 127 / amax : 0
    for j in 0..<q8_0BlockValues {
        let v = (x[j] * id).rounded(.toNearestOrEven)
        q[j] = v.isFinite ? Int8(max(-128, min(127, v))) : -128
    }
    return amax
}

#if SWIFTLET_AVX2 && arch(x86_64)
/// ggml's AVX2 `quantize_row_q8_0` for one block (the same bytes as ``portableQuantizeQ8_0Block(_:_:)``).
@inline(__always)
func avx2QuantizeQ8_0Block(_ x: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Int8>) -> Float {
    let x0 = _mm256_loadu_ps(x), x1 = _mm256_loadu_ps(x + 8), x2 = _mm256_loadu_ps(x + 16), x3 = _mm256_loadu_ps(x + 24)
    let signBit = _mm256_set1_ps(-0.0)
    let m = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(signBit, x0), _mm256_andnot_ps(signBit, x1)),
                          _mm256_max_ps(_mm256_andnot_ps(signBit, x2), _mm256_andnot_ps(signBit, x3)))
    let lanes: SIMD8<Float> = m
    var amax: Float = 0
    for i in 0..<8 where lanes[i] > amax { amax = lanes[i] }
    let id = _mm256_set1_ps(amax != 0 ? 127 / amax : 0)
    // vcvtps2dq rounds to nearest even under the default rounding mode, as _mm256_round_ps does.
    let i0 = _mm256_cvtps_epi32(_mm256_mul_ps(x0, id)), i1 = _mm256_cvtps_epi32(_mm256_mul_ps(x1, id))
    let i2 = _mm256_cvtps_epi32(_mm256_mul_ps(x2, id)), i3 = _mm256_cvtps_epi32(_mm256_mul_ps(x3, id))
    // The packs interleave 128-bit lanes; the permute puts the 32 bytes back in element order.
    let bytes = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3))
    _mm256_storeu_si256(UnsafeMutableRawPointer(q).assumingMemoryBound(to: __m256i.self),
                        _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)))
    return amax
}
#endif
