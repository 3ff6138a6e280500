/// How KV rows are stored: F16 halves memory (llama.cpp's default), F32 keeps activations exactly.
public enum KVStorageType: String, Sendable, CaseIterable {
    case f16
    case f32

    /// Bytes of one stored element.
    public var bytesPerElement: Int { self == .f16 ? 2 : 4 }
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
