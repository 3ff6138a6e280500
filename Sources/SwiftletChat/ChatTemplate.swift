import Foundation

/// A run of rendered text, and whether it came from the conversation (a message's content, reasoning,
/// tool calls or results, or the tools' text: it must be tokenized with special tokens *not* parsed)
/// or from the template itself.
public struct RenderedSegment: Sendable, Equatable {
    /// The text.
    public var text: String
    /// True when the text came from the conversation rather than the template.
    public var isContent: Bool

    /// A segment.
    public init(text: String, isContent: Bool) {
        self.text = text
        self.isContent = isContent
    }
}

/// A chat template: the Jinja program a GGUF file carries in `tokenizer.chat_template`, rendered as
/// Hugging Face's `apply_chat_template` renders it (jinja2's sandbox with `trim_blocks`,
/// `lstrip_blocks` and loop controls; `raise_exception`, `strftime_now` and HF's `tojson`; the
/// variables `messages`, `add_generation_prompt`, `bos_token`, `eos_token`, `tools` when there are
/// tools, and the caller's extra variables, everything else undefined).
///
/// Messages reach the template as llama.cpp passes them (see ``ChatMessage`` and ``ChatToolCall``):
/// tool calls with their arguments parsed into objects when the template reads them so
/// (``supportsObjectArguments``), so a template's `arguments | tojson` writes the JSON once.
///
/// ```swift
/// let template = try ChatTemplate(source: file.metadata["tokenizer.chat_template"]?.string ?? "")
/// let prompt = try template.render(messages: [ChatMessage(role: .user, content: "Hi")],
///                                  addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>")
/// let call = ChatToolCall(id: "call_1", name: "get_weather", arguments: #"{"city": "Paris"}"#)
/// let withTools = try template.render(
///     messages: [ChatMessage(role: .user, content: "Weather in Paris?"),
///                ChatMessage(role: .assistant, content: "", toolCalls: [call]),
///                ChatMessage(role: .tool, content: #"{"temp": 21}"#, toolCallID: "call_1")],
///     addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>",
///     tools: toolsJSON, extraVariables: ["enable_thinking": "false"])
/// ```
public struct ChatTemplate: @unchecked Sendable {
    // @unchecked: the parsed tree is immutable after init; rendering creates its own interpreter.
    /// The template's Jinja source.
    public let source: String
    private let nodes: [JinjaNode]
    /// Whether the template reads tool-call arguments as an object, which decides how it is given them:
    /// parsed from their JSON text when it does, as text when it does not (a template that concatenates
    /// them as text would fail on an object). Found as llama.cpp's `supports_object_arguments` is, by
    /// rendering llama.cpp's probe conversation once when the template is parsed.
    public let supportsObjectArguments: Bool

    /// Parses `source`; a template that does not parse throws ``ChatTemplateError/syntax(_:line:column:)``.
    public init(source: String) throws(ChatTemplateError) {
        self.source = source
        var parser = try JinjaParser(JinjaLexer(source))
        nodes = try parser.parseTemplate()
        supportsObjectArguments = ChatTemplateCapabilities.supportsObjectArguments(nodes)
    }

    /// ChatML, the template llama.cpp uses for a model whose file has none.
    public static let chatML: ChatTemplate = {
        let source = """
            {% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}
            """
        // The literal above is known to parse.
        return try! ChatTemplate(source: source)
    }()

    /// Extra variables from the JSON text of an object (`{"enable_thinking": false}`, a request's
    /// `chat_template_kwargs`): each member's value as compact JSON text (keys in order, numbers as
    /// written), ready for the
    /// `extraVariables` of
    /// ``render(messages:addGenerationPrompt:bosToken:eosToken:tools:extraVariables:now:)``.
    public static func extraVariables(fromJSONObject text: String) throws(ChatTemplateError) -> [String: String] {
        do {
            return Dictionary(try JinjaJSON.objectMembers(text), uniquingKeysWith: { _, last in last })
        } catch {
            throw .invalidInput("the template variables must be a JSON object: \(error.detail)")
        }
    }

