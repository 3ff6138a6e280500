/// Errors of a ``ModelRegistry``: a list of models that cannot be served, a name it does not know, a model
/// that cannot be loaded or cannot fit.
public enum ModelRegistryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The registry was given no model (an empty list, or a directory without `.gguf` files).
    case noModels(String)
    /// Two entries answer the same name (a name or an alias).
    case duplicateName(String)
    /// An entry, its path or its options are unusable (an empty name, a default model that is not listed…).
    case invalidEntry(String)
    /// A directory that cannot be listed.
    case directory(path: String, reason: String)
    /// The name matches no entry and there is no default model; `available` lists the names served.
    case unknownModel(String, available: [String])
    /// The model's load failed; `error` says why (the file, the context, the memory…).
    case loadFailed(name: String, error: SwiftletError)
    /// The model alone needs more than ``ModelRegistry/Limits/maxMemory``: no eviction can make room.
    case exceedsMemoryLimit(name: String, neededBytes: Int, limitBytes: Int)
    /// The caller's task was cancelled while it waited for the model (its load, or room to load it).
    case cancelled

    public var description: String {
        switch self {
        case .noModels(let message):
            "no models to serve: \(message)"
        case .duplicateName(let name):
            "the model name '\(name)' is given twice (names and aliases must all differ)"
        case .invalidEntry(let message):
            message
        case .directory(let path, let reason):
            "cannot list the models directory \(path): \(reason)"
        case .unknownModel(let name, let available):
            "The model '\(name)' does not exist. This server serves: " + available.joined(separator: ", ") + "."
        case .loadFailed(let name, let error):
            "The model '\(name)' could not be loaded: \(error)"
        case .exceedsMemoryLimit(let name, let needed, let limit):
            "The model '\(name)' needs about \(needed) bytes, more than the memory limit of \(limit) bytes."
        case .cancelled:
            "the request was cancelled while it waited for its model"
        }
    }
}
