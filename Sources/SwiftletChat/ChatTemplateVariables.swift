import Foundation

/// The values a template is given: messages, tools and extra variables, shaped as llama.cpp's
/// `common_chat_templates_apply_jinja` shapes them before rendering.
enum ChatTemplateVariables {
    /// A message as llama.cpp's `common_chat_msg::to_json_oaicompat` writes it: `role`, `content`, then
    /// `reasoning_content`, `name`, `tool_call_id` and `tool_calls`, each only when set and not empty.
    /// Text that came from the conversation is marked as content (see ``RenderedSegment``).
    /// `objectArguments`: the template reads tool-call arguments as objects (see ``toolCall(_:objectArguments:)``).
    static func message(_ m: ChatMessage, objectArguments: Bool) -> JinjaValue {
        var d = JinjaDict([("role", .string(m.role.rawValue)), ("content", .string(m.content, isContent: true))])
        if let r = m.reasoningContent, !r.isEmpty { d["reasoning_content"] = .string(r, isContent: true) }
        if let n = m.name, !n.isEmpty { d["name"] = .string(n, isContent: true) }
        if let id = m.toolCallID, !id.isEmpty { d["tool_call_id"] = .string(id, isContent: true) }
        if let calls = m.toolCalls, !calls.isEmpty {
            d["tool_calls"] = .list(calls.map { toolCall($0, objectArguments: objectArguments) })
        }
        return .dict(d)
    }

    /// `{"type": "function", "function": {"name", "arguments"}, "id"}`, in llama.cpp's order; the
    /// arguments parsed when the template reads them as an object (`objectArguments`), as llama.cpp's
    /// `func_args_not_string` does for such templates, and left as text otherwise.
    static func toolCall(_ c: ChatToolCall, objectArguments: Bool) -> JinjaValue {
        let args = objectArguments ? arguments(c.arguments) : .string(c.arguments, isContent: true)
        var d = JinjaDict([
            ("type", .string("function")),
            ("function", .dict(JinjaDict([("name", .string(c.name, isContent: true)), ("arguments", args)]))),
        ])
        if !c.id.isEmpty { d["id"] = .string(c.id, isContent: true) }
        return .dict(d)
    }

    /// Tool-call arguments: the value the JSON text holds (llama.cpp's `func_args_not_string`), or the
    /// text itself when it is not valid JSON.
    static func arguments(_ text: String) -> JinjaValue {
        (try? JinjaJSON.parse(text, markingAllStrings: true)) ?? .string(text, isContent: true)
    }

    /// Messages given as JSON, made what llama.cpp makes of them: a `null` content (or none, beside tool
    /// calls) becomes `""` (`to_json_oaicompat`, `requires_non_null_content`), and each tool call's
    /// `arguments` is parsed when it is JSON text, for a template that reads arguments as objects
    /// (`func_args_not_string`), or else written as compact JSON text when given as an object
    /// (`common_chat_msgs_parse_oaicompat`).
    static func normalize(messagesJSON messages: JinjaValue, objectArguments: Bool) -> JinjaValue {
        guard case .list(let list) = messages else { return messages }
        return .list(list.map { message in
            guard case .dict(var m) = message else { return message }
            let calls = m["tool_calls"]
            if case .none? = m["content"] {
                m["content"] = .string("", isContent: true)
            } else if m["content"] == nil, let calls, calls != .none {
                m["content"] = .string("", isContent: true)
            }
            if case .list(let l)? = calls {
                m["tool_calls"] = .list(l.map { call in
                    guard case .dict(var c) = call, case .dict(var f)? = c["function"], let a = f["arguments"] else {
                        return call
                    }
                    switch (a, objectArguments) {
                    case (.string(let text), true): f["arguments"] = arguments(text.text)
                    case (.string, false), (.undefined, _): return call
                    case (_, true): return call
                    case (_, false):
                        let compact = JinjaJSON.Style(separators: (",", ":"))
                        guard let text = try? JinjaJSON.dumps(a, style: compact) else { return call }
                        f["arguments"] = .string(text, isContent: true)
                    }
                    c["function"] = .dict(f)
                    return .dict(c)
                })
            }
            return .dict(m)
        })
    }

    /// The `tools` variable from the JSON text of an OpenAI `tools` array; nil for JSON `null`.
    static func tools(_ json: String) throws(ChatTemplateError) -> JinjaValue? {
        let value: JinjaValue
        do { value = try JinjaJSON.parse(json, markingAllStrings: true) } catch {
            throw .invalidInput("the tools are not valid JSON: \(error.detail)")
        }
        switch value {
        case .none: return nil
        case .list: return value
        default: throw .invalidInput("the tools must be a JSON array, not \(value.jsonTypeName)")
        }
    }

    /// Extra variables (`chat_template_kwargs`), each given as JSON text.
    static func extra(_ variables: [String: String]) throws(ChatTemplateError) -> [String: JinjaValue] {
        var out: [String: JinjaValue] = [:]
        for (name, json) in variables {
            guard !name.isEmpty else { throw .invalidInput("an extra template variable has an empty name") }
            do { out[name] = try JinjaJSON.parse(json, markingAllStrings: true) } catch {
                throw .invalidInput("the template variable '\(name)' is not valid JSON: \(error.detail)")
            }
        }
        return out
    }
}

extension ChatTemplateError {
    /// The message without the case's prefix.
    var detail: String {
        switch self {
        case .syntax(let m, _, _), .render(let m), .raised(let m), .invalidInput(let m): m
        }
    }
}

extension JinjaValue {
    /// The JSON name of the value's type, for messages about JSON input.
    var jsonTypeName: String {
        switch self {
        case .none: "null"
        case .boolean: "a boolean"
        case .integer, .double: "a number"
        case .string: "a string"
        case .list: "an array"
        case .dict, .namespace: "an object"
        case .undefined, .function: typeName
        }
    }
}