    /// Renders a conversation to the prompt text.
    ///
    /// - Parameters:
    ///   - tools: the JSON text of an OpenAI `tools` array (`[{"type": "function", "function": {"name",
    ///     "description", "parameters"}}]`), given to the template as `tools`; nil (or JSON `null`) leaves
    ///     `tools` undefined, as Hugging Face and llama.cpp do without tools.
    ///   - extraVariables: more template globals, each value JSON text (`["enable_thinking": "false"]`):
    ///     the `chat_template_kwargs` of llama.cpp's server and Hugging Face's `apply_chat_template`
    ///     keyword arguments. They are set last, so they override the others, as in llama.cpp.
    ///   - now: the time `strftime_now(format)` formats, in the local time zone (Llama 3.x writes the
    ///     date with it).
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String, eosToken: String,
                       tools: String? = nil, extraVariables: [String: String] = [:],
                       now: Date = Date()) throws(ChatTemplateError) -> String {
        try renderSegments(messages: messages, addGenerationPrompt: addGenerationPrompt, bosToken: bosToken,
                           eosToken: eosToken, tools: tools, extraVariables: extraVariables, now: now)
            .map(\.text).joined()
    }

    /// Renders a conversation into segments that tell the template's text from the messages' content
    /// (text from the conversation: contents, reasoning, tool calls and results, and strings of the tools);
    /// the parameters are those of
    /// ``render(messages:addGenerationPrompt:bosToken:eosToken:tools:extraVariables:now:)``.
    public func renderSegments(messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String, eosToken: String,
                               tools: String? = nil, extraVariables: [String: String] = [:],
                               now: Date = Date()) throws(ChatTemplateError) -> [RenderedSegment] {
        let list = JinjaValue.list(messages.map {
            ChatTemplateVariables.message($0, objectArguments: supportsObjectArguments)
        })
        return try run(messages: list, addGenerationPrompt: addGenerationPrompt, bosToken: bosToken, eosToken: eosToken,
                       tools: tools, extraVariables: extraVariables, now: now)
    }

    /// Renders messages given as JSON (an array of OpenAI-style message objects, whose `content` may be
    /// a string or a list of parts), as llama.cpp gives them to the template: every field as written,
    /// except that a `null` content (or none, beside `tool_calls`) becomes `""` and each tool call's
    /// `arguments` is parsed from its JSON text for a template that ``supportsObjectArguments``, or
    /// written as compact JSON text, when given as an object, for one that does not. The other parameters
    /// are those of ``render(messages:addGenerationPrompt:bosToken:eosToken:tools:extraVariables:now:)``.
    public func render(messagesJSON: Data, addGenerationPrompt: Bool, bosToken: String, eosToken: String,
                       tools: String? = nil, extraVariables: [String: String] = [:],
                       now: Date = Date()) throws(ChatTemplateError) -> String {
        let messages: JinjaValue
        do { messages = try JinjaJSON.parse(String(decoding: messagesJSON, as: UTF8.self)) } catch {
            throw .invalidInput("the messages are not valid JSON: \(error.detail)")
        }
        guard case .list = messages else { throw .invalidInput("the messages must be a JSON array") }
        return try run(messages: ChatTemplateVariables.normalize(messagesJSON: messages,
                                                                 objectArguments: supportsObjectArguments),
                       addGenerationPrompt: addGenerationPrompt, bosToken: bosToken, eosToken: eosToken,
                       tools: tools, extraVariables: extraVariables, now: now)
            .map(\.text).joined()
    }

    func run(messages: JinjaValue, addGenerationPrompt: Bool, bosToken: String, eosToken: String,
                     tools: String?, extraVariables: [String: String],
                     now: Date) throws(ChatTemplateError) -> [RenderedSegment] {
        // What Hugging Face's apply_chat_template gives (llama.cpp's common_chat_template_direct_apply_impl
        // gives the same): tools only when there are some, strftime_now, and the caller's extras last.
        var globals: [String: JinjaValue] = [
            "messages": messages,
            "add_generation_prompt": .boolean(addGenerationPrompt),
            "bos_token": .string(bosToken),
            "eos_token": .string(eosToken),
            "strftime_now": .function(JinjaStrftime.function(now: now)),
        ]
        if let tools, let value = try ChatTemplateVariables.tools(tools) { globals["tools"] = value }
        for (name, value) in try ChatTemplateVariables.extra(extraVariables) { globals[name] = value }
        let interpreter = JinjaInterpreter(globals: globals)
        return try interpreter.render(nodes).reduce(into: [RenderedSegment]()) { out, piece in
            if let last = out.last, last.isContent == piece.isContent {
                out[out.count - 1].text += piece.text
            } else if !piece.text.isEmpty {
                out.append(RenderedSegment(text: piece.text, isContent: piece.isContent))
            }
        }
    }
}
