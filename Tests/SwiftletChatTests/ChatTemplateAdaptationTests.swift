import Foundation
import SwiftletChat
import Testing

/// Conversations strict templates reject, rendered the one way generation and `swiftlet template` share.
@Suite struct ChatTemplateAdaptationTests {
    static let templates = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/chat-templates")

    static func template(_ name: String) throws -> ChatTemplate {
        try ChatTemplate(source: String(contentsOf: templates.appendingPathComponent(name + ".jinja"), encoding: .utf8))
    }

    @Test func anOpeningAssistantTurnGetsAUserTurnBeforeIt() {
        let greeting = ChatMessage(role: .assistant, content: "How can I help?")
        let question = ChatMessage(role: .user, content: "Weather?")
        #expect(ChatTemplate.adapt([greeting, question])
                == [ChatMessage(role: .user, content: ""), greeting, question])
        // With a system message, the new user turn carries its text.
        #expect(ChatTemplate.adapt([ChatMessage(role: .system, content: "Be brief."), greeting, question])
                == [ChatMessage(role: .user, content: "Be brief."), greeting, question])
        // A conversation opening with the user keeps the fold into that turn.
        #expect(ChatTemplate.adapt([ChatMessage(role: .system, content: "S"), question])
                == [ChatMessage(role: .user, content: "S\n\nWeather?")])
    }

    /// Gemma's template takes no system message and Mistral's no two user turns in a row, nor (either of
    /// them) an assistant first (Mistral's takes a system message); the JSON path (`swiftlet template`) renders what the message path
    /// (generation) renders.
    @Test(arguments: ["gemma-it", "mistral-instruct"])
    func theJSONAndMessagePathsAgree(name: String) throws {
        let template = try Self.template(name)
        let conversations: [[ChatMessage]] = [
            [ChatMessage(role: .system, content: "Be brief."), ChatMessage(role: .user, content: "Hi")],
            [ChatMessage(role: .user, content: "one"), ChatMessage(role: .user, content: "two")],
            [ChatMessage(role: .assistant, content: "Hello!"), ChatMessage(role: .user, content: "Hi")],
            [ChatMessage(role: .developer, content: "Be brief."), ChatMessage(role: .assistant, content: "Hello!"),
             ChatMessage(role: .user, content: "Hi")],
        ]
        for conversation in conversations where name == "gemma-it" || conversation[0].role != .system {
            #expect(throws: ChatTemplateError.self) {
                try template.render(messages: conversation, addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>")
            }
            let generation = try template.renderForGeneration(
                messages: conversation, addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>")
                .map(\.text).joined()
            let json = try template.renderForGeneration(
                messagesJSON: try JSONEncoder().encode(conversation), addGenerationPrompt: true,
                bosToken: "<s>", eosToken: "</s>")
            #expect(json == generation)
            let expected = try template.render(
                messages: ChatTemplate.adapt(conversation.map { m in
                    var m = m
                    if m.role == .developer { m.role = .system }
                    return m
                }), addGenerationPrompt: true, bosToken: "<s>", eosToken: "</s>")
            #expect(generation == expected)
        }
    }
}
