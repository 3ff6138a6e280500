import Foundation
import Swiftlet
import SwiftletTestSupport
import Testing

/// Greedy generation under GBNF grammars and JSON schemas on SmolLM2 against llama.cpp's
/// (Fixtures/reference/grammar: llama-server's `/completion` with `grammar` or `json_schema`,
/// temperature 0): the same prompt tokens must give the same text in the same number of tokens.
@Suite(.serialized) struct GrammarReferenceTests {
    struct Case: Decodable {
        var name: String
        var promptIDs: [Int]
        var grammar: String?
        var nPredict: Int
        var tokens: [Int]
        var text: String
        enum CodingKeys: String, CodingKey {
            case name, grammar, tokens, text
            case promptIDs = "prompt_ids"
            case nPredict = "n_predict"
        }
    }

    static let directory = TestPaths.reference.appendingPathComponent("grammar")

    static func cases() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".json") && $0.first?.isNumber == true }.sorted()
    }

    @Test(arguments: cases())
    func greedyMatchesLlamaCpp(_ file: String) async throws {
        let data = try Data(contentsOf: Self.directory.appendingPathComponent(file))
        let reference = try JSONDecoder().decode(Case.self, from: data)
        let raw = try JSONValue(parsing: data)
        let model = try await FacadeTests.load(context: 1024)
        var options = GenerationOptions(maxTokens: reference.nPredict, sampling: .greedy)
        if let schema = raw["json_schema"] {
            options.jsonSchema = schema
        } else {
            let grammar: String = try #require(reference.grammar, "\(reference.name) has no grammar")
            options.grammar = grammar
        }
        let stream = try model.generate(tokens: reference.promptIDs, options: options)
        let (text, summary) = try await FacadeTests.collect(stream)
        let generated = reference.tokens.filter { !model.endOfGenerationIDs.contains($0) }
        #expect(text == reference.text, "\(reference.name)")
        #expect(summary.completionTokens == generated.count, "\(reference.name)")
    }
}

/// Tools, schemas and reasoning through the facade on SmolLM2 (llama.cpp's generic tool-call form, since its
/// template has no tool syntax of its own).
@Suite(.serialized) struct StructuredChatTests {
    static let weather = ToolDefinition(name: "get_weather", description: "Current weather in a city.",
                                        parameters: try! JSONValue(parsing: """
        {"type": "object", "properties": {"city": {"type": "string", "maxLength": 30},
         "unit": {"enum": ["celsius", "fahrenheit"]}}, "required": ["city", "unit"], "additionalProperties": false}
        """))

    @Test func requiredToolCallThenItsResult() async throws {
        let model = try await FacadeTests.load(context: 1024)
        let session = model.session()
        var options = GenerationOptions(maxTokens: 120, sampling: .greedy, tools: [Self.weather], toolChoice: .required)
        var calls: [ChatToolCall] = []
        var deltas: [ToolCallDelta] = []
        var finish: FinishReason?
        for try await event in try session.send("What is the weather in Paris?", options: options) {
            switch event {
            case .toolCall(let call): calls.append(call)
            case .toolCallDelta(let d): deltas.append(d)
            case .finished(let s): finish = s.finishReason
            case .text(let t): #expect(t.isEmpty, "text beside a required call: \(t)")
            case .reasoning: Issue.record("no reasoning expected")
            }
        }
        #expect(finish == .toolCalls)
        let call = try #require(calls.first)
        #expect(call.name == "get_weather")
        let arguments = try JSONValue(parsing: call.arguments)
        #expect(arguments["city"]?.string != nil)
        #expect(["celsius", "fahrenheit"].contains(arguments["unit"]?.string ?? ""))
        #expect(deltas.first?.id == call.id && deltas.first?.name == call.name)
        #expect(deltas.map(\.arguments).joined() == call.arguments)
        #expect(session.messages.last?.toolCalls == calls)

        options.toolChoice = .none
        var answer = ""
        for try await event in try session.sendToolResult(#"{"temperature": 21}"#, for: call, options: options) {
            if case .text(let t) = event { answer += t }
        }
        #expect(!answer.isEmpty)
        #expect(session.messages.map(\.role) == [.user, .assistant, .tool, .assistant])
    }

    struct City: Decodable { var city: String; var unit: String }

    @Test func respondDecodesIntoASwiftType() async throws {
        let model = try await FacadeTests.load(context: 1024)
        let city = try await model.respond(City.self, to: [ChatMessage(role: .user, content: "Weather in Oslo?")],
                                           schema: Self.weather.parameters,
                                           options: GenerationOptions(maxTokens: 80, sampling: .greedy))
        #expect(!city.city.isEmpty && ["celsius", "fahrenheit"].contains(city.unit))
    }

    @Test func unenforceableSchemasAndBadGrammarsAreRefusedUpFront() async throws {
        let model = try await FacadeTests.load(context: 256)
        let messages = [ChatMessage(role: .user, content: "Hi")]
        let schema = try JSONValue(parsing: #"{"type": "number", "multipleOf": 3}"#)
        #expect { _ = try model.chat(messages, options: GenerationOptions(jsonSchema: schema)) } throws: { error in
            "\(error)".contains("multipleOf")
        }
        let broken = GenerationOptions(grammar: "root ::= \"a\"\nx ::= (")
        #expect { _ = try model.chat(messages, options: broken) } throws: {
            "\($0)".contains("line 2")
        }
        #expect(throws: SwiftletError.self) {
            _ = try model.complete("Hi", options: GenerationOptions(tools: [Self.weather]))
        }
        #expect(throws: SwiftletError.self) {
            _ = try model.chat(messages, options: GenerationOptions(tools: [Self.weather], toolChoice: .named("nope")))
        }
    }
}
