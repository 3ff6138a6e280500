import SwiftletGrammar

/// The system prompt text llama.cpp adds for the generic tool-call format, and how it is added.
///
/// Two pieces, added to the system message one after the other (minja's `add_system`: appended to an
/// existing first system message after a blank line, else a new first system message):
/// 1. llama.cpp's `common_chat_params_init_generic`: "Respond in JSON format, either with `tool_call`
///    (a request to call tools) or with `response` reply to the user's request".
/// 2. When the template cannot show tools itself (SmolLM2's, Gemma 2's…), minja's tools polyfill:
///    "You can call any of the following tools to satisfy the user's requests: " + the tools as JSON
///    indented by 2 + "\n\nExample tool call syntax:\n\n" + an example call + "\n\n". The example is the
///    call minja renders through a template that cannot show calls either, the JSON `{"tool_calls": …}`
///    it writes into the assistant message.
public enum ToolCallSystemNote {
    /// The generic format's instruction.
    public static let respondInJSON =
        "Respond in JSON format, either with `tool_call` (a request to call tools) or with `response` reply to "
        + "the user's request"

    /// The example call minja shows (its polyfilled tool call for `tool_name`, `{"arg1": "some_value"}`,
    /// id `call_1___`, written with `dump(2)`).
    public static let exampleCall = prettyJSON(.object([
        ("tool_calls", .array([.object([
            ("name", .string("tool_name")),
            ("arguments", .object([("arg1", .string("some_value"))])),
            ("id", .string("call_1___")),
        ])])),
    ]))

    /// The note for `tools`: the instruction, and the tool list with the example unless the template
    /// shows tools itself.
    public static func note(for tools: [ToolDefinition], templateShowsTools: Bool) -> String {
        var note = respondInJSON
        if !templateShowsTools {
            note += "\n\nYou can call any of the following tools to satisfy the user's requests: "
                + prettyJSON(.array(tools.map(\.openAIJSON)))
                + "\n\nExample tool call syntax:\n\n" + exampleCall + "\n\n"
        }
        return note
    }

    /// `messages` with `note` added to the system message (minja's `chat_template::add_system`).
    public static func adding(_ note: String, to messages: [ChatMessage]) -> [ChatMessage] {
        var result = messages
        if var first = result.first, first.role == .system {
            first.content += "\n\n" + note
            result[0] = first
        } else {
            result.insert(ChatMessage(role: .system, content: note), at: 0)
        }
        return result
    }

    /// JSON indented by 2 spaces, `": "` after keys, non-ASCII written as itself (nlohmann's `dump(2)`,
    /// Python's `json.dumps(indent=2, ensure_ascii=False)`).
    public static func prettyJSON(_ value: JSONValue) -> String {
        var out = ""
        write(value, level: 0, to: &out)
        return out
    }

    private static func write(_ value: JSONValue, level: Int, to out: inout String) {
        let inner = String(repeating: " ", count: (level + 1) * 2)
        let outer = String(repeating: " ", count: level * 2)
        switch value {
        case .array(let items):
            guard !items.isEmpty else {
                out += "[]"
                return
            }
            out += "[\n"
            for (i, item) in items.enumerated() {
                out += inner
                write(item, level: level + 1, to: &out)
                out += i + 1 < items.count ? ",\n" : "\n"
            }
            out += outer + "]"
        case .object(let members):
            guard !members.isEmpty else {
                out += "{}"
                return
            }
            out += "{\n"
            for (i, member) in members.enumerated() {
                out += inner
                JSONValue.writeString(member.key, to: &out)
                out += ": "
                write(member.value, level: level + 1, to: &out)
                out += i + 1 < members.count ? ",\n" : "\n"
            }
            out += outer + "}"
        default:
            out += value.jsonText
        }
    }
}
