import Foundation
import Swiftlet
import SwiftletTestSupport
import Testing

/// The prompt generation renders is the one `swiftlet template` prints (`renderForGeneration(messagesJSON:)`),
/// adapted conversations included.
@Suite struct PromptTextTests {
    @Test(arguments: ["gemma-it", "mistral-instruct"])
    func generationRendersWhatTheTemplateCommandPrints(name: String) async throws {
        let source = try String(contentsOf: TestPaths.fixtures.appendingPathComponent("chat-templates/\(name).jinja"),
                                encoding: .utf8)
        let path = try TinyModelFiles.variant(name, ["tokenizer.chat_template": .string(source)])
        let model = try await Swiftlet.Model.load(path)
        #expect(model.hasOwnTemplate)
        let bos = model.tokenizer.bosID.map { model.tokenizer.tokenText($0) } ?? ""
        let eos = model.tokenizer.eosID.map { model.tokenizer.tokenText($0) } ?? ""
        let conversations: [[ChatMessage]] = [
            [ChatMessage(role: .system, content: "Be brief."), ChatMessage(role: .user, content: "Hi")],
            [ChatMessage(role: .user, content: "one"), ChatMessage(role: .user, content: "two")],
            [ChatMessage(role: .assistant, content: "Hello!"), ChatMessage(role: .user, content: "Hi")],
        ]
        for conversation in conversations {
            let generation = try model.promptText(for: conversation)
            let printed = try model.template.renderForGeneration(
                messagesJSON: try JSONEncoder().encode(conversation), addGenerationPrompt: true,
                bosToken: bos, eosToken: eos)
            #expect(generation == printed)
            #expect(generation.contains(conversation.last?.content ?? "?"))
        }
    }
}
