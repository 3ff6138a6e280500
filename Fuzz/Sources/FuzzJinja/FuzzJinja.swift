import FuzzSupport
import Foundation
import SwiftletChat

/// A small conversation with a system prompt, a tool call and its result: what a template is given in use.
let conversation: [ChatMessage] = [
    ChatMessage(role: .system, content: "You are terse."),
    ChatMessage(role: .user, content: "Weather in Paris?"),
    ChatMessage(role: .assistant, content: "", toolCalls: [
        ChatToolCall(id: "call_1", name: "get_weather", arguments: #"{"city": "Paris", "days": [1, 2]}"#),
    ]),
    ChatMessage(role: .tool, content: #"{"temp": 21}"#, toolCallID: "call_1"),
    ChatMessage(role: .assistant, content: "21 °C <think>x</think>", reasoningContent: "look it up"),
    ChatMessage(role: .user, content: "Thanks {{ '}}' }}"),
]

let tools = #"""
[{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
  "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
"""#

/// A fixed time, so that `strftime_now` renders the same on every run.
let now = Date(timeIntervalSince1970: 1_700_000_000)

/// libFuzzer's entry point: the input is a template's source; parse it and, when it parses, render the
/// conversation with it as a server does (with tools and a template variable, then adapted on rejection).
/// One render only: parsing renders once more (the capability probe), and every render may take the
/// interpreter's whole budget of steps.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJinja(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let source = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let template = try? ChatTemplate(source: source) else { return 0 }
    _ = try? template.renderAdapting(messages: conversation, addGenerationPrompt: true, bosToken: "<s>",
                                     eosToken: "</s>", tools: tools, extraVariables: ["enable_thinking": "false"],
                                     now: now)
    return 0
}

@main
enum Fuzzer {
    static func main() { runLibFuzzer(fuzzJinja) }
}
