import Foundation
import SwiftletChat
import SwiftletGrammar
import Testing

/// The grammar/trigger plans (llama.cpp's `common_chat_params_init_*`), the generic format's system
/// note, and reading OpenAI's `tools` / `tool_choice`.
@Suite struct ToolCallPlanTests {
    static let tools = try! JSONValue(parsing: """
        [{"type": "function", "function": {"name": "get_weather", "description": "Current weather",
          "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}]
        """)
    static let search = try! JSONValue(parsing: """
        [{"type": "function", "function": {"name": "brave_search",
          "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}},
         {"type": "function", "function": {"name": "now"}}]
        """)

    @Test func hermesAutoIsALazyGrammarFromTheTag() throws {
        let plan = try ToolCallPlan.make(format: .hermes, tools: Self.tools, choice: .auto, parallel: false)
        #expect(plan.lazy)
        #expect(plan.triggerWords == ["<tool_call>"])
        #expect(plan.triggerPatterns.isEmpty)
        #expect(plan.preservedTokens == ["<tool_call>", "</tool_call>"])
        #expect(plan.systemNote == nil)
        // The arguments rule is the JSON-schema converter's; the rest is the call's frame.
        var builder = GrammarBuilder()
        _ = try builder.addSchema("get_weather-args", Self.tools.array![0]["function"]!["parameters"]!)
        for line in builder.gbnf.split(separator: "\n") {
            #expect(plan.grammar!.contains(line + "\n"))
        }
        #expect(plan.grammar!.contains("""
            get-weather-call ::= "{" space "\\"name\\"" space ":" space "\\"get_weather\\"" space "," space \
            "\\"arguments\\"" space ":" space get-weather-args space "}" space

            """))
        #expect(plan.grammar!.contains("""
            root ::= tool-call
            """))
        #expect(plan.grammar!.contains("""
            tool-call ::= "<tool_call>" space ( get-weather-call ) space "</tool_call>"

            """))
    }

    @Test func parallelCallsRepeatTheBlock() throws {
        let plan = try ToolCallPlan.make(format: .phi4Mini, tools: Self.search, choice: .auto, parallel: true)
        #expect(plan.grammar!.contains("root ::= tool-call ( space tool-call )*\n"))
        #expect(plan.grammar!.contains(
            #"tool-call ::= "<|tool_call|>" space ( brave-search-call | now-call ) space "<|/tool_call|>""#))
        // A tool without parameters takes an empty object.
        #expect(plan.grammar!.contains(#"now-args ::= "{" space "}""#))
        #expect(plan.triggerWords == ["<|tool_call|>"])
    }

    @Test func requiredAppliesFromTheFirstTokenAfterTheReasoning() throws {
        let qwen3 = ChatOutputSyntax(format: .hermes, reasoning: .think)
        let plan = try ToolCallPlan.make(syntax: qwen3, tools: Self.tools, choice: .required, parallel: false)
        #expect(!plan.lazy)
        #expect(plan.triggerWords.isEmpty)
        #expect(plan.preservedTokens == ["<think>", "</think>", "<tool_call>", "</tool_call>"])
        #expect(plan.grammar!.contains(#"root ::= ( "<think>" reasoning-until-0 space )? tool-call"#))
        // The reasoning runs to the first `</think>`: after `</thin` only `k` leads on, to `>`, the end.
        #expect(plan.grammar!.contains(#"reasoning-until-6 ::= "<" reasoning-until-1 | "/" reasoning-until-0 | "#
            + #""t" reasoning-until-0 | "h" reasoning-until-0 | "i" reasoning-until-0 | "n" reasoning-until-0 | "#
            + #""k" reasoning-until-7 | ">" reasoning-until-0 | [^</think>] reasoning-until-0"#))
        #expect(plan.grammar!.contains(#"reasoning-until-7 ::= "<" reasoning-until-1 | "/" reasoning-until-0 | "#
            + #""t" reasoning-until-0 | "h" reasoning-until-0 | "i" reasoning-until-0 | "n" reasoning-until-0 | "#
            + #""k" reasoning-until-0 | ">" | [^</think>] reasoning-until-0"#))

        let opened = ChatOutputSyntax(format: .hermes, reasoning: .think, startsInReasoning: true)
        let forced = try ToolCallPlan.make(syntax: opened, tools: Self.tools, choice: .required, parallel: false)
        #expect(forced.grammar!.contains("root ::= reasoning-until-0 space tool-call\n"))
        // A lazy grammar starts at its trigger, after any reasoning: no reasoning rules.
        let lazy = try ToolCallPlan.make(syntax: qwen3, tools: Self.tools, choice: .auto, parallel: false)
        #expect(!lazy.grammar!.contains("reasoning-until"))
    }

    @Test func namedChoiceKeepsOnlyThatTool() throws {
        let plan = try ToolCallPlan.make(format: .hermes, tools: Self.search, choice: .named("now"), parallel: false)
        #expect(!plan.lazy)
        #expect(plan.grammar!.contains("( now-call )"))
        #expect(!plan.grammar!.contains("brave-search-call"))
        #expect(throws: GrammarError.self) {
            try ToolCallPlan.make(format: .hermes, tools: Self.search, choice: .named("missing"), parallel: false)
        }
    }

    @Test func noneOrNoToolsMeansNoGrammar() throws {
        #expect(try ToolCallPlan.make(format: .hermes, tools: Self.tools, choice: .none,
            parallel: true) == ToolCallPlan())
        #expect(try ToolCallPlan.make(format: .generic, tools: .array([]), choice: .auto,
            parallel: true) == ToolCallPlan())
        #expect(try ToolCallPlan.make(format: .generic, tools: .null, choice: .required,
            parallel: true) == ToolCallPlan())
    }

    @Test func mistralNemoCallsCarryANineCharacterID() throws {
        let plan = try ToolCallPlan.make(format: .mistralNemo, tools: Self.tools, choice: .auto, parallel: false)
        #expect(plan.triggerWords == ["[TOOL_CALLS]"])
        #expect(plan.preservedTokens == ["[TOOL_CALLS]"])
        #expect(plan.grammar!.contains(#"root ::= "[TOOL_CALLS]" space "[" space tool-call "]" space"#))
        #expect(plan.grammar!.contains(#"tool-call-id ::= "\"" (tool-call-id-1{9,9}) "\"""#))
        #expect(plan.grammar!.contains(#"space "," space "\"id\"" space ":" space tool-call-id space "}" space"#))
        let parallel = try ToolCallPlan.make(format: .mistralNemo, tools: Self.tools, choice: .auto, parallel: true)
        #expect(parallel.grammar!.contains(
            #"root ::= "[TOOL_CALLS]" space "[" space tool-call ( "," space tool-call )* "]" space"#))
    }

    @Test func llama3TriggersOnAJSONCallAtTheStartAndBuiltinTags() throws {
        let plan = try ToolCallPlan.make(format: .llama3(builtinTools: true), tools: Self.search, choice: .auto,
            parallel: true)
        #expect(plan.lazy)
        #expect(plan.triggerPatterns == [#"(\{\s*(?:"type"\s*:\s*"function"\s*,\s*)?"name"\s*:\s*")[\s\S]*"#])
        #expect(plan.triggerWords == ["<|python_tag|>"])
        #expect(plan.preservedTokens == ["<|python_tag|>"])
        #expect(plan.builtinTools == ["brave_search"])
        #expect(plan.additionalStops == ["<|eom_id|>"])
        #expect(plan.grammar!.contains(#"brave-search-builtin-call ::= "<|python_tag|>brave_search.call(" "query=" "#))
        #expect(plan.grammar!.contains(#""\"parameters\"" space ":" space brave-search-args"#))
        #expect(plan.grammar!.contains(#"( "\"type\"" space ":" space "\"function\"" space "," space )?"#))
        // Llama 3.2's template has no python tag: no builtin calls.
        let plain = try ToolCallPlan.make(format: .llama3(builtinTools: false), tools: Self.search, choice: .auto,
            parallel: true)
        #expect(plain.builtinTools.isEmpty && plain.triggerWords.isEmpty && !plain.grammar!.contains("python_tag"))
    }

    @Test func genericAlwaysAppliesAndExplainsItself() throws {
        let source = try ChatOutputFormatTests.template("smollm2-instruct")
        let smol = ChatOutputSyntax(templateSource: source)
        #expect(smol.format == .generic && !smol.templateShowsTools)
        let plan = try ToolCallPlan.make(syntax: smol, tools: Self.tools, choice: .auto, parallel: false)
        #expect(!plan.lazy)
        #expect(plan.triggerWords.isEmpty && plan.triggerPatterns.isEmpty)
        #expect(plan.grammar!.contains("root ::= alternative-0 | alternative-1\n"))
        #expect(plan.grammar!.contains(#"alternative-1 ::= "{" space alternative-1-response-kv space "}""#))
        let note = """
            Respond in JSON format, either with `tool_call` (a request to call tools) or with `response` reply to \
            the user's request

            You can call any of the following tools to satisfy the user's requests: [
              {
                "type": "function",
                "function": {
                  "name": "get_weather",
                  "description": "Current weather",
                  "parameters": {
                    "type": "object",
                    "properties": {
                      "location": {
                        "type": "string"
                      }
                    },
                    "required": [
                      "location"
                    ]
                  }
                }
              }
            ]

