import Foundation
import Testing
import SwiftletChat

/// Replays the template fuzzer's committed corpus (Fuzz/Corpus/jinja: the fixture templates, the Jinja
/// snippets, and every input that once crashed or hung the interpreter) through the calls the fuzzer
/// makes: parse, then render a small conversation with tools. Each must parse or fail with a
/// ChatTemplateError, render or fail with one, and do so quickly.
struct FuzzCorpusTests {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/Corpus/jinja")

    /// The fuzzer's conversation (Fuzz/Sources/FuzzJinja/FuzzJinja.swift).
    static let conversation: [ChatMessage] = [
        ChatMessage(role: .system, content: "You are terse."),
        ChatMessage(role: .user, content: "Weather in Paris?"),
        ChatMessage(role: .assistant, content: "", toolCalls: [
            ChatToolCall(id: "call_1", name: "get_weather", arguments: #"{"city": "Paris", "days": [1, 2]}"#),
        ]),
        ChatMessage(role: .tool, content: #"{"temp": 21}"#, toolCallID: "call_1"),
        ChatMessage(role: .assistant, content: "21 °C <think>x</think>", reasoningContent: "look it up"),
        ChatMessage(role: .user, content: "Thanks {{ '}}' }}"),
    ]

    static let tools = #"""
        [{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
        """#

    @Test func corpusReplaysWithoutCrashOrDelay() throws {
        let files = try FileManager.default.contentsOfDirectory(at: Self.folder, includingPropertiesForKeys: nil)
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        #expect(files.count >= 100)
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        var rendered = 0
        for url in files {
            let source = String(decoding: try Data(contentsOf: url), as: UTF8.self)
            let start = ContinuousClock.now
            if let template = try? ChatTemplate(source: source) {
                if (try? template.renderAdapting(
                    messages: Self.conversation, addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>",
                    tools: Self.tools, extraVariables: ["enable_thinking": "false"], now: now)) != nil {
                    rendered += 1
                }
            }
            let elapsed = ContinuousClock.now - start
            #expect(elapsed < .seconds(5), "\(url.lastPathComponent) took \(elapsed)")
        }
        // Every fixture template renders this conversation.
        #expect(rendered >= 20)
    }
}
