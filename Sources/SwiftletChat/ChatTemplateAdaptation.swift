import Foundation

/// What generation renders: the conversation as given, or, when the template rejects it, adapted to what
/// strict templates accept. Generation (`Model.chat`) and `swiftlet template` both render through here,
/// so the command prints the prompt generation sees.
///
/// Many templates raise on conversations that chat clients send all the time: Gemma's on a system message
/// and on turns that do not alternate, Mistral's on two user turns in a row, both on a conversation that
/// opens with the assistant (a greeting the client shows first). Hugging Face and llama.cpp give up
/// there; the facade renders the conversation again through ``ChatTemplate/adapt(_:)`` instead.
extension ChatTemplate {
    /// Renders `messages` as generation does: ``ChatMessage/Role/developer`` given as `system` (OpenAI's
    /// newer name for it, which templates do not know), then as
    /// ``renderSegments(messages:addGenerationPrompt:bosToken:eosToken:tools:extraVariables:now:)``; when
    /// the template rejects the conversation, rendered again adapted (see ``adapt(_:)``). Throws the
    /// original error if that fails too.
    public func renderForGeneration(messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String,
                                    eosToken: String, tools: String? = nil, extraVariables: [String: String] = [:],
                                    now: Date = Date()) throws(ChatTemplateError) -> [RenderedSegment] {
        let messages = messages.map { m in
            var m = m
            if m.role == .developer { m.role = .system }
            return m
        }
        return try renderAdapting(messages: messages, addGenerationPrompt: addGenerationPrompt, bosToken: bosToken,
                                  eosToken: eosToken, tools: tools, extraVariables: extraVariables, now: now)
    }

    /// Renders messages given as JSON as generation renders them: each read as the server reads a request's
    /// message (a ``ChatMessage``: text parts of a content list joined by a newline, a `null` content as
    /// `""`, fields a ``ChatMessage`` does not have left out), then through
    /// ``renderForGeneration(messages:addGenerationPrompt:bosToken:eosToken:tools:extraVariables:now:)``.
    /// ``render(messagesJSON:addGenerationPrompt:bosToken:eosToken:tools:extraVariables:now:)`` renders
    /// them as given instead.
    public func renderForGeneration(messagesJSON: Data, addGenerationPrompt: Bool, bosToken: String,
                                    eosToken: String, tools: String? = nil, extraVariables: [String: String] = [:],
                                    now: Date = Date()) throws(ChatTemplateError) -> String {
        let parsed: JinjaValue
        do { parsed = try JinjaJSON.parse(String(decoding: messagesJSON, as: UTF8.self)) } catch {
            throw .invalidInput("the messages are not valid JSON: \(error.detail)")
        }
        guard case .list(let list) = parsed else { throw .invalidInput("the messages must be a JSON array") }
        var messages: [ChatMessage] = []
        for (i, value) in list.enumerated() {
            guard let message = ChatMessage(jsonMessage: value) else {
                throw .invalidInput("messages[\(i)] is not a message (an object with a string role, a string, "
                                    + "array or null content, and well-formed tool calls)")
            }
            messages.append(message)
        }
        return try renderForGeneration(messages: messages, addGenerationPrompt: addGenerationPrompt,
                                       bosToken: bosToken, eosToken: eosToken, tools: tools,
                                       extraVariables: extraVariables, now: now).map(\.text).joined()
    }

    /// Renders as
    /// ``renderSegments(messages:addGenerationPrompt:bosToken:eosToken:tools:extraVariables:now:)``, but
    /// when the template rejects the conversation (it allows no system message, demands strict
    /// user/assistant alternation, or a user turn first), renders it again adapted (see ``adapt(_:)``).
    /// Throws the original error if that fails too.
    public func renderAdapting(messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String, eosToken: String,
                               tools: String? = nil, extraVariables: [String: String] = [:],
                               now: Date = Date()) throws(ChatTemplateError) -> [RenderedSegment] {
        do {
            return try renderSegments(messages: messages, addGenerationPrompt: addGenerationPrompt, bosToken: bosToken,
                                      eosToken: eosToken, tools: tools, extraVariables: extraVariables, now: now)
        } catch {
            // Input the template never saw cannot be mended by changing the conversation.
            if case .invalidInput = error { throw error }
            let adapted = ChatTemplate.adapt(messages)
            guard adapted != messages,
                  let segments = try? renderSegments(messages: adapted, addGenerationPrompt: addGenerationPrompt,
                                                     bosToken: bosToken, eosToken: eosToken, tools: tools,
                                                     extraVariables: extraVariables, now: now)
            else { throw error }
            return segments
        }
    }

