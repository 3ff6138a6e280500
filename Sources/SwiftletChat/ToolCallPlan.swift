import SwiftletGrammar

/// How to constrain generation when tools are offered: the grammar a call must follow, when it applies,
/// and what else the request needs — llama.cpp's `common_chat_params` (`grammar`, `grammar_lazy`,
/// `grammar_triggers`, `preserved_tokens`, `additional_stops`) as its per-format `common_chat_params_init_*`
/// functions fill them (common/chat.cpp before b11312's template analysis, which keeps the same markers).
///
/// - `auto`: a lazy grammar. Output is free until a trigger appears (the format's marker —
///   `<tool_call>`, `[TOOL_CALLS]`, `<|tool_call|>`, `<|python_tag|>` — or, for Llama 3.x, output that
///   starts like `{"name": "`); from the trigger on (the trigger text included) the grammar holds. The
///   generic format has no marker: its grammar always applies, allowing `{"response": "…"}`.
/// - `required` / `named`: the grammar applies from the first token. When the template has reasoning
///   tags, the grammar first lets the reasoning through (`<think>…</think>`, or the rest of it when the
///   prompt opened it), as b11312's grammars do.
/// - `none`, or no tools: no grammar. (llama.cpp still shows the tools to a template that renders them.)
///
/// Every call the grammar allows names an offered tool and has arguments that match that tool's
/// `parameters` schema (converted by ``GrammarBuilder``, llama.cpp's json-schema-to-grammar).
public struct ToolCallPlan: Sendable, Equatable {
    /// GBNF whose root is `root`; nil when generation is not constrained.
    public var grammar: String?
    /// True when the grammar waits for a trigger.
    public var lazy: Bool
    /// Texts that start a lazy grammar wherever they appear (llama.cpp's `COMMON_GRAMMAR_TRIGGER_TYPE_WORD`,
    /// `GrammarTrigger.word`); the grammar begins with the trigger text. llama.cpp's server matches a word
    /// that is a single token of the vocabulary as that token (`GrammarTrigger.token`); every trigger word
    /// is also a preserved token.
    public var triggerWords: [String]
    /// Regular expressions that must match the whole output so far to start a lazy grammar, which then
    /// begins at the first capture group (`COMMON_GRAMMAR_TRIGGER_TYPE_PATTERN_FULL`, `GrammarTrigger.patternFull`).
    public var triggerPatterns: [String]
    /// The markers (`preserved_tokens`): those that are a single token of the vocabulary must be shown in
    /// the output text even when they are special tokens (llama.cpp's server renders exactly these special
    /// tokens and drops the others), so that ``ChatOutputParser`` sees them.
    public var preservedTokens: [String]
    /// Extra stop strings (Llama 3.x's `<|eom_id|>`, which ends a builtin-tool call).
    public var additionalStops: [String]
    /// For the generic format: text to add to the system message (see ``ToolCallSystemNote/adding(_:to:)``).
    public var systemNote: String?
    /// For Llama 3.x: the tools treated as builtin (`<|python_tag|>name.call(…)`), to pass to the template
    /// as its `builtin_tools` variable, as llama.cpp does.
    public var builtinTools: [String]

    /// The triggers as the grammar matcher takes them (words, then full-match patterns, as llama.cpp
    /// lists them); a caller with a vocabulary may turn one-token words into `GrammarTrigger.token`.
    public var grammarTriggers: [GrammarTrigger] {
        triggerWords.map(GrammarTrigger.word) + triggerPatterns.map(GrammarTrigger.patternFull)
    }

    /// A plan given field by field (the default is no constraint at all).
    public init(grammar: String? = nil, lazy: Bool = false, triggerWords: [String] = [], triggerPatterns: [String] = [],
                preservedTokens: [String] = [], additionalStops: [String] = [], systemNote: String? = nil,
                builtinTools: [String] = []) {
        self.grammar = grammar
        self.lazy = lazy
        self.triggerWords = triggerWords
        self.triggerPatterns = triggerPatterns
        self.preservedTokens = preservedTokens
        self.additionalStops = additionalStops
        self.systemNote = systemNote
        self.builtinTools = builtinTools
    }

