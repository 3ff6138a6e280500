import Foundation
import SwiftletChat
import SwiftletSampling
import Testing

/// Template format detection, and reading model output (tool calls, reasoning) as llama.cpp's
/// common/chat.cpp does. The parse examples are llama.cpp's tests/test-chat.cpp cases, written as data.
@Suite struct ChatOutputFormatTests {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/chat-templates")

    static func template(_ name: String) throws -> String {
        try String(contentsOf: fixtures.appendingPathComponent(name + ".jinja"), encoding: .utf8)
    }

    // MARK: - Detection

    @Test(arguments: [
        ("qwen2.5-instruct", ChatOutputFormat.hermes, false),
        ("qwen3", .hermes, true),
        ("hermes-3-tool-use", .hermes, false),
        ("llama-3.1-instruct", .llama3(builtinTools: true), false),
        ("llama-3.2-instruct", .llama3(builtinTools: false), false),
        ("mistral-nemo-instruct", .mistralNemo, false),
        ("phi-4-mini", .phi4Mini, false),
        ("smollm2-instruct", .generic, false),
        ("deepseek-r1-distill-qwen-32b", .generic, true),
    ])
    func detectsTheFormatOfRealTemplates(name: String, format: ChatOutputFormat, thinks: Bool) throws {
        let syntax = ChatOutputSyntax(templateSource: try Self.template(name))
        #expect(syntax.format == format)
        #expect(syntax.reasoning == (thinks ? .think : nil))
        #expect(!syntax.startsInReasoning)
    }

