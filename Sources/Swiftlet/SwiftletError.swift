import SwiftletModel

/// Errors of the facade: what a caller asked for that cannot be done. Every throwing function of
/// ``Model`` and ``ChatSession`` throws this type; the lower layers' errors arrive as one of its cases
/// with their message.
public enum SwiftletError: Error, Sendable, Equatable, CustomStringConvertible {
    case emptyConversation
    case emptyPrompt
    case contextLengthExceeded(promptTokens: Int, contextLength: Int)
    case invalidOption(String)
    case unknownRole(String)
    case template(String)
    /// The model file cannot be read or used: not a GGUF file, an unsupported architecture, a missing
    /// tensor, a tokenizer it does not describe…
    case modelFile(path: String, reason: String)
    /// A context longer than the model was trained for, without
    /// ``Model/LoadOptions/allowContextBeyondTraining``.
    case contextBeyondTraining(requested: Int, trained: Int)
    /// The KV caches (and scratch memory) the options ask for do not fit in the memory available; checked
    /// before allocating. The message names the bytes needed and available.
    case insufficientMemory(neededBytes: Int, availableBytes: Int, message: String)
    case engine(String)
    /// The model's answer is not what was asked for (``Model/respond(_:to:schema:options:)``).
    case invalidOutput(String)
    /// The task iterating a ``GenerationStream`` was cancelled before the generation's end: the generation
    /// stopped within one token (`GenerationStream.cancel()` instead ends the stream with a `.cancelled`
    /// summary).
    case cancelled
    /// Generation asked of an embedding model (named by its id): it only computes embeddings.
    case embeddingModel(String)
    /// Embeddings asked of a model (named by its id) that is not an embedding model.
    case notEmbeddingModel(String)
    /// An embedding input with no tokens (its index in the request).
    case emptyInput(index: Int)
    /// An embedding input (its index in the request) longer than the model takes, without truncation.
    case inputTooLong(index: Int, tokens: Int, limit: Int)

    /// The facade's case for a lower layer's error.
    init(_ error: ModelError) {
        switch error {
        case .insufficientMemory(let s):
            self = .insufficientMemory(neededBytes: s.neededBytes, availableBytes: s.availableBytes,
                                       message: s.description)
        case .contextBeyondTraining(let requested, let trained):
            self = .contextBeyondTraining(requested: requested, trained: trained)
        default:
            self = .engine(error.description)
        }
    }

    /// `error` itself when it is a `SwiftletError`, else an ``engine(_:)`` error with its message.
    static func wrapping(_ error: any Error) -> SwiftletError {
        error as? SwiftletError ?? .engine(String(describing: error))
    }

    public var description: String {
        switch self {
        case .emptyConversation:
            "the conversation has no messages"
        case .emptyPrompt:
            "the prompt is empty"
        case .contextLengthExceeded(let prompt, let context):
            "This model's maximum context length is \(context) tokens. However, your messages resulted in \(prompt) tokens. Please reduce the length of the messages."
        case .invalidOption(let message):
            "invalid option: \(message)"
        case .unknownRole(let role):
            "unknown message role '\(role)' (expected system, developer, user, assistant or tool)"
        case .template(let message):
            "chat template error: \(message)"
        case .modelFile(let path, let reason):
            "cannot load \(path): \(reason)"
        case .contextBeyondTraining(let requested, let trained):
            "a context of \(requested) tokens exceeds the \(trained) tokens the model was trained for; "
                + "allow it explicitly (LoadOptions.allowContextBeyondTraining, --ctx-beyond-training) to go on"
        case .insufficientMemory(_, _, let message):
            "not enough memory: \(message)"
        case .engine(let message):
            "engine error: \(message)"
        case .invalidOutput(let message):
            "invalid output: \(message)"
        case .cancelled:
            "the generation was cancelled"
        case .embeddingModel(let id):
            "'\(id)' is an embedding model: it computes embeddings (/v1/embeddings), it does not generate text"
        case .notEmbeddingModel(let id):
            "'\(id)' is not an embedding model: embeddings need an encoder model (BERT) with a pooling type"
        case .emptyInput(let index):
            "input \(index) is empty"
        case .inputTooLong(let index, let tokens, let limit):
            "input \(index) has \(tokens) tokens, more than the model's maximum of \(limit) tokens per input"
        }
    }
}
