/// Errors of the facade: what a caller asked for that cannot be done.
public enum SwiftletError: Error, Sendable, Equatable, CustomStringConvertible {
    case emptyConversation
    case emptyPrompt
    case contextLengthExceeded(promptTokens: Int, contextLength: Int)
    case invalidOption(String)
    case unknownRole(String)
    case template(String)
    case engine(String)
    /// The model's answer is not what was asked for (``Model/respond(_:to:schema:options:)``).
    case invalidOutput(String)

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
        case .engine(let message):
            "engine error: \(message)"
        case .invalidOutput(let message):
            "invalid output: \(message)"
        }
    }
}