    @Test func aPromptEndingInThinkStartsInsideReasoning() throws {
        // DeepSeek-R1's generation prompt is `<｜Assistant｜><think>\n`: the output starts inside the reasoning.
        let user = [ChatMessage(role: .user, content: "Hi")]
        let (bos, eos) = ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>")
        let source = try Self.template("deepseek-r1-distill-qwen")
        let prompt = try ChatTemplate(source: source).render(messages: user, addGenerationPrompt: true, bosToken: bos,
            eosToken: eos)
        #expect(prompt.hasSuffix("<｜Assistant｜><think>\n"))
        #expect(ChatOutputSyntax(templateSource: source, renderedPrompt: prompt).startsInReasoning)
        // llama.cpp's copy closes the block unless `enable_thinking` is set: then it does not start inside.
        let closing = try Self.template("deepseek-r1-distill-qwen-32b")
        let closed = try ChatTemplate(source: closing).render(messages: user, addGenerationPrompt: true, bosToken: bos,
            eosToken: eos)
        #expect(closed.hasSuffix("<think>\n</think>"))
        #expect(!ChatOutputSyntax(templateSource: closing, renderedPrompt: closed).startsInReasoning)

        // Qwen 3's generation prompt leaves the `<think>` to the model.
        let qwen3 = try Self.template("qwen3")
        let qwenPrompt = try ChatTemplate(source: qwen3).render(
            messages: [ChatMessage(role: .user, content: "Hi")], addGenerationPrompt: true, bosToken: "",
                eosToken: "<|im_end|>")
        #expect(qwenPrompt.hasSuffix("<|im_start|>assistant\n"))
        #expect(!ChatOutputSyntax(templateSource: qwen3, renderedPrompt: qwenPrompt).startsInReasoning)
        // A template without reasoning tags never starts inside reasoning.
        #expect(!ChatOutputSyntax(templateSource: "{{ '<|im_start|>assistant\\n' }}",
            renderedPrompt: "x<think>").startsInReasoning)
    }

    // MARK: - Parsing (llama.cpp test-chat.cpp cases)

    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var syntax: ChatOutputSyntax
        var tools: [String]
        var input: String
        var expected: ParsedChatOutput
        var description: String { name }
    }

    static let hermes = ChatOutputSyntax(format: .hermes)
    static let qwen3 = ChatOutputSyntax(format: .hermes, reasoning: .think)
    static let qwq = ChatOutputSyntax(format: .hermes, reasoning: .think, startsInReasoning: true)
    static let deepSeekR1 = ChatOutputSyntax(format: .generic, reasoning: .think, startsInReasoning: true)
    static let llama31 = ChatOutputSyntax(format: .llama3(builtinTools: true))
    static let llama32 = ChatOutputSyntax(format: .llama3(builtinTools: false))
    static let tools = ["special_function", "special_function_with_opt", "python", "code_interpreter"]
    static let hello = "Hello, world!\nWhat's up?"
    /// llama.cpp's `special_function` call text.
    static let sf = "{\"name\": \"special_function\", \"arguments\": {\"arg1\": 1}}"
    static let sfCall = ParsedToolCall(name: "special_function", arguments: "{\"arg1\": 1}")
    static func call(_ name: String = "special_function", _ arguments: String = "{\"arg1\": 1}", id: String? = nil)
        -> ParsedChatOutput {
        ParsedChatOutput(toolCalls: [ParsedToolCall(name: name, arguments: arguments, id: id)])
    }

    static let cases: [Case] = [
        // Hermes 2 Pro / Qwen 2.5 (test-chat.cpp: NousResearch-Hermes-2-Pro, Hermes-3, Qwen2.5, Reka-Edge).
        Case(name: "hermes content", syntax: hermes, tools: tools, input: hello,
            expected: ParsedChatOutput(content: hello)),
        Case(name: "hermes call", syntax: hermes, tools: tools,
             input: "<tool_call>\n\(sf)\n</tool_call>",
             expected: call()),
        Case(name: "hermes call without newlines", syntax: hermes, tools: tools,
             input: "<tool_call>\(sf)</tool_call>",
             expected: call()),
        Case(name: "hermes content then call", syntax: hermes, tools: tools,
             input: "Hello, world!\nWhat's up?<tool_call>\n\(sf)\n</tool_call>",
             expected: ParsedChatOutput(content: hello, toolCalls: [sfCall])),
        Case(name: "hermes content, newline, then call", syntax: hermes, tools: tools,
             input: "Hello, world!\nWhat's up?\n<tool_call>\n\(sf)\n</tool_call>",
             expected: ParsedChatOutput(content: hello, toolCalls: [sfCall])),
        Case(name: "hermes two calls", syntax: hermes, tools: tools,
             input: "<tool_call>\n\(sf)\n</tool_call>\n"
                + "<tool_call>\n{\"name\": \"python\", \"arguments\": {\"code\":\"print('hello')\"}}\n</tool_call>",
             expected: ParsedChatOutput(toolCalls: [
                sfCall,
                ParsedToolCall(name: "python", arguments: "{\"code\":\"print('hello')\"}"),
             ])),
        Case(name: "hermes parallel calls with optional argument", syntax: hermes, tools: tools,
             input: "<tool_call>\n\(sf)\n</tool_call>\n<tool_call>\n"
                + "{\"name\": \"special_function_with_opt\", \"arguments\": {\"arg1\": 1, \"arg2\": 2}}\n</tool_call>",
             expected: ParsedChatOutput(toolCalls: [
                sfCall,
                ParsedToolCall(name: "special_function_with_opt", arguments: "{\"arg1\": 1, \"arg2\": 2}"),
             ])),
        Case(name: "hermes tools not offered: markup is content", syntax: hermes, tools: [],
             input: "<tool_call>\n\(sf)\n</tool_call>",
             expected: ParsedChatOutput(content: "<tool_call>\n\(sf)\n</tool_call>")),
        Case(name: "hermes unknown tool: content", syntax: hermes, tools: tools,
             input: "Let me.\n<tool_call>{\"name\": \"other\", \"arguments\": {}}</tool_call>",
             expected: ParsedChatOutput(
                content: "Let me.\n<tool_call>{\"name\": \"other\", \"arguments\": {}}</tool_call>")),
        Case(name: "hermes marker without JSON: content", syntax: hermes, tools: tools,
             input: "Use <tool_call> tags to call tools.",
             expected: ParsedChatOutput(content: "Use <tool_call> tags to call tools.")),
        Case(name: "hermes unfinished call header: content", syntax: hermes, tools: tools,
             input: "Let's call something\n<tool_call>{\"name\"",
             expected: ParsedChatOutput(content: "Let's call something\n<tool_call>{\"name\"")),
        Case(name: "hermes cut-off arguments", syntax: hermes, tools: tools,
             input: "<tool_call>\n{\"name\": \"special_function\", \"arguments\": {\"arg",
             expected: call("special_function", "{\"arg")),
        Case(name: "hermes arguments turning invalid end the call", syntax: hermes, tools: tools,
             input: "<tool_call>{\"name\": \"special_function\", \"arguments\": {\"arg1\": 1,,}}</tool_call>",
             expected: ParsedChatOutput(content: ",}}</tool_call>",
                                        toolCalls: [ParsedToolCall(name: "special_function",
                                            arguments: "{\"arg1\": 1,")])),
        Case(name: "hermes stringified arguments", syntax: hermes, tools: tools,
             input: "<tool_call>{\"name\": \"special_function\", \"arguments\": \"{\\\"arg1\\\": 1}\"}</tool_call>",
             expected: call()),
        Case(name: "hermes raw newline in a string argument is escaped", syntax: hermes, tools: tools,
             input: "<tool_call>{\"name\": \"python\", \"arguments\": {\"code\": \"a\nb\"}}</tool_call>",
             expected: call("python", "{\"code\": \"a\\nb\"}")),
        Case(name: "hermes content after the call", syntax: hermes, tools: tools,
             input: "<tool_call>\(sf)</tool_call>\n\nDone.",
             expected: ParsedChatOutput(content: "Done.", toolCalls: [sfCall])),
        Case(name: "hermes call without closing tag", syntax: hermes, tools: tools,
             input: "<tool_call>\(sf)\nthen text",
             expected: ParsedChatOutput(content: "then text", toolCalls: [sfCall])),
        Case(name: "hermes arguments before name, no arguments", syntax: hermes, tools: tools,
             input: "<tool_call>{\"arguments\": {\"arg1\": 1}, \"name\": \"special_function\"}</tool_call>"
                + "<tool_call>{\"name\": \"python\"}</tool_call>",
             expected: ParsedChatOutput(toolCalls: [
                sfCall,
                ParsedToolCall(name: "python", arguments: "{}"),
             ])),
        // Reasoning.
        Case(name: "think tags parsed when the template has them", syntax: qwen3, tools: [],
             input: "<think>I'm\nthinking</think>Hello, world!\nWhat's up?",
             expected: ParsedChatOutput(content: hello, reasoning: "I'm\nthinking")),
        Case(name: "think tags are content when the template has none", syntax: hermes, tools: tools,
             input: "<think>I'm\nthinking</think>Hello, world!\nWhat's up?",
             expected: ParsedChatOutput(content: "<think>I'm\nthinking</think>Hello, world!\nWhat's up?")),
        Case(name: "qwen3 reasoning with newlines, then a call", syntax: qwen3, tools: tools,
             input: "<think>\nI'm\nthinking\n</think>\n\n<tool_call>\n\(sf)\n</tool_call>",
             expected: ParsedChatOutput(reasoning: "I'm\nthinking",
                                        toolCalls: [sfCall])),
        Case(name: "qwen3 empty reasoning", syntax: qwen3, tools: [],
             input: "<think>\n\n</think>\n\nHello, world!\nWhat's up?", expected: ParsedChatOutput(content: hello)),
        Case(name: "a late <think> is content", syntax: qwen3, tools: [],
             input: "Hi <think>x</think>", expected: ParsedChatOutput(content: "Hi <think>x</think>")),
        Case(name: "qwq forced-open reasoning, then call", syntax: qwq, tools: tools,
             input: "I'm\nthinking</think>\n<tool_call>\(sf)</tool_call>",
             expected: ParsedChatOutput(reasoning: "I'm\nthinking",
                                        toolCalls: [sfCall])),
        Case(name: "qwq forced open", syntax: qwq, tools: [],
             input: "Let me think about this...\n</think>\nThe answer is 42.",
             expected: ParsedChatOutput(content: "The answer is 42.", reasoning: "Let me think about this...")),
        Case(name: "deepseek r1 forced open", syntax: deepSeekR1, tools: [],
             input: "I'm\nthinking</think>Hello, world!\nWhat's up?", expected: ParsedChatOutput(content: hello,
                 reasoning: "I'm\nthinking")),
        Case(name: "deepseek r1 empty reasoning", syntax: deepSeekR1, tools: [],
             input: "</think>Hello, world!\nWhat's up?", expected: ParsedChatOutput(content: hello)),
        Case(name: "unclosed reasoning stays reasoning", syntax: deepSeekR1, tools: [],
             input: "I'm still\nthinking ", expected: ParsedChatOutput(reasoning: "I'm still\nthinking")),
        // Mistral Nemo.
        Case(name: "mistral nemo call with id", syntax: ChatOutputSyntax(format: .mistralNemo), tools: tools,
             input: "[TOOL_CALLS][{\"name\": \"special_function\", \"arguments\": {\"arg1\": 1}, "
                 + "\"id\": \"123456789\"}]",
             expected: call(id: "123456789")),
        Case(name: "mistral nemo content and two calls", syntax: ChatOutputSyntax(format: .mistralNemo), tools: tools,
             input: "Sure. [TOOL_CALLS] [{\"name\": \"special_function\", \"arguments\": {\"arg1\": 1}, "
                 + "\"id\": \"aaaaaaaaa\"}, "
                + "{\"name\": \"python\", \"arguments\": {\"code\": \"1\"}, \"id\": 12}]",
             expected: ParsedChatOutput(content: "Sure.", toolCalls: [
                ParsedToolCall(name: "special_function", arguments: "{\"arg1\": 1}", id: "aaaaaaaaa"),
                ParsedToolCall(name: "python", arguments: "{\"code\": \"1\"}", id: "12"),
             ])),
        Case(name: "mistral nemo content", syntax: ChatOutputSyntax(format: .mistralNemo), tools: tools,
             input: hello, expected: ParsedChatOutput(content: hello)),
        // Llama 3.x.
        Case(name: "llama 3.1 json call", syntax: llama31, tools: tools,
             input: "{\"name\": \"special_function\", \"parameters\": {\"arg1\": 1}}", expected: call()),
        Case(name: "llama 3.1 json call with type", syntax: llama31, tools: tools,
             input: "\n{\"type\": \"function\", \"name\": \"special_function\", \"parameters\": {\"arg1\": 1}}",
                 expected: call()),
        Case(name: "llama 3.1 builtin code_interpreter", syntax: llama31, tools: tools,
             input: "<|python_tag|>code_interpreter.call(code=\"print('hey')\")",
             expected: call("code_interpreter", "{\"code\":\"print('hey')\"}")),
        Case(name: "llama 3.1 builtin python", syntax: llama31, tools: tools,
             input: "<|python_tag|>python.call(code=\"print('hey')\")", expected: call("python",
                 "{\"code\":\"print('hey')\"}")),
        Case(name: "llama 3.1 builtin with two arguments", syntax: llama31, tools: tools,
             input: "<|python_tag|>special_function.call(arg1=1, arg2 = \"two\")",
             expected: call("special_function", "{\"arg1\":1,\"arg2\":\"two\"}")),
        Case(name: "llama 3.1 content", syntax: llama31, tools: tools, input: hello,
            expected: ParsedChatOutput(content: hello)),
        Case(name: "llama 3.1 json that is not a call is content", syntax: llama31, tools: tools,
             input: "{\"answer\": 42}", expected: ParsedChatOutput(content: "{\"answer\": 42}")),
        Case(name: "llama json call only at the start", syntax: llama32, tools: tools,
             input: "Call: {\"name\": \"special_function\", \"parameters\": {\"arg1\": 1}}",
             expected: ParsedChatOutput(
                content: "Call: {\"name\": \"special_function\", \"parameters\": {\"arg1\": 1}}")),
        Case(name: "llama 3.2 has no python tag", syntax: llama32, tools: tools,
             input: "<|python_tag|>python.call(code=\"1\")",
                 expected: ParsedChatOutput(content: "<|python_tag|>python.call(code=\"1\")")),
        // Phi-4-mini.
        Case(name: "phi-4-mini call", syntax: ChatOutputSyntax(format: .phi4Mini), tools: tools,
             input: "<|tool_call|>\(sf)<|/tool_call|>", expected: call()),
        Case(name: "phi-4-mini array of calls", syntax: ChatOutputSyntax(format: .phi4Mini), tools: tools,
             input: "I'll call.<|tool_call|>[\(sf), "
                + "{\"name\": \"python\", \"arguments\": {}}]<|/tool_call|>",
             expected: ParsedChatOutput(content: "I'll call.", toolCalls: [
                sfCall,
                ParsedToolCall(name: "python", arguments: "{}"),
             ])),
        // Generic (test-chat.cpp: gemma-2-2b-it, Phi-3.5).
        Case(name: "generic response", syntax: ChatOutputSyntax(format: .generic), tools: tools,
             input: "{\n  \"response\": \"Hello, world!\\nWhat's up?\"\n}", expected: ParsedChatOutput(content: hello)),
        Case(name: "generic tool_call", syntax: ChatOutputSyntax(format: .generic), tools: tools,
             input: "{\"tool_call\": \(sf)}", expected: call()),
        Case(name: "generic tool_calls with id", syntax: ChatOutputSyntax(format: .generic), tools: tools,
             input: "{\n  \"tool_calls\": [\n    {\n      \"name\": \"special_function\",\n"
                 + "      \"arguments\": {\n        \"arg1\": 1\n      },\n"
                + "      \"id\": \"123456789\"\n    }\n  ],\n  \"content\": \"\"\n}",
             expected: call("special_function", "{\n        \"arg1\": 1\n      }", id: "123456789")),
        Case(name: "generic cut-off arguments", syntax: ChatOutputSyntax(format: .generic), tools: tools,
             input: "{ \"tool_call\" : { \"name\" : \"special_function\", \"arguments\" : { \"arg",
             expected: call("special_function", "{ \"arg")),
        Case(name: "generic call with name only so far", syntax: ChatOutputSyntax(format: .generic), tools: tools,
             input: "{ \"tool_call\" : { \"name\" : \"special_function\"", expected: ParsedChatOutput(toolCalls: [
                ParsedToolCall(name: "special_function", arguments: "")])),
        Case(name: "generic unicode response", syntax: ChatOutputSyntax(format: .generic), tools: tools,
             input: "{\"response\": \"Caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" 日本\"}",
             expected: ParsedChatOutput(content: "Café 😀 \"q\" 日本")),
        Case(name: "generic plain text is content", syntax: ChatOutputSyntax(format: .generic), tools: tools,
             input: hello, expected: ParsedChatOutput(content: hello)),
        Case(name: "generic other object is content", syntax: ChatOutputSyntax(format: .generic), tools: tools,
             input: "{\"answer\": \"yes\"}", expected: ParsedChatOutput(content: "{\"answer\": \"yes\"}")),
        Case(name: "generic without tools is content", syntax: ChatOutputSyntax(format: .generic), tools: [],
             input: "{\"response\": \"hi\"}", expected: ParsedChatOutput(content: "{\"response\": \"hi\"}")),
        Case(name: "non-ascii arguments", syntax: hermes, tools: tools,
             input: "Voilà 🎉<tool_call>{\"name\": \"python\", \"arguments\": "
                 + "{\"code\": \"print('héllo 👋🏽')\"}}</tool_call>",
             expected: ParsedChatOutput(content: "Voilà 🎉", toolCalls: [
                ParsedToolCall(name: "python", arguments: "{\"code\": \"print('héllo 👋🏽')\"}")])),
    ]

    @Test(arguments: cases)
    func parsesAsLlamaCpp(_ c: Case) {
        let parser = ChatOutputParser(syntax: c.syntax, toolNames: c.tools)
        #expect(parser.parse(c.input) == c.expected)
    }

    /// Streaming gives the same events, whatever the pieces the text arrives in.
    @Test(arguments: cases)
    func streamingMatchesWholeTextOnRandomSplits(_ c: Case) {
        let whole = Self.events(c, pieces: [c.input])
        #expect(ParsedChatOutput(events: whole) == c.expected)
        var rng = SeededRandom(seed: c.name.unicodeScalars.reduce(7) { $0 &* 31 &+ UInt64($1.value) })
        let scalars = Array(c.input.unicodeScalars)
        for trial in 0..<150 {
            var pieces: [String] = []
            var i = 0
            while i < scalars.count {
                let n = trial == 0 ? 1 : Int(rng.next() % 6) + 1
                var view = String.UnicodeScalarView()
                view.append(contentsOf: scalars[i..<min(scalars.count, i + n)])
                pieces.append(String(view))
                i += n
            }
            let streamed = Self.events(c, pieces: pieces)
            #expect(streamed == whole, "split \(pieces)")
        }
    }

    /// Events of one parse, fed in `pieces`, with neighbouring text events merged (pieces may cut one
    /// run of text into several events).
    static func events(_ c: Case, pieces: [String]) -> [ChatOutputEvent] {
        var parser = ChatOutputParser(syntax: c.syntax, toolNames: c.tools)
        var all: [ChatOutputEvent] = []
        for piece in pieces { all += parser.feed(piece) }
        all += parser.finish()
        var merged: [ChatOutputEvent] = []
        for e in all {
            switch (merged.last, e) {
            case (.content(let a)?, .content(let b)): merged[merged.count - 1] = .content(a + b)
            case (.reasoning(let a)?, .reasoning(let b)): merged[merged.count - 1] = .reasoning(a + b)
            case (.toolCallArguments(let i, let a)?, .toolCallArguments(let j, let b)) where i == j:
                merged[merged.count - 1] = .toolCallArguments(index: i, delta: a + b)
            default: merged.append(e)
            }
        }
        return merged
    }

    @Test func argumentsStreamAsTheyAreGenerated() {
        var parser = ChatOutputParser(syntax: Self.hermes, toolNames: Self.tools)
        var seen: [ChatOutputEvent] = []
        let text = "Sure.\n<tool_call>\n{\"name\": \"python\", \"arguments\": {\"code\": \"print(1)\"}}\n</tool_call>"
        var argumentsBeforeEnd = ""
        for ch in text {
            seen += parser.feed(String(ch))
            // No marker text ever shows up as content.
            let content = seen.compactMap { if case .content(let s) = $0 { s } else { nil } }.joined()
            #expect("Sure.".hasPrefix(content))
            if !seen.contains(.toolCallEnd(index: 0)) {
                argumentsBeforeEnd = seen.compactMap {
                    if case .toolCallArguments(0, let d) = $0 { d } else { nil }
                }.joined()
            }
            if argumentsBeforeEnd == "{\"code\": \"print(" {
                // The call started and its arguments arrive before the call is complete.
                #expect(seen.contains(.toolCallStart(index: 0, name: "python")))
            }
        }
        seen += parser.finish()
        #expect(seen.compactMap { if case .content(let s) = $0 { s } else { nil } }.joined() == "Sure.")
        #expect(seen.contains(.toolCallStart(index: 0, name: "python")))
        #expect(seen.last == .toolCallEnd(index: 0))
        #expect(seen.filter { if case .toolCallArguments = $0 { true } else { false } }.count > 5)
        #expect(ParsedChatOutput(events: seen).toolCalls == [ParsedToolCall(name: "python",
            arguments: "{\"code\": \"print(1)\"}")])
    }

    @Test func longOutputsAreReadInLinearTime() {
        // 200 000 characters of content and of arguments, whole and in 3-character pieces.
        let text = String(repeating: "word <tag> { } ", count: 13_400)
        let code = String(repeating: "x = [1, 2]\\n", count: 16_700)
        let output = text + "<tool_call>{\"name\": \"python\", \"arguments\": {\"code\": \"\(code)\"}}</tool_call>"
        let parser = ChatOutputParser(syntax: Self.hermes, toolNames: Self.tools)
        let clock = ContinuousClock()
        let start = clock.now
        let whole = parser.parse(output)
        var streaming = parser
        var events: [ChatOutputEvent] = []
        var rest = Substring(output)
        while !rest.isEmpty {
            events += streaming.feed(String(rest.prefix(3)))
            rest = rest.dropFirst(3)
        }
        events += streaming.finish()
        #expect(clock.now - start < .seconds(60))
        #expect(whole.content == String(text.dropLast()))
        #expect(whole.toolCalls.count == 1 && whole.toolCalls[0].arguments.count == code.count + 12)
        #expect(ParsedChatOutput(events: events) == whole)
    }

    @Test func eventsComeInCallOrder() {
        var parser = ChatOutputParser(syntax: ChatOutputSyntax(format: .mistralNemo), toolNames: Self.tools)
        var events = parser.feed("OK [TOOL_CALLS][{\"name\": \"python\", \"arguments\": {\"code\": \"1\"}, ")
        events += parser.feed("\"id\": \"abcdefghi\"}, {\"arguments\": {}, \"name\": \"special_function\"}] bye")
        events += parser.finish()
        #expect(events == [
            .content("OK"),
            .toolCallStart(index: 0, name: "python"),
            .toolCallArguments(index: 0, delta: "{\"code\": \"1\"}"),
            .toolCallID(index: 0, id: "abcdefghi"),
            .toolCallEnd(index: 0),
            .toolCallStart(index: 1, name: "special_function"),
            .toolCallArguments(index: 1, delta: "{}"),
            .toolCallEnd(index: 1),
            .content("bye"),
        ])
    }

    @Test func partialMarkersAreHeldBack() {
        var parser = ChatOutputParser(syntax: Self.qwen3, toolNames: Self.tools)
        #expect(parser.feed("<thi") == [])
        #expect(parser.feed("nk>Hmm") == [.reasoning("Hmm")])
        #expect(parser.feed("</th") == [])
        #expect(parser.feed("ink>\n\nOK <tool") == [.content("OK")])
        // `<tool` was not a marker after all: it and the space before it are content.
        #expect(parser.feed("s> are") == [.content(" <tools> are")])
        #expect(parser.feed(" <") == [])
        #expect(parser.finish() == [.content(" <")])
    }
}
