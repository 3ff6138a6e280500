import Foundation

/// What a template does with tool calls, found by rendering it once over a probe conversation, as
/// llama.cpp's `jinja::caps_get` finds it.
enum ChatTemplateCapabilities {
    /// Whether the template reads tool-call arguments as an object (llama.cpp's
    /// `supports_object_arguments`): rendered over llama.cpp's probe (one tool call whose arguments are
    /// `{"arg": …}`), it succeeds and reads the value of `arg`, by name, attribute or index or through
    /// `tojson` or `string` of something holding it. Templates that write `arguments | tojson` do;
    /// templates that concatenate `arguments` as text (DeepSeek R1's) fail on an object and do not.
    static func supportsObjectArguments(_ nodes: [JinjaNode]) -> Bool {
        // A value no template will write by itself, standing for llama.cpp's "value".
        let marker = "\u{E000}swiftlet-probe-argument\u{E001}"
        func message(_ pairs: [(String, JinjaValue)]) -> JinjaValue { .dict(JinjaDict(pairs)) }
        let call = message([
            ("id", .string("call00001")), ("type", .string("function")),
            ("function", message([("name", .string("tool1")), ("arguments", message([("arg", .string(marker))]))])),
        ])
        let messages = JinjaValue.list([
            message([("role", .string("user")), ("content", .string("User message"))]),
            message([("role", .string("assistant")), ("content", .string("")), ("tool_calls", .list([call]))]),
            message([("role", .string("tool")), ("content", .string("Tool response")),
                     ("tool_call_id", .string("call00001"))]),
            message([("role", .string("assistant")), ("content", .string("The tool response was 'tool response'"))]),
            message([("role", .string("user")), ("content", .string("User message"))]),
        ])
        let parameters = message([
            ("type", .string("object")),
            ("properties", message([
                ("arg", message([("type", .string("string")), ("description", .string("Arg description"))])),
            ])),
            ("required", .list([.string("arg")])),
        ])
        let tools = JinjaValue.list([message([
            ("name", .string("tool")), ("type", .string("function")),
            ("function", message([("name", .string("tool1")), ("description", .string("Tool description")),
                                  ("parameters", parameters)])),
        ])])
        let interpreter = JinjaInterpreter(globals: [
            "messages": messages, "tools": tools, "bos_token": .string(""), "eos_token": .string(""),
            "add_generation_prompt": .boolean(true),
            "strftime_now": .function(JinjaStrftime.function(now: Date(timeIntervalSince1970: 0))),
        ], probeMarker: marker)
        guard (try? interpreter.render(nodes)) != nil else { return false }
        return interpreter.probeMarkerUsed
    }
}
