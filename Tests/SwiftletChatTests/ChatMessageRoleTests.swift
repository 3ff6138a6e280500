import Foundation
import SwiftletChat
import Testing

/// The typed role: four known cases, any other name kept, the name what templates and JSON see.
@Suite struct ChatMessageRoleTests {
    @Test func namesMapToCasesAndBack() {
        #expect(ChatMessage.Role(rawValue: "user") == .user)
        #expect(ChatMessage.Role(rawValue: "ipython") == .other("ipython"))
        #expect(ChatMessage.Role.other("assistant") == .assistant)
        #expect(Set<ChatMessage.Role>([.other("tool"), .tool]).count == 1)
        #expect(ChatMessage.Role.developer.rawValue == "developer")
        #expect([ChatMessage.Role.system, .user, .assistant, .tool].map(\.rawValue)
                == ["system", "user", "assistant", "tool"])
    }

    @Test func codableAsItsName() throws {
        let messages = [ChatMessage(role: .user, content: "hi"), ChatMessage(role: .other("ipython"), content: "42")]
        let json = String(decoding: try JSONEncoder().encode(messages.map(\.role)), as: UTF8.self)
        #expect(json == #"["user","ipython"]"#)
        #expect(try JSONDecoder().decode([ChatMessage].self, from: try JSONEncoder().encode(messages)) == messages)
    }

    /// A template sees the role's name, a custom one included.
    @Test func templatesSeeTheName() throws {
        let template = try ChatTemplate(source: "{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}")
        let text = try template.render(messages: [ChatMessage(role: .user, content: "a"),
                                                  ChatMessage(role: .other("ipython"), content: "b")],
                                       addGenerationPrompt: false, bosToken: "", eosToken: "")
        #expect(text == "[user]a[ipython]b")
    }
}
