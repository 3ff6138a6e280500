/// How an encoder turns its per-token states into one vector: llama.cpp's `llama_pooling_type`, read from
/// `{arch}.pooling_type` with llama.cpp's numbering.
public enum PoolingType: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// No pooling: one vector per token (not a sentence embedding).
    case none = 0
    /// The mean of every token's state (sentence-transformers' mean pooling).
    case mean = 1
    /// The first token's state (`[CLS]`).
    case cls = 2
    /// The last token's state.
    case last = 3
    /// A reranker's score head (not an embedding).
    case rank = 4

    public var description: String {
        switch self {
        case .none: "none"
        case .mean: "mean"
        case .cls: "cls"
        case .last: "last"
        case .rank: "rank"
        }
    }
}
