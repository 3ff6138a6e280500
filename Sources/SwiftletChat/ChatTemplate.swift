import Foundation

/// One message of a conversation.
public struct ChatMessage: Sendable, Equatable, Codable {
    /// `system`, `user`, `assistant`, `tool` (templates decide which they accept).
    public var role: String
    /// The message's text.
    public var content: String

    /// A message with the given role and text.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// A run of rendered text, and whether it came from a message's content (which must be tokenized
/// with special tokens *not* parsed) or from the template itself.
public struct RenderedSegment: Sendable, Equatable {
    /// The text.
    public var text: String
    /// True when the text came from a message's `content`.
    public var isContent: Bool

    /// A segment.
    public init(text: String, isContent: Bool) {
        self.text = text
        self.isContent = isContent
    }
}

/// A chat template: the Jinja program a GGUF file carries in `tokenizer.chat_template`, rendered as
/// Hugging Face's `apply_chat_template` renders it (jinja2's sandbox with `trim_blocks`,
/// `lstrip_blocks` and loop controls; `raise_exception` and HF's `tojson`; the variables `messages`,
/// `add_generation_prompt`, `bos_token` and `eos_token`, everything else undefined).
///
/// ```swift
/// let template = try ChatTemplate(source: file.metadata["tokenizer.chat_template"]?.string ?? "")
/// let prompt = try template.render(messages: [ChatMessage(role: "user", content: "Hi")],
///                                  addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>")
/// ```
public struct ChatTemplate: @unchecked Sendable {
    // @unchecked: the parsed tree is immutable after init; rendering creates its own interpreter.
    /// The template's Jinja source.
    public let source: String
    private let nodes: [JinjaNode]

    /// Parses `source`; a template that does not parse throws ``ChatTemplateError/syntax(_:line:column:)``.
    public init(source: String) throws(ChatTemplateError) {
        self.source = source
        var parser = try JinjaParser(JinjaLexer(source))
        nodes = try parser.parseTemplate()
    }

    /// ChatML, the template llama.cpp uses for a model whose file has none.
    public static let chatML: ChatTemplate = {
        let source = """
            {% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}
            """
        // The literal above is known to parse.
        return try! ChatTemplate(source: source)
    }()

    /// Renders a conversation to the prompt text.
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String, eosToken: String) throws(ChatTemplateError) -> String {
        try renderSegments(messages: messages, addGenerationPrompt: addGenerationPrompt, bosToken: bosToken, eosToken: eosToken)
            .map(\.text).joined()
    }

    /// Renders a conversation into segments that tell the template's text from the messages' content.
    public func renderSegments(messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String, eosToken: String) throws(ChatTemplateError) -> [RenderedSegment] {
        let list = JinjaValue.list(messages.map {
            .dict(JinjaDict([("role", .string($0.role)), ("content", .string($0.content, isContent: true))]))
        })
        return try run(messages: list, addGenerationPrompt: addGenerationPrompt, bosToken: bosToken, eosToken: eosToken)
    }

    /// Renders messages given as JSON (an array of OpenAI-style message objects, whose `content` may be
    /// a string or a list of parts), exactly as the template sees them.
    public func render(messagesJSON: Data, addGenerationPrompt: Bool, bosToken: String, eosToken: String) throws(ChatTemplateError) -> String {
        let messages = try JinjaJSON.parse(String(decoding: messagesJSON, as: UTF8.self))
        guard case .list = messages else { throw .render("the messages must be a JSON array") }
        return try run(messages: messages, addGenerationPrompt: addGenerationPrompt, bosToken: bosToken, eosToken: eosToken)
            .map(\.text).joined()
    }

    /// Renders as ``renderSegments(messages:addGenerationPrompt:bosToken:eosToken:)``, but when the
    /// template rejects the conversation (it allows no system message, or demands strict user/assistant
    /// alternation), renders it again adapted: the system message merged into the first user turn and
    /// consecutive turns of one role merged. Throws the original error if that fails too.
    public func renderAdapting(messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String, eosToken: String) throws(ChatTemplateError) -> [RenderedSegment] {
        do {
            return try renderSegments(messages: messages, addGenerationPrompt: addGenerationPrompt, bosToken: bosToken, eosToken: eosToken)
        } catch {
            let adapted = ChatTemplate.adapt(messages)
            guard adapted != messages,
                  let segments = try? renderSegments(messages: adapted, addGenerationPrompt: addGenerationPrompt, bosToken: bosToken, eosToken: eosToken)
            else { throw error }
            return segments
        }
    }

    /// The conversation with system messages folded into the first user turn and same-role runs merged.
    public static func adapt(_ messages: [ChatMessage]) -> [ChatMessage] {
        let system = messages.filter { $0.role == "system" }.map(\.content)
        var rest = messages.filter { $0.role != "system" }
        if !system.isEmpty {
            let text = system.joined(separator: "\n\n")
            if let i = rest.firstIndex(where: { $0.role == "user" }) {
                rest[i].content = text + "\n\n" + rest[i].content
            } else {
                rest.insert(ChatMessage(role: "user", content: text), at: 0)
            }
        }
        var merged: [ChatMessage] = []
        for m in rest {
            if let last = merged.last, last.role == m.role {
                merged[merged.count - 1].content += "\n\n" + m.content
            } else {
                merged.append(m)
            }
        }
        return merged
    }

    private func run(messages: JinjaValue, addGenerationPrompt: Bool, bosToken: String, eosToken: String) throws(ChatTemplateError) -> [RenderedSegment] {
        let interpreter = JinjaInterpreter(globals: [
            "messages": messages,
            "add_generation_prompt": .boolean(addGenerationPrompt),
            "bos_token": .string(bosToken),
            "eos_token": .string(eosToken),
        ])
        return try interpreter.render(nodes).reduce(into: [RenderedSegment]()) { out, piece in
            if let last = out.last, last.isContent == piece.isContent {
                out[out.count - 1].text += piece.text
            } else if !piece.text.isEmpty {
                out.append(RenderedSegment(text: piece.text, isContent: piece.isContent))
            }
        }
    }
}
