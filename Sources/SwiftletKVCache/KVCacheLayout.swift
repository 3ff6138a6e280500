/// How KV rows are stored: F16 halves memory (llama.cpp's default), F32 keeps activations exactly, Q8_0
/// takes about half of F16 again (llama.cpp's `--cache-type-k/-v q8_0`).
public enum KVStorageType: String, Sendable, CaseIterable {
    case f16
    case f32
    /// ggml's Q8_0: blocks of 32 values, each an F16 scale d and 32 signed bytes q (x ≈ d·q), 34 bytes.
    case q8_0

    /// Values per block: a row's width must be a multiple of it (1 for F16 and F32, 32 for Q8_0).
    public var blockSize: Int { self == .q8_0 ? q8_0BlockValues : 1 }

    /// Bytes of one stored row of `width` values (a multiple of ``blockSize``).
    public func rowBytes(width: Int) -> Int {
        switch self {
        case .f16: 2 * width
        case .f32: 4 * width
        case .q8_0: width / q8_0BlockValues * q8_0BlockBytes
        }
    }
}

/// The shape of one layer's cache: row widths of K and V, and an optional sliding window.
public struct KVLayerShape: Sendable, Equatable {
    /// Floats in one position's key row (kv heads × key head size).
    public var keyWidth: Int
    /// Floats in one position's value row (kv heads × value head size).
    public var valueWidth: Int
    /// When set, a token attends only to the last `window` positions (itself included), so the layer
    /// keeps a ring of `window + maxBatch` positions instead of the whole context.
    public var window: Int?

    public init(keyWidth: Int, valueWidth: Int, window: Int? = nil) {
        self.keyWidth = keyWidth
        self.valueWidth = valueWidth
        self.window = window
    }
}

/// The oldest position a token at `position` attends to in a layer with an optional sliding window.
@inlinable
public func firstAttendedPosition(for position: Int, window: Int?) -> Int {
    guard let window else { return 0 }
    return max(0, position - window + 1)
}
