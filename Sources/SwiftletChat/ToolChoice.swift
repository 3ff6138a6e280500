import SwiftletGrammar

/// Whether and which tool the model must call: OpenAI's `tool_choice`.
///
/// llama.cpp (b11312) knows `auto`, `required` and `none` (`common_chat_tool_choice`); ``named(_:)``
/// is OpenAI's `{"type": "function", "function": {"name": …}}`, treated as `required` with only that tool.
public enum ToolChoice: Sendable, Equatable, Hashable {
    /// The model decides: free text, with a lazy grammar that starts when a call starts.
    case auto
    /// No tool calls: no grammar, and the output is read as content.
    case none
    /// The answer must be a tool call (a grammar from the first token).
    case required
    /// The answer must be a call to this tool.
    case named(String)

    /// Reads OpenAI's `tool_choice` (absent means `auto`): `"auto"`, `"none"`, `"required"`, or
    /// `{"type": "function", "function": {"name": "…"}}`. Anything else is an error, as in llama.cpp's
    /// `common_chat_tool_choice_parse_oaicompat`.
    public init(openAI value: JSONValue?) throws(GrammarError) {
        guard let value, value != .null else {
            self = .auto
            return
        }
        switch value {
        case .string("auto"): self = .auto
        case .string("none"): self = .none
        case .string("required"): self = .required
        case .string(let other): throw GrammarError("Invalid tool_choice: \(other)")
        case .object:
            guard value["type"]?.string == "function", let name = value["function"]?["name"]?.string, !name.isEmpty
            else {
                throw GrammarError("Invalid tool_choice: \(value.jsonText) (expected {\"type\": \"function\", "
                    + "\"function\": {\"name\": …}})")
            }
            self = .named(name)
        default:
            throw GrammarError("Invalid tool_choice: \(value.jsonText)")
        }
    }
}
