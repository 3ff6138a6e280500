/// One message of a conversation, with the fields OpenAI's chat API and Hugging Face's chat templates
/// know: the text, the tool calls an assistant made, the call a tool result answers, and the model's
/// reasoning.
///
/// A template sees it as `message` the way llama.cpp's `common_chat_msg::to_json_oaicompat` builds it:
/// `role` and `content` always (an assistant message that only calls tools has `content` `""`), then
/// `reasoning_content`, `name`, `tool_call_id` and `tool_calls` only when set and not empty, so
/// templates can test `message.tool_calls is defined`.
public struct ChatMessage: Sendable, Equatable, Codable {
    /// Who speaks: ``Role/system``, ``Role/user``, ``Role/assistant``, ``Role/tool`` or another name
    /// (templates decide which they accept; they see the role's name).
    public var role: Role
    /// The message's text (`""` for an assistant message that only calls tools).
    public var content: String
    /// The tools an assistant message calls, in order (`message.tool_calls`).
    public var toolCalls: [ChatToolCall]?
    /// For a `tool` message: the ``ChatToolCall/id`` of the call it answers (`message.tool_call_id`).
    public var toolCallID: String?
    /// For a `tool` message: the name of the tool that answered (`message.name`).
    public var name: String?
    /// An assistant message's reasoning, kept apart from its content (`message.reasoning_content`).
    public var reasoningContent: String?

    /// A message with the given role and text.
    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }

    /// A message with every field; those left `nil` are absent from what the template sees.
    public init(role: Role, content: String, toolCalls: [ChatToolCall]? = nil, toolCallID: String? = nil,
                name: String? = nil, reasoningContent: String? = nil) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
        self.name = name
        self.reasoningContent = reasoningContent
    }
}
