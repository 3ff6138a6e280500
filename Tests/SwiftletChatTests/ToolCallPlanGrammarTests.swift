import SwiftletChat
import SwiftletGrammar
import Testing

/// The plans' grammars run through SwiftletGrammar's parser and matcher (llama.cpp's `llama_grammar`),
/// lazily from their triggers where they are lazy: what each lets a model write, and that
/// ``ChatOutputParser`` reads those outputs back as the calls they are.
@Suite struct ToolCallPlanGrammarTests {
    static let tools = try! JSONValue(parsing: """
        [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
          "parameters": {"type": "object", "properties": {"location": {"type": "string"},
            "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["location"]}}},
         {"type": "function", "function": {"name": "brave_search", "parameters": {"type": "object",
           "properties": {"query": {"type": "string"}}, "required": ["query"]}}},
         {"type": "function", "function": {"name": "noargs"}}]
        """)
    static let names = ["get_weather", "brave_search", "noargs"]
    static let call = "{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}"
    static let call2 = "{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Oslo\", \"unit\": \"c\"}}"

    /// nil when the grammar takes all of `text` and may end there; else where it stopped (`⟨x⟩` marks
    /// the refused character). Tokens are single Unicode scalars.
    static func refusal(_ plan: ToolCallPlan, _ text: String) throws -> String? {
        var pieces: [[UInt8]] = (0..<4).map { Array("<tok\($0)>".utf8) }
        var ids: [Unicode.Scalar: Int] = [:]
        for s in text.unicodeScalars where ids[s] == nil {
            ids[s] = pieces.count
            pieces.append(Array(String(s).utf8))
        }
        let vocabulary = GrammarVocabulary(pieces: pieces, endOfGeneration: [2])
        let grammar = try Grammar(try #require(plan.grammar))
        var matcher = plan.lazy
            ? try GrammarMatcher(grammar: grammar, vocabulary: vocabulary, triggers: plan.grammarTriggers)
            : try GrammarMatcher(grammar: grammar, vocabulary: vocabulary)
        var done = ""
        for s in text.unicodeScalars {
            guard let id = ids[s] else { return done + "⟨?⟩" }
            do {
                try matcher.accept(id)
            } catch {
                return done + "⟨" + String(s) + "⟩"
            }
            done.unicodeScalars.append(s)
        }
        return matcher.canEnd ? nil : done + "⟨end⟩"
    }

    static func check(_ syntax: ChatOutputSyntax, _ choice: ToolChoice, parallel: Bool, allows: [String],
                      refuses: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let plan = try ToolCallPlan.make(syntax: syntax, tools: tools, choice: choice, parallel: parallel)
        let parser = ChatOutputParser(syntax: syntax, toolNames: names)
        for text in allows {
            #expect(try refusal(plan, text) == nil, "refused: \(text)", sourceLocation: sourceLocation)
            let parsed = parser.parse(text)
            if text.contains("get_weather") || text.contains("brave_search") {
                #expect(!parsed.toolCalls.isEmpty, "no call read from \(text)", sourceLocation: sourceLocation)
            }
            for call in parsed.toolCalls {
                #expect((try? JSONValue(parsing: call.arguments))?.object != nil, sourceLocation: sourceLocation)
            }
        }
        for text in refuses {
            #expect(try refusal(plan, text) != nil, "allowed: \(text)", sourceLocation: sourceLocation)
        }
    }

    /// A marker written while thinking starts no grammar; one after the reasoning does.
    @Test func hermesAutoLooksPastTheReasoning() throws {
        let call = Self.call
        let thinking = ChatOutputSyntax(format: .hermes, reasoning: .think)
        try Self.check(thinking, .auto, parallel: false,
            allows: ["<think>I could write <tool_call> {oops</think>\nNo call needed.",
                     "<think>ok</think>\n<tool_call>\n\(call)\n</tool_call>",
                     "No thinking <tool_call>\n\(call)\n</tool_call>"],
            refuses: ["<think>ok</think>\n<tool_call>\n{\"name\": \"nope\", \"arguments\": {}}\n</tool_call>",
                      "<tool_call>\n{\"name\": \"nope\", \"arguments\": {}}\n</tool_call>"])
        let opened = ChatOutputSyntax(format: .hermes, reasoning: .think, startsInReasoning: true)
        try Self.check(opened, .auto, parallel: false,
            allows: ["still thinking <tool_call> {oops</think>\nDone.",
                     "hm</think>\n<tool_call>\n\(call)\n</tool_call>"],
            refuses: ["hm</think>\n<tool_call>\n{\"name\": \"nope\", \"arguments\": {}}\n</tool_call>"])
    }

    @Test func hermesAuto() throws {
        let call = Self.call
        try Self.check(ChatOutputSyntax(format: .hermes), .auto, parallel: false,
            allows: ["Sure.\n<tool_call>\n\(call)\n</tool_call>", "Just text, no call.",
                     "<tool_call>\(call)</tool_call>",
                     "<tool_call>\n{\"name\": \"noargs\", \"arguments\": {}}\n</tool_call>"],
            refuses: ["<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": 5}}\n</tool_call>",
                      "<tool_call>\n{\"name\": \"nope\", \"arguments\": {}}\n</tool_call>",
                      "<tool_call>\n\(call)\n</tool_call>\n<tool_call>\n\(Self.call2)\n</tool_call>",
                      "<tool_call>\n\(call)\n</tool_call> and more"])
        try Self.check(ChatOutputSyntax(format: .hermes), .auto, parallel: true,
            allows: ["<tool_call>\n\(call)\n</tool_call>\n<tool_call>\n\(Self.call2)\n</tool_call>"], refuses: [])
    }

    @Test func requiredLetsTheReasoningThrough() throws {
        let call = Self.call
        try Self.check(ChatOutputSyntax(format: .hermes, reasoning: .think), .required, parallel: false,
            allows: ["<think>\nLet me see </thin k> </think\n</think>\n\n<tool_call>\n\(call)\n</tool_call>",
                     "<tool_call>\n\(call)\n</tool_call>"],
            refuses: ["Hello", "<think>x</think>Hello", ""])
        let opened = ChatOutputSyntax(format: .hermes, reasoning: .think, startsInReasoning: true)
        try Self.check(opened, .required, parallel: false,
            allows: ["hmm</think>\n<tool_call>\(call)</tool_call>", "</think><tool_call>\(call)</tool_call>"],
            refuses: ["<tool_call>\(call)</tool_call>"])
        try Self.check(ChatOutputSyntax(format: .hermes), .named("get_weather"), parallel: false,
            allows: ["<tool_call>\(call)</tool_call>"],
            refuses: ["<tool_call>{\"name\": \"noargs\", \"arguments\": {}}</tool_call>"])
    }

    @Test func mistralNemo() throws {
        let withID = String(Self.call.dropLast()) + ", \"id\": \"abc123XYZ\"}"
        try Self.check(ChatOutputSyntax(format: .mistralNemo), .auto, parallel: false,
            allows: ["Ok [TOOL_CALLS][\(withID)]", "[TOOL_CALLS] [ \(withID) ]"],
            refuses: ["[TOOL_CALLS][\(Self.call)]", "[TOOL_CALLS][\(withID), \(withID)]",
                      "[TOOL_CALLS][" + String(Self.call.dropLast()) + ", \"id\": \"abc\"}]"])
        try Self.check(ChatOutputSyntax(format: .mistralNemo), .required, parallel: true,
            allows: ["[TOOL_CALLS][\(withID), \(withID)]"], refuses: ["Hi"])
    }

    @Test func llama3() throws {
        let call = "{\"name\": \"get_weather\", \"parameters\": {\"location\": \"Paris\"}}"
        try Self.check(ChatOutputSyntax(format: .llama3(builtinTools: true)), .auto, parallel: false,
            allows: [call,
                     "{\"type\": \"function\", \"name\": \"get_weather\", \"parameters\": {\"location\": \"Paris\"}}",
                     "<|python_tag|>brave_search.call(query=\"weather in Paris\")", "Hello there"],
            refuses: ["{\"name\": \"get_weather\", \"parameters\": {}}", "{\"name\": \"other\", \"parameters\": {}}"])
        try Self.check(ChatOutputSyntax(format: .llama3(builtinTools: false)), .required, parallel: false,
            allows: [call], refuses: ["<|python_tag|>brave_search.call(query=\"x\")", "Hi"])
    }

    @Test func phi4Mini() throws {
        try Self.check(ChatOutputSyntax(format: .phi4Mini), .auto, parallel: true,
            allows: ["<|tool_call|>\(Self.call)<|/tool_call|>",
                     "x<|tool_call|>\(Self.call)<|/tool_call|><|tool_call|>\(Self.call2)<|/tool_call|>"],
            refuses: ["<|tool_call|>[\(Self.call)]<|/tool_call|>"])
    }

    @Test func generic() throws {
        try Self.check(ChatOutputSyntax(format: .generic), .auto, parallel: false,
            allows: ["{\"tool_call\": \(Self.call)}", "{\"response\": \"Hello!\"}",
                     "{\n  \"tool_call\": {\n    \"name\": \"noargs\",\n    \"arguments\": {}\n  }\n}"],
            refuses: ["Hello", "{\"tool_calls\": [\(Self.call)]}"])
        try Self.check(ChatOutputSyntax(format: .generic), .required, parallel: true,
            allows: ["{\"tool_calls\": [{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}]}"],
            refuses: ["{\"response\": \"Hello!\"}", "{\"tool_calls\": []}",
                      "{\"tool_calls\": [{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}, "
                      + "\"id\": \"call1\"}]}"])
        let opened = ChatOutputSyntax(format: .generic, reasoning: .think, startsInReasoning: true)
        try Self.check(opened, .auto, parallel: false,
            allows: ["Thinking...</think>\n{\"response\": \"Hi\"}"], refuses: ["{\"response\": \"Hi\"}"])
    }
}