    /// The conversation reshaped for strict templates:
    ///
    /// 1. System messages are folded into the first turn, which must be the user's: their text, joined by
    ///    a blank line, goes before the first message's content when that message is the user's; when
    ///    the conversation opens with another role (an assistant's greeting), a user turn holding the
    ///    system text (empty when there is none) is put before it. The assistant's words stay in the
    ///    context: dropping them would lose what the user is answering.
    /// 2. Runs of same-role messages are merged: their non-empty contents joined by a blank line, their
    ///    tool calls kept in order, their reasoning joined. Tool results are never merged (each answers
    ///    its own call); the other tool fields are kept.
    public static func adapt(_ messages: [ChatMessage]) -> [ChatMessage] {
        func joined(_ a: String?, _ b: String?) -> String? {
            switch (a.flatMap { $0.isEmpty ? nil : $0 }, b.flatMap { $0.isEmpty ? nil : $0 }) {
            case (let x?, let y?): x + "\n\n" + y
            case (let x?, nil): x
            case (nil, let y?): y
            case (nil, nil): a ?? b
            }
        }
        let system = messages.filter { $0.role == .system }.map(\.content)
        var rest = messages.filter { $0.role != .system }
        let text = system.joined(separator: "\n\n")
        if rest.first?.role == .user {
            if !system.isEmpty { rest[0].content = text + "\n\n" + rest[0].content }
        } else if !system.isEmpty || !rest.isEmpty {
            rest.insert(ChatMessage(role: .user, content: text), at: 0)
        }
        var merged: [ChatMessage] = []
        for m in rest {
            guard var last = merged.last, last.role == m.role, m.role != .tool else {
                merged.append(m)
                continue
            }
            last.content = joined(last.content, m.content) ?? ""
            last.reasoningContent = joined(last.reasoningContent, m.reasoningContent)
            if let calls = m.toolCalls { last.toolCalls = (last.toolCalls ?? []) + calls }
            last.name = last.name ?? m.name
            last.toolCallID = last.toolCallID ?? m.toolCallID
            merged[merged.count - 1] = last
        }
        return merged
    }
}

extension ChatMessage {
    /// A message from an OpenAI-style JSON message object (`role`, `content` as a string, a list of
    /// parts or null, `tool_calls`, `tool_call_id`, `name`, `reasoning_content`); nil when it is not one.
    init?(jsonMessage value: JinjaValue) {
        guard case .dict(let m) = value, case .string(let role)? = m["role"] else { return nil }
        func text(_ key: String) -> String? {
            if case .string(let s)? = m[key] { return s.text }
            return nil
        }
        let content: String
        switch m["content"] {
        case .string(let s)?: content = s.text
        case .none?, nil: content = ""
        case .list(let parts)?:
            content = parts.compactMap { part -> String? in
                guard case .dict(let p) = part, case .string(let type)? = p["type"], type.text == "text",
                      case .string(let t)? = p["text"] else { return nil }
                return t.text
            }.joined(separator: "\n")
        default: return nil
        }
        var calls: [ChatToolCall]?
        if case .list(let list)? = m["tool_calls"] {
            calls = []
            for call in list {
                guard case .dict(let c) = call, case .dict(let f)? = c["function"],
                      case .string(let name)? = f["name"] else { return nil }
                let arguments: String
                switch f["arguments"] {
                case .string(let a)?: arguments = a.text
                case let other?:
                    guard let a = try? JinjaJSON.dumps(other, style: JinjaJSON.Style(separators: (",", ":")))
                    else { return nil }
                    arguments = a
                case nil: arguments = "{}"
                }
                var id = ""
                if case .string(let i)? = c["id"] { id = i.text }
                calls?.append(ChatToolCall(id: id, name: name.text, arguments: arguments))
            }
        }
        self.init(role: Role(rawValue: role.text), content: content, toolCalls: calls,
                  toolCallID: text("tool_call_id"), name: text("name"), reasoningContent: text("reasoning_content"))
    }
}
