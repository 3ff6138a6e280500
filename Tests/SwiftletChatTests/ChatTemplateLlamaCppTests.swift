import Foundation
import SwiftletChat
import Testing

/// ChatTemplate against llama.cpp's own renders: every template of Fixtures/chat-templates over tool
/// conversations, as llama-server's /apply-template rendered them (Fixtures/reference/README.md says how
/// they were recorded), and llama.cpp's verdict on which templates take tool-call arguments as objects.
@Suite struct ChatTemplateLlamaCppTests {
    struct Record: Decodable {
        struct Case: Decodable {
            let `case`: String
            let conversation: String
            let tools: Bool
            let kwargs_json: String
        }
        struct Template: Decodable {
            let caps: [String: Bool]?
            let renders: [String: Render]?
        }
        struct Render: Decodable {
            let prompt: String?
            let error: String?
        }
        let bos_token: String
        let eos_token: String
        let tools_json: String
        let conversations: [String: [Message]]
        let cases: [Case]
        let templates: [String: Template]
    }

    /// An OpenAI message of the recording, made a ChatMessage.
    struct Message: Decodable {
        struct Call: Decodable {
            struct Function: Decodable {
                let name: String
                let arguments: Arguments
            }
            let id: String?
            let function: Function
        }
        /// Arguments as JSON text, or as an object (written back as JSON text, as llama.cpp does).
        struct Arguments: Decodable {
            let text: String
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let s = try? c.decode(String.self) {
                    text = s
                } else {
                    let object = try c.decode([String: String].self)
                    text = String(decoding: try JSONEncoder().encode(object), as: UTF8.self)
                }
            }
        }
        let role: String
        let content: String?
        let tool_calls: [Call]?
        let tool_call_id: String?
        let name: String?
        let reasoning_content: String?

        var chatMessage: ChatMessage {
            ChatMessage(role: ChatMessage.Role(rawValue: role), content: content ?? "",
                        toolCalls: tool_calls?.map {
                            ChatToolCall(id: $0.id ?? "", name: $0.function.name, arguments: $0.function.arguments.text)
                        },
                        toolCallID: tool_call_id, name: name, reasoningContent: reasoning_content)
        }
    }

    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func load() throws -> Record {
        let url = root.appendingPathComponent("Fixtures/reference/chat_templates_llamacpp.json")
        return try JSONDecoder().decode(Record.self, from: Data(contentsOf: url))
    }

    @Test func rendersAsLlamaCppDoes() throws {
        let record = try Self.load()
        var compared = 0
        for (stem, expected) in record.templates.sorted(by: { $0.key < $1.key }) {
            // A template llama.cpp cannot load has no renders.
            guard let caps = expected.caps, let renders = expected.renders else { continue }
            let path = Self.root.appendingPathComponent("Fixtures/chat-templates/\(stem).jinja")
            let source = try String(contentsOf: path, encoding: .utf8)
            let template = try ChatTemplate(source: source)
            #expect(template.supportsObjectArguments == caps["supports_object_arguments"], "\(stem)")
            for c in record.cases {
                var messages = try #require(record.conversations[c.conversation]).map(\.chatMessage)
                if caps["supports_system_role"] == false, messages.count > 1, messages[0].role == .system {
                    // llama.cpp's system_message_not_supported: the system text joins the next message.
                    messages[1].content = messages[0].content + "\n" + messages[1].content
                    messages.removeFirst()
                }
                let want = try #require(renders[c.case])
                let result = Result { () throws(ChatTemplateError) -> String in
                    try template.render(messages: messages, addGenerationPrompt: true, bosToken: record.bos_token,
                                        eosToken: record.eos_token, tools: c.tools ? record.tools_json : nil,
                                        extraVariables: try ChatTemplate.extraVariables(fromJSONObject: c.kwargs_json))
                }
                if let prompt = want.prompt {
                    #expect(try result.get() == prompt, "\(stem) / \(c.case)")
                    compared += 1
                } else if want.error?.hasPrefix("Failed to parse tool call arguments as JSON") == true {
                    // llama.cpp refuses arguments that are not JSON for an object-arguments template;
                    // Swiftlet gives the template the text, which it renders or rejects by itself.
                    if case .failure(let error) = result, case .raised = error {} else {
                        #expect(throws: Never.self, "\(stem) / \(c.case)") { try result.get() }
                    }
                } else {
                    #expect(throws: ChatTemplateError.self, "\(stem) / \(c.case): llama.cpp said \(want.error ?? "")") {
                        try result.get()
                    }
                }
            }
        }
        #expect(compared > 150)
    }
}
