import SwiftletKVCache

/// How a model's KV cache stores keys or values (llama.cpp's `--cache-type-k` / `--cache-type-v` names).
///
/// ``f16`` is llama.cpp's default and the one whose numbers match llama.cpp's to the bit. ``q8_0`` takes
/// 34 bytes per 32 values instead of 64 (53%), so a context costs about half the memory, for a small
/// perplexity change (Docs/Numerics.md has the figures); it needs head sizes that are multiples of 32.
/// ``f32`` doubles F16's memory and keeps activations exactly.
public enum KVCacheType: String, Sendable, CaseIterable {
    case f16
    case q8_0
    case f32

    /// The cache module's storage type.
    var storage: KVStorageType {
        switch self {
        case .f16: .f16
        case .q8_0: .q8_0
        case .f32: .f32
        }
    }
}
