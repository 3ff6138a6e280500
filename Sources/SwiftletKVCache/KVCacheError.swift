/// Why a KV-cache operation was refused.
public enum KVCacheError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Appending `requested` positions would pass the cache's `capacity`.
    case capacityExceeded(requested: Int, capacity: Int)
    /// A batch larger than the sliding-window layers were sized for.
    case batchTooLarge(tokens: Int, maxBatch: Int)
    /// A position outside what the cache holds (never written, truncated, or slid out of a window).
    case positionNotHeld(layer: Int, position: Int)
    /// Truncation that would need positions a sliding-window layer has already dropped.
    case cannotTruncate(to: Int, oldestNeeded: Int, oldestHeld: Int)
    /// Two caches (or a cache and a call) disagree on layer count or row width.
    case layoutMismatch(String)
    /// A layer index out of range.
    case noSuchLayer(Int, layerCount: Int)

    public var description: String {
        switch self {
        case .capacityExceeded(let requested, let capacity):
            "KV cache full: \(requested) positions requested, capacity is \(capacity) (raise the context size)"
        case .batchTooLarge(let tokens, let maxBatch):
            "batch of \(tokens) tokens exceeds the KV cache's maximum batch of \(maxBatch)"
        case .positionNotHeld(let layer, let position):
            "KV cache layer \(layer) does not hold position \(position)"
        case .cannotTruncate(let to, let needed, let held):
            "cannot truncate the KV cache to \(to): a sliding-window layer needs position \(needed) but holds only from \(held)"
        case .layoutMismatch(let what):
            "KV cache layout mismatch: \(what)"
        case .noSuchLayer(let layer, let count):
            "KV cache has no layer \(layer) (it has \(count))"
        }
    }
}
