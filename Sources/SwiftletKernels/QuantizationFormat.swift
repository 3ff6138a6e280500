import SwiftletGGUF

/// The activations a weight type's dot product consumes (ggml's `vec_dot_type`).
public enum ActivationFormat: Sendable, Equatable {
    /// 8-bit values with one F16 scale per 32 (Q4_0, Q5_0, Q8_0).
    case q8_0
    /// The same with each block's scaled sum kept too (Q4_1, Q5_1, whose minimum multiplies it).
    case q8_1
    /// 8-bit values with one float scale per 256 and the sum of each 16 (the K-quants).
    case q8_K
    /// Floats rounded to F16 or BF16.
    case f16, bf16
    /// Floats as they are (F32 weights, and types without an integer dot product).
    case f32

    /// Formats held in the same buffers: a product of one can reuse another's quantized activations.
    var layout: Int {
        switch self {
        case .q8_0, .q8_1: 0
        case .q8_K: 1
        case .f16: 2
        case .bf16: 4
        case .f32: 3
        }
    }
}

/// Everything the kernels know of one weight type, in one table: ggml's `type_traits` (block geometry,
/// `to_float`) and `type_traits_cpu` (`vec_dot_type`, `vec_dot`). The dot product here is the portable
/// one, in ggml's scalar order; which faster kernel a product takes instead is decided in
/// `QuantizedMatmul.swift`. The block size and bytes per block are
/// ``GGMLType``'s, as the file format defines them; the kernels read them from here rather than
/// repeating them.
public struct QuantizationFormat: Sendable {
    public let type: GGMLType
    /// The activations its dot product consumes.
    public let activation: ActivationFormat
    /// Dequantizes `count` values (whole blocks).
    let dequantize: @Sendable (_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) -> Void
    /// One row · token `t`'s activations in this format (nil: dequantize and take the float dot).
    let dot: (@Sendable (_ row: UnsafeRawPointer, _ a: QuantizedActivations, _ t: Int, _ columns: Int) -> Float)?

    public var blockSize: Int { type.blockSize }
    public var bytesPerBlock: Int { type.bytesPerBlock }

    /// The format of `type`, or nil for a type Swiftlet does not multiply. An array lookup by the type's
    /// raw value: the matrix products ask once per product, and the portable path once per row.
    public static func of(_ type: GGMLType) -> QuantizationFormat? {
        let i = Int(type.rawValue)
        return i < table.count ? table[i] : nil
    }

    /// Every weight type Swiftlet multiplies, at its `GGMLType` raw value.
    private static let table: [QuantizationFormat?] = {
        let formats: [QuantizationFormat] = [
            .init(type: .f32, activation: .f32, dequantize: dequantizeF32, dot: nil),
            .init(type: .f16, activation: .f16, dequantize: dequantizeF16, dot: dotF16),
            .init(type: .bf16, activation: .bf16, dequantize: dequantizeBF16, dot: dotBF16),
            .init(type: .q4_0, activation: .q8_0, dequantize: dequantizeQ4_0, dot: dotQ4_0),
            .init(type: .q4_1, activation: .q8_1, dequantize: dequantizeQ4_1, dot: dotQ4_1),
            .init(type: .q5_0, activation: .q8_0, dequantize: dequantizeQ5_0, dot: dotQ5_0),
            .init(type: .q5_1, activation: .q8_1, dequantize: dequantizeQ5_1, dot: dotQ5_1),
            .init(type: .q8_0, activation: .q8_0, dequantize: dequantizeQ8_0, dot: dotQ8_0),
            .init(type: .q2_K, activation: .q8_K, dequantize: dequantizeQ2_K, dot: dotQ2_K),
            .init(type: .q3_K, activation: .q8_K, dequantize: dequantizeQ3_K, dot: dotQ3_K),
            .init(type: .q4_K, activation: .q8_K, dequantize: dequantizeQ4_K,
                  dot: { dotNibblesK(.q4_K, $0, $1, token: $2, columns: $3) }),
            .init(type: .q5_K, activation: .q8_K, dequantize: dequantizeQ5_K,
                  dot: { dotNibblesK(.q5_K, $0, $1, token: $2, columns: $3) }),
            .init(type: .q6_K, activation: .q8_K, dequantize: dequantizeQ6_K, dot: dotQ6_K),
        ]
        var table = [QuantizationFormat?](repeating: nil, count: Int(formats.map(\.type.rawValue).max()!) + 1)
        for f in formats { table[Int(f.type.rawValue)] = f }
        return table
    }()
}
