import SwiftletKVCache

/// Why a model could not be loaded or run.
public enum ModelError: Error, Sendable, CustomStringConvertible {
    case unsupportedArchitecture(String)
    case missingMetadata(String)
    case invalidMetadata(key: String, reason: String)
    case missingTensor(String)
    case tensorShape(name: String, expected: [Int], actual: [Int])
    case unsupportedTensorType(name: String, type: String)
    case tokenOutOfRange(token: Int, vocabularySize: Int)
    case emptyInput
    /// A multi-sequence decoding step whose tokens and caches do not pair up.
    case invalidBatch(String)
    case cache(KVCacheError)
    case kernel(String)
    /// The memory a context asks for is not available (checked before allocating).
    case insufficientMemory(MemoryShortfall)
    /// A context longer than the model was trained for, without the caller's explicit consent.
    case contextBeyondTraining(requested: Int, trained: Int)
    /// Decoding (a KV cache, logits) asked of an encoder model, named by its architecture.
    case encoderOnly(String)
    /// An embedding asked of a model that is not an encoder, named by its architecture.
    case notAnEncoder(String)
    /// An encoder whose pooling type gives no single vector per input (none, rank).
    case unsupportedPooling(String)
    /// An input longer than the encoder's positions (`context_length`).
    case inputTooLong(tokens: Int, limit: Int)

    public var description: String {
        switch self {
        case .unsupportedArchitecture(let a):
            "unsupported model architecture '\(a)' (supported: \(supportedArchitectures.joined(separator: ", ")))"
        case .missingMetadata(let k): "model metadata lacks '\(k)'"
        case .invalidMetadata(let k, let r): "model metadata '\(k)' \(r)"
        case .missingTensor(let n): "model lacks tensor '\(n)'"
        case .tensorShape(let n, let e, let a): "tensor '\(n)' has shape \(a), expected \(e)"
        case .unsupportedTensorType(let n, let t): "tensor '\(n)' has unsupported type \(t)"
        case .tokenOutOfRange(let t, let v): "token id \(t) is outside the vocabulary (0..<\(v))"
        case .emptyInput: "no tokens to evaluate"
        case .invalidBatch(let reason): "invalid decoding batch: \(reason)"
        case .cache(let e): e.description
        case .kernel(let s): s
        case .insufficientMemory(let shortfall): shortfall.description
        case .contextBeyondTraining(let requested, let trained):
            "a context of \(requested) tokens exceeds the \(trained) tokens the model was trained for; "
                + "the output degrades beyond it"
        case .encoderOnly(let a): "'\(a)' is an embedding (encoder) model: it computes embeddings, it does not generate"
        case .notAnEncoder(let a): "'\(a)' is not an embedding model: it has no encoder pooling"
        case .unsupportedPooling(let p): "the model's pooling type '\(p)' gives no single embedding per input"
        case .inputTooLong(let tokens, let limit):
            "the input has \(tokens) tokens, more than the \(limit) tokens the embedding model takes"
        }
    }
}
