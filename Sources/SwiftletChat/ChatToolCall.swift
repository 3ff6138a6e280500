/// A call of a function tool that an assistant message makes (one entry of OpenAI's `tool_calls`).
///
/// Templates see it as `{"type": "function", "function": {"name": …, "arguments": …}, "id": …}`, the
/// order llama.cpp's `common_chat_msg::to_json_oaicompat` writes (`id` left out when empty). When the
/// template reads arguments as an object (``ChatTemplate/supportsObjectArguments``: it writes
/// `arguments | tojson`, which would otherwise encode the text a second time), `arguments` is parsed
/// into the value its JSON text holds, as llama.cpp's `func_args_not_string` does; otherwise, or when
/// the text is not valid JSON, the template gets the text.
public struct ChatToolCall: Sendable, Equatable, Codable {
    /// The call's id, which the `tool` message answering it repeats as its ``ChatMessage/toolCallID``.
    public var id: String
    /// The name of the function called.
    public var name: String
    /// The arguments as JSON text, as they travel in OpenAI's API (`"{\"city\": \"Paris\"}"`).
    public var arguments: String

    /// A call of function `name` with `arguments` (JSON text).
    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}