            Example tool call syntax:

            {
              "tool_calls": [
                {
                  "name": "tool_name",
                  "arguments": {
                    "arg1": "some_value"
                  },
                  "id": "call_1___"
                }
              ]
            }


            """
        #expect(plan.systemNote == note)
        // Required: a call, no `response`.
        let required = try ToolCallPlan.make(syntax: smol, tools: Self.tools, choice: .required, parallel: false)
        #expect(!required.grammar!.contains("response"))
        #expect(required.grammar!.contains(#"root ::= "{" space tool-call-kv space "}""#))
        // Parallel: a `tool_calls` array; the server gives the ids, so the calls have none.
        let parallel = try ToolCallPlan.make(syntax: smol, tools: Self.tools, choice: .required, parallel: true)
        #expect(parallel.grammar!.contains("tool-calls"))
        #expect(!parallel.grammar!.contains(#""\"id\"" space ":" space"#))
        // A template that shows the tools gets only the instruction.
        let shows = ChatOutputSyntax(format: .generic, templateShowsTools: true)
        let short = try ToolCallPlan.make(syntax: shows, tools: Self.tools, choice: .auto, parallel: false)
        #expect(short.systemNote == ToolCallSystemNote.respondInJSON)
    }

    @Test func triggerWordsArePreservedTokens() throws {
        // llama.cpp's server refuses a one-token trigger word that is not a preserved token.
        let formats: [ChatOutputFormat] = [.hermes, .phi4Mini, .mistralNemo, .llama3(builtinTools: true), .generic]
        for format in formats {
            let plan = try ToolCallPlan.make(format: format, tools: Self.search, choice: .auto, parallel: true)
            #expect(Set(plan.triggerWords).isSubset(of: Set(plan.preservedTokens)), "\(format)")
            #expect(!plan.lazy || !(plan.triggerWords + plan.triggerPatterns).isEmpty, "\(format)")
        }
    }

    @Test func theNoteJoinsTheSystemMessage() {
        let user = ChatMessage(role: .user, content: "Hi")
        #expect(ToolCallSystemNote.adding("N", to: [user]) == [ChatMessage(role: .system, content: "N"), user])
        #expect(ToolCallSystemNote.adding("N", to: [ChatMessage(role: .system, content: "Be brief."), user])
                == [ChatMessage(role: .system, content: "Be brief.\n\nN"), user])
    }

    @Test func grammarsFitTheParser() throws {
        // The texts each grammar is built to produce are read back as calls.
        let call = "{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}"
        let cases: [(ChatOutputFormat, String)] = [
            (.hermes, "<tool_call>\n\(call)\n</tool_call>"),
            (.phi4Mini, "<|tool_call|>\(call)<|/tool_call|>"),
            (.mistralNemo, "[TOOL_CALLS][\(call.dropLast()), \"id\": \"a1b2c3d4e\"}]"),
            (.llama3(builtinTools: false),
                "{\"type\": \"function\", \"name\": \"get_weather\", \"parameters\": {\"location\": \"Paris\"}}"),
            (.generic, "{\"tool_call\": \(call)}"),
        ]
        for (format, text) in cases {
            let parsed = ChatOutputParser(syntax: ChatOutputSyntax(format: format),
                toolNames: ["get_weather"]).parse(text)
            #expect(parsed.toolCalls.map(\.name) == ["get_weather"], "\(format)")
            let arguments = try JSONValue(parsing: parsed.toolCalls[0].arguments)
            #expect(arguments == (try JSONValue(parsing: "{\"location\": \"Paris\"}")))
        }
    }

    @Test func badToolsAreErrors() {
        let bad = [
            #"{"type": "function"}"#,
            #"[{"type": "retrieval"}]"#,
            #"[{"type": "function", "function": {"description": "no name"}}]"#,
            #"[{"type": "function", "function": {"name": "f", "parameters": "object"}}]"#,
            #"[{"type": "function", "function": {"name": "f"}}, {"type": "function", "function": {"name": "f"}}]"#,
            #"[{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "#
                + #""properties": {"a": {"type": "strin"}}}}}]"#,
        ]
        for text in bad {
            #expect(throws: GrammarError.self, "\(text)") {
                try ToolCallPlan.make(format: .hermes, tools: try JSONValue(parsing: text), choice: .auto,
                    parallel: false)
            }
        }
    }

    @Test func toolChoiceFromOpenAI() throws {
        #expect(try ToolChoice(openAI: nil) == .auto)
        #expect(try ToolChoice(openAI: .string("none")) == .none)
        #expect(try ToolChoice(openAI: .string("required")) == .required)
        let named = try JSONValue(parsing: #"{"type": "function", "function": {"name": "f"}}"#)
        #expect(try ToolChoice(openAI: named) == .named("f"))
        #expect(throws: GrammarError.self) { try ToolChoice(openAI: .string("sometimes")) }
        #expect(throws: GrammarError.self) { try ToolChoice(openAI: JSONValue(parsing: #"{"type": "function"}"#)) }
    }

    @Test func toolsWithoutParametersTakeNoArguments() throws {
        let tools = try ToolDefinition.parse(Self.search)
        #expect(tools.map(\.name) == ["brave_search", "now"])
        #expect(tools[1].parameters == (try JSONValue(parsing: #"{"type": "object", "properties": {}}"#)))
        #expect(tools[1].openAIJSON == (try JSONValue(parsing:
            #"{"type": "function", "function": {"name": "now", "description": "", "parameters": {}}}"#)))
    }
}