    /// The plan for a request: `tools` is OpenAI's `tools` array (`null` for none), `parallel` OpenAI's
    /// `parallel_tool_calls` (llama.cpp turns it off for templates that cannot show several calls, which
    /// is the caller's call to make). Throws for malformed tools, a named tool that is not offered, or a
    /// parameters schema the converter rejects.
    public static func make(syntax: ChatOutputSyntax, tools: JSONValue, choice: ToolChoice,
                            parallel: Bool) throws(GrammarError) -> ToolCallPlan {
        let definitions = try ToolDefinition.parse(tools)
        return try make(syntax: syntax, tools: definitions, choice: choice, parallel: parallel)
    }

    /// The plan for a format without reasoning tags.
    public static func make(format: ChatOutputFormat, tools: JSONValue, choice: ToolChoice,
                            parallel: Bool) throws(GrammarError) -> ToolCallPlan {
        try make(syntax: ChatOutputSyntax(format: format), tools: tools, choice: choice, parallel: parallel)
    }

    /// The plan for parsed tool definitions.
    public static func make(syntax: ChatOutputSyntax, tools: [ToolDefinition], choice: ToolChoice,
                            parallel: Bool) throws(GrammarError) -> ToolCallPlan {
        guard !tools.isEmpty, choice != .none else { return ToolCallPlan() }
        var offered = tools
        if case .named(let name) = choice {
            guard let tool = tools.first(where: { $0.name == name }) else {
                throw GrammarError("tool_choice names \(name), which is not among the offered tools")
            }
            offered = [tool]
        }
        let lazy = choice == .auto && syntax.format != .generic
        var writer = ToolCallGrammarWriter(syntax: syntax, lazy: lazy)
        var plan = ToolCallPlan(lazy: lazy)
        let thinkTags = syntax.reasoning.map { [$0.start, $0.end] } ?? []
        switch syntax.format {
        case .hermes:
            try writer.tagged(offered, open: "<tool_call>", close: "</tool_call>", parallel: parallel)
            plan.triggerWords = ["<tool_call>"]
            plan.preservedTokens = thinkTags + ["<tool_call>", "</tool_call>"]
        case .phi4Mini:
            try writer.tagged(offered, open: "<|tool_call|>", close: "<|/tool_call|>", parallel: parallel)
            plan.triggerWords = ["<|tool_call|>"]
            plan.preservedTokens = thinkTags + ["<|tool_call|>", "<|/tool_call|>"]
        case .mistralNemo:
            try writer.mistralNemo(offered, parallel: parallel)
            plan.triggerWords = ["[TOOL_CALLS]"]
            plan.preservedTokens = thinkTags + ["[TOOL_CALLS]"]
        case .llama3(let builtinAllowed):
            let builtins = try writer.llama3(offered, builtinAllowed: builtinAllowed)
            // Small models may hallucinate names: llama.cpp triggers on anything that starts like a call.
            plan.triggerPatterns = [#"(\{\s*(?:"type"\s*:\s*"function"\s*,\s*)?"name"\s*:\s*")[\s\S]*"#]
            if !builtins.isEmpty {
                plan.triggerWords = ["<|python_tag|>"]
                plan.preservedTokens = ["<|python_tag|>"]
            }
            plan.preservedTokens = thinkTags + plan.preservedTokens
            plan.builtinTools = builtins
            plan.additionalStops = ["<|eom_id|>"]
        case .generic:
            try writer.generic(offered, required: choice != .auto, parallel: parallel)
            plan.preservedTokens = thinkTags
            plan.systemNote = ToolCallSystemNote.note(for: tools, templateShowsTools: syntax.templateShowsTools)
        }
        if !lazy {
            plan.triggerWords = []
            plan.triggerPatterns = []
        } else if let tags = syntax.reasoning, !plan.triggerWords.isEmpty {
            // A marker written while thinking is not a call (the parser reads it as reasoning): the words
            // become patterns that look only past the reasoning, as b11312's sampler pauses the grammar.
            plan.triggerPatterns = plan.triggerWords.map { Self.pastReasoning(tags, syntax.startsInReasoning, $0) }
                + plan.triggerPatterns
            plan.triggerWords = []
        }
        plan.grammar = writer.gbnf
        return plan
    }

    /// A whole-output pattern whose first group is `word` found after the reasoning block: after the
    /// closing tag when the prompt opened the block, else after a block the output starts with (or
    /// anywhere, when it starts with none).
    public static func pastReasoning(_ tags: ChatReasoningTags, _ opened: Bool, _ word: String) -> String {
        let start = escaped(tags.start), end = escaped(tags.end)
        let reasoning = opened ? "[\\s\\S]*?\(end)" : "(?:(?!\\s*\(start))|\\s*\(start)[\\s\\S]*?\(end))"
        return reasoning + "[\\s\\S]*?(" + escaped(word) + ")[\\s\\S]*"
    }

    /// `text` with every regular-expression metacharacter escaped.
    static func escaped(_ text: String) -> String {
        var out = ""
        for c in text {
            if "\\^$.|?*+()[]{}/-".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }
}

/// Writes a plan's grammar with ``GrammarBuilder`` (llama.cpp's `build_grammar` and `common_grammar_builder`).
struct ToolCallGrammarWriter {
    private var builder = GrammarBuilder()
    private let syntax: ChatOutputSyntax
    private let lazy: Bool

    init(syntax: ChatOutputSyntax, lazy: Bool) {
        self.syntax = syntax
        self.lazy = lazy
    }

    var gbnf: String { builder.gbnf }

    /// Hermes / Qwen and Phi-4-mini: `open` call `close`, repeated when `parallel`.
    mutating func tagged(_ tools: [ToolDefinition], open: String, close: String, parallel: Bool) throws(GrammarError) {
        var calls: [String] = []
        for tool in tools {
            calls.append(try callObject(tool, argumentsKey: "arguments"))
        }
        let block = builder.addRule("tool-call", GrammarBuilder.literal(open) + " space ( "
            + calls.joined(separator: " | ") + " ) space " + GrammarBuilder.literal(close))
        try setRoot(parallel ? "\(block) ( space \(block) )*" : block)
    }

    /// Mistral Nemo: `[TOOL_CALLS]` and a JSON array of calls with 9-character ids (one call unless `parallel`).
    mutating func mistralNemo(_ tools: [ToolDefinition], parallel: Bool) throws(GrammarError) {
        // Nemo's template expects a 9-character alphanumeric id (llama.cpp's schema for it).
        let id = try builder.addSchema("tool-call-id", .object([
            ("type", .string("string")), ("pattern", .string("^[a-zA-Z0-9]{9}$")),
        ]))
        var calls: [String] = []
        for tool in tools {
            calls.append(try callObject(tool, argumentsKey: "arguments", idRule: id))
        }
        let call = builder.addRule("tool-call", calls.joined(separator: " | "))
        let list = parallel ? "\(call) ( \",\" space \(call) )*" : call
        try setRoot(GrammarBuilder.literal("[TOOL_CALLS]") + " space \"[\" space " + list + " \"]\" space")
    }

    /// Llama 3.x: `{"name": …, "parameters": …}` (optionally after `"type": "function"`), and for the
    /// builtin tools `<|python_tag|>name.call(key=value, …)`. Returns the tools taken as builtin.
    mutating func llama3(_ tools: [ToolDefinition], builtinAllowed: Bool) throws(GrammarError) -> [String] {
        var calls: [String] = []
        var builtins: [String] = []
        for tool in tools {
            if builtinAllowed, let keys = Self.builtinArguments(tool) {
                var pairs: [String] = []
                for key in keys {
                    guard let schema = tool.parameters["properties"]?[key] else { continue }
                    let value = try builder.addSchema("\(tool.name)-args-\(key)", schema)
                    pairs.append(GrammarBuilder.literal("\(key)=") + " " + value)
                }
                calls.append(builder.addRule("\(tool.name)-builtin-call",
                    GrammarBuilder.literal("<|python_tag|>\(tool.name).call(") + " "
                        + pairs.joined(separator: " \", \" ") + " \")\""))
                builtins.append(tool.name)
            }
            calls.append(try callObject(tool, argumentsKey: "parameters", typePrefix: true))
        }
        try setRoot("( " + calls.joined(separator: " | ") + " )")
        return builtins
    }

    /// The generic format: the JSON schema llama.cpp's `common_chat_params_init_generic` writes, whole.
    mutating func generic(_ tools: [ToolDefinition], required: Bool, parallel: Bool) throws(GrammarError) {
        var schemas: [JSONValue] = []
        for tool in tools {
            let properties: [(key: String, value: JSONValue)] = [
                ("name", .object([("type", .string("string")), ("const", .string(tool.name))])),
                ("arguments", tool.parameters),
            ]
            // llama.cpp's older generic format also asked parallel calls for an `"id"` string of 4 characters
            // or more; the server assigns ids itself, and small models given an unbounded string there kept
            // writing it until `max_tokens`, so the grammar asks for none.
            let requiredKeys: [JSONValue] = [.string("name"), .string("arguments")]
            var schema: [(key: String, value: JSONValue)] = [
                ("type", .string("object")), ("properties", .object(properties)), ("required", .array(requiredKeys)),
            ]
            if !tool.description.isEmpty { schema.append(("description", .string(tool.description))) }
            schemas.append(.object(schema))
        }
        let oneCall: JSONValue = schemas.count == 1 ? schemas[0] : .object([("anyOf", .array(schemas))])
        let call: JSONValue = parallel
            ? .object([
                ("type", .string("object")),
                ("properties", .object([("tool_calls", .object([
                    ("type", .string("array")), ("items", oneCall), ("minItems", .number("1")),
                ]))])),
                ("required", .array([.string("tool_calls")])),
            ])
            : .object([
                ("type", .string("object")),
                ("properties", .object([("tool_call", oneCall)])),
                ("required", .array([.string("tool_call")])),
            ])
        let schema: JSONValue = required ? call : .object([("anyOf", .array([
            call,
            .object([
                ("type", .string("object")),
                ("properties", .object([("response", .object([("type", .string("string"))]))])),
                ("required", .array([.string("response")])),
            ]),
        ]))])
        if let prefix = try reasoningPrefix() {
            let answer = try builder.addSchema("answer", schema)
            _ = builder.addRule("root", prefix + " " + answer)
        } else {
            _ = try builder.addSchema("root", schema)
        }
    }

    /// `{"name": "<name>", "<argumentsKey>": <arguments>[, "id": <id>]}` for one tool.
    private mutating func callObject(_ tool: ToolDefinition, argumentsKey: String, typePrefix: Bool = false,
                                     idRule: String? = nil) throws(GrammarError) -> String {
        let arguments = try builder.addSchema("\(tool.name)-args", tool.parameters)
        var body = "\"{\" space "
        if typePrefix {
            body += "( " + GrammarBuilder.literal("\"type\"") + " space \":\" space "
                + GrammarBuilder.literal("\"function\"") + " space \",\" space )? "
        }
        body += GrammarBuilder.literal("\"name\"") + " space \":\" space "
            + GrammarBuilder.literal(JSONValue.quoted(tool.name)) + " space \",\" space "
            + GrammarBuilder.literal(JSONValue.quoted(argumentsKey)) + " space \":\" space " + arguments + " space"
        if let idRule {
            body += " \",\" space " + GrammarBuilder.literal("\"id\"") + " space \":\" space " + idRule + " space"
        }
        body += " \"}\" space"
        return builder.addRule("\(tool.name)-call", body)
    }

    /// Sets `root` to `body`, after the reasoning a non-lazy grammar lets through.
    private mutating func setRoot(_ body: String) throws(GrammarError) {
        if let prefix = try reasoningPrefix() {
            _ = builder.addRule("root", prefix + " " + body)
        } else {
            _ = builder.addRule("root", body)
        }
    }

    /// For a grammar that applies from the first token, the reasoning before the answer: the rest of it
    /// up to the end tag when the prompt opened it, else an optional whole block.
    private mutating func reasoningPrefix() throws(GrammarError) -> String? {
        guard !lazy, let tags = syntax.reasoning else { return nil }
        let rest = try ToolCallGrammarUntil.add(tags.end, name: "reasoning-until", to: &builder)
        if syntax.startsInReasoning {
            return "\(rest) space"
        }
        return "( " + GrammarBuilder.literal(tags.start) + " \(rest) space )?"
    }

    /// The argument names of a Llama builtin tool (llama.cpp's `handle_builtin_tool`: `wolfram_alpha`,
    /// `web_search`, `brave_search` take `query`; `python`, `code_interpreter` take `code`), when the
    /// tool's parameters are exactly those. (llama.cpp rejects the request otherwise; here the tool is
    /// then an ordinary JSON one.)
    private static func builtinArguments(_ tool: ToolDefinition) -> [String]? {
        let expected: String
        switch tool.name {
        case "wolfram_alpha", "web_search", "brave_search": expected = "query"
        case "python", "code_interpreter": expected = "code"
        default: return nil
        }
        guard let properties = tool.parameters["properties"]?.object, properties.map(\.key) == [expected],
              let required = tool.parameters["required"]?.array, required.contains(.string(expected))
        else { return nil }
        return [expected]
    }
}
