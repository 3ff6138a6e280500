/// Why a chat template could not be parsed or rendered.
public enum ChatTemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The template does not parse; `line` and `column` (1-based) point at the problem.
    case syntax(String, line: Int, column: Int)
    /// Rendering failed: an undefined value used as an object, a wrong type, a call that is not allowed.
    case render(String)
    /// The template called `raise_exception(message)`: it rejects the conversation.
    case raised(String)
    /// What the template was to be given is not usable: tools or an extra variable that is not JSON,
    /// tools that are not a JSON array, messages JSON that is not an array.
    case invalidInput(String)

    public var description: String {
        switch self {
        case .syntax(let message, let line, let column): "template syntax error at line \(line), column \(column): \(message)"
        case .render(let message): "template error: \(message)"
        case .raised(let message): "the chat template rejected the conversation: \(message)"
        case .invalidInput(let message): "invalid template input: \(message)"
        }
    }
}
