import Foundation
import Swiftlet
import SwiftletTestSupport
import Testing

/// `ChatSession(model:history:)` continues a saved conversation.
@Suite(.serialized) struct SessionHistoryTests {
    @Test func aSessionStartsFromASavedConversation() async throws {
        let model = try await FacadeTests.load()
        let saved = [ChatMessage(role: .system, content: "Be brief."), ChatMessage(role: .user, content: "Hi"),
                     ChatMessage(role: .assistant, content: "Hello! How can I help?")]
        // Saved as JSON and read back, as an app keeps a conversation between launches.
        let restored = try JSONDecoder().decode([ChatMessage].self, from: try JSONEncoder().encode(saved))
        #expect(restored == saved)
        let session = ChatSession(model: model, history: restored)
        #expect(session.messages == saved)
        let next = ChatMessage(role: .user, content: "What is 2+2?")
        let (reply, summary) = try await FacadeTests.collect(try session.send(next.content,
                                                                               options: FacadeTests.greedy(12)))
        // The prompt is the whole saved conversation plus the new turn.
        #expect(summary.promptTokens == (try model.promptTokens(for: saved + [next])).count)
        #expect(session.messages == saved + [next, ChatMessage(role: .assistant, content: reply)])
        // The same as Model.session(history:), which gives the same greedy answer.
        let other = model.session(history: saved)
        let (again, _) = try await FacadeTests.collect(try other.send(next.content, options: FacadeTests.greedy(12)))
        #expect(again == reply)
    }
}
