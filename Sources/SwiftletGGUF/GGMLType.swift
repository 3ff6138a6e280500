/// A ggml tensor element type, as stored in a GGUF tensor info.
///
/// Every type id that ggml has defined (and not retired) is here, with its block geometry, so the byte
/// size of any tensor is known even for types that have no kernel yet.
public enum GGMLType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q5_0 = 6
    case q5_1 = 7
    case q8_0 = 8
    case q8_1 = 9
    case q2_K = 10
    case q3_K = 11
    case q4_K = 12
    case q5_K = 13
    case q6_K = 14
    case q8_K = 15
    case iq2_XXS = 16
    case iq2_XS = 17
    case iq3_XXS = 18
    case iq1_S = 19
    case iq4_NL = 20
    case iq3_S = 21
    case iq2_S = 22
    case iq4_XS = 23
    case i8 = 24
    case i16 = 25
    case i32 = 26
    case i64 = 27
    case f64 = 28
    case iq1_M = 29
    case bf16 = 30
    case tq1_0 = 34
    case tq2_0 = 35
    case mxfp4 = 39
    case nvfp4 = 40
    case q1_0 = 41

    /// The geometry of one block: how many elements it holds and how many bytes it takes.
    public struct Traits: Sendable, Equatable {
        public let name: String
        public let blockSize: Int
        public let bytesPerBlock: Int

        @inlinable init(name: String, blockSize: Int, bytesPerBlock: Int) {
            self.name = name
            self.blockSize = blockSize
            self.bytesPerBlock = bytesPerBlock
        }
    }

    /// Name, block size and bytes per block, as ggml defines them. Inlinable, so that kernels specialized
    /// for one type see its block size and bytes as constants.
    @inlinable public var traits: Traits {
        switch self {
        case .f32: Traits(name: "F32", blockSize: 1, bytesPerBlock: 4)
        case .f16: Traits(name: "F16", blockSize: 1, bytesPerBlock: 2)
        case .q4_0: Traits(name: "Q4_0", blockSize: 32, bytesPerBlock: 18)
        case .q4_1: Traits(name: "Q4_1", blockSize: 32, bytesPerBlock: 20)
        case .q5_0: Traits(name: "Q5_0", blockSize: 32, bytesPerBlock: 22)
        case .q5_1: Traits(name: "Q5_1", blockSize: 32, bytesPerBlock: 24)
        case .q8_0: Traits(name: "Q8_0", blockSize: 32, bytesPerBlock: 34)
        // ggml's block_q8_1 is two halves (d, s) and 32 int8 values.
        case .q8_1: Traits(name: "Q8_1", blockSize: 32, bytesPerBlock: 36)
        case .q2_K: Traits(name: "Q2_K", blockSize: 256, bytesPerBlock: 84)
        case .q3_K: Traits(name: "Q3_K", blockSize: 256, bytesPerBlock: 110)
        case .q4_K: Traits(name: "Q4_K", blockSize: 256, bytesPerBlock: 144)
        case .q5_K: Traits(name: "Q5_K", blockSize: 256, bytesPerBlock: 176)
        case .q6_K: Traits(name: "Q6_K", blockSize: 256, bytesPerBlock: 210)
        case .q8_K: Traits(name: "Q8_K", blockSize: 256, bytesPerBlock: 292)
        case .iq2_XXS: Traits(name: "IQ2_XXS", blockSize: 256, bytesPerBlock: 66)
        case .iq2_XS: Traits(name: "IQ2_XS", blockSize: 256, bytesPerBlock: 74)
        case .iq3_XXS: Traits(name: "IQ3_XXS", blockSize: 256, bytesPerBlock: 98)
        case .iq1_S: Traits(name: "IQ1_S", blockSize: 256, bytesPerBlock: 50)
        case .iq4_NL: Traits(name: "IQ4_NL", blockSize: 32, bytesPerBlock: 18)
        case .iq3_S: Traits(name: "IQ3_S", blockSize: 256, bytesPerBlock: 110)
        case .iq2_S: Traits(name: "IQ2_S", blockSize: 256, bytesPerBlock: 82)
        case .iq4_XS: Traits(name: "IQ4_XS", blockSize: 256, bytesPerBlock: 136)
        case .i8: Traits(name: "I8", blockSize: 1, bytesPerBlock: 1)
        case .i16: Traits(name: "I16", blockSize: 1, bytesPerBlock: 2)
        case .i32: Traits(name: "I32", blockSize: 1, bytesPerBlock: 4)
        case .i64: Traits(name: "I64", blockSize: 1, bytesPerBlock: 8)
        case .f64: Traits(name: "F64", blockSize: 1, bytesPerBlock: 8)
        case .iq1_M: Traits(name: "IQ1_M", blockSize: 256, bytesPerBlock: 56)
        case .bf16: Traits(name: "BF16", blockSize: 1, bytesPerBlock: 2)
        case .tq1_0: Traits(name: "TQ1_0", blockSize: 256, bytesPerBlock: 54)
        case .tq2_0: Traits(name: "TQ2_0", blockSize: 256, bytesPerBlock: 66)
        case .mxfp4: Traits(name: "MXFP4", blockSize: 32, bytesPerBlock: 17)
        case .nvfp4: Traits(name: "NVFP4", blockSize: 64, bytesPerBlock: 36)
        case .q1_0: Traits(name: "Q1_0", blockSize: 128, bytesPerBlock: 18)
        }
    }

    public var name: String { traits.name }
    @inlinable public var blockSize: Int { traits.blockSize }
    @inlinable public var bytesPerBlock: Int { traits.bytesPerBlock }
    public var description: String { name }

    /// The type whose name is `name` (case-insensitive, `"Q4_K"` or `"q4_k"`).
    public init?(name: String) {
        let upper = name.uppercased()
        guard let match = GGMLType.allCases.first(where: { $0.name == upper }) else { return nil }
        self = match
    }

    /// Bytes taken by `elements` values of this type, or nil when `elements` is not a whole number of
    /// blocks or the size overflows.
    public func byteCount(elements: Int) -> Int? {
        guard elements >= 0, elements % blockSize == 0 else { return nil }
        let (bytes, overflow) = (elements / blockSize).multipliedReportingOverflow(by: bytesPerBlock)
        return overflow ? nil : bytes
    }
}
