/// How a model writes tool calls, as its chat template shows it — llama.cpp's `common_chat_format`.
///
/// Detected from the template source by ``init(templateSource:)``, as llama.cpp's
/// `common_chat_templates_apply_jinja` chose a handler (by looking for each format's markers in the
/// source). The formats, and the text a model writes for a call:
/// - ``hermes``: Hermes 2 Pro / 3, Qwen 2.5, Qwen 3 —
///   `<tool_call>\n{"name": "f", "arguments": {…}}\n</tool_call>`, one block per call.
/// - ``llama3(builtinTools:)``: Llama 3.1 / 3.2 / 3.3 — `{"name": "f", "parameters": {…}}` as the whole
///   answer; with `builtinTools` (the template knows `<|python_tag|>`, Llama 3.1 and 3.3) also
///   `<|python_tag|>brave_search.call(query="…")` for the builtin tools.
/// - ``mistralNemo``: `[TOOL_CALLS][{"name": "f", "arguments": {…}, "id": "abcdef123"}]`.
/// - ``phi4Mini``: Phi-4-mini — `<|tool_call|>{"name": "f", "arguments": {…}}<|/tool_call|>` (its
///   template shows one object per tag; llama.cpp b11312's template analysis reads it the same way).
/// - ``generic``: a template with no tool-call syntax of its own (SmolLM2's ChatML, Gemma 2, Phi-3…):
///   llama.cpp's generic format, where the whole answer is JSON, `{"tool_call": {"name": …, "arguments": …}}`,
///   `{"tool_calls": [{"name": …, "arguments": …, "id": …}]}` or `{"response": "…"}`, the model being told
///   so in the system prompt and held to it by a grammar (``ToolCallPlan``).
///
/// The format matters only when tools are offered; without them every format's output is plain
/// content (and reasoning, see ``ChatOutputSyntax``).
public enum ChatOutputFormat: Sendable, Equatable, Hashable {
    /// `<tool_call>` JSON `</tool_call>` (llama.cpp's `COMMON_CHAT_FORMAT_HERMES_2_PRO`).
    case hermes
    /// A bare JSON call with `"parameters"`; `builtinTools`: `<|python_tag|>name.call(…)` too
    /// (`COMMON_CHAT_FORMAT_LLAMA_3_X`, `…_WITH_BUILTIN_TOOLS`).
    case llama3(builtinTools: Bool)
    /// `[TOOL_CALLS]` and a JSON array of calls with ids (`COMMON_CHAT_FORMAT_MISTRAL_NEMO`).
    case mistralNemo
    /// `<|tool_call|>` JSON `<|/tool_call|>`.
    case phi4Mini
    /// The whole answer a JSON object (`COMMON_CHAT_FORMAT_GENERIC`).
    case generic

    /// The format a template's source shows, tested in llama.cpp's order (older chat.cpp, before the
    /// b11312 template analysis, which reaches the same markers for these templates): `<tool_call>` →
    /// Hermes; `<|tool_call|>` → Phi-4-mini; an `ipython` header → Llama 3.x (builtin tools when
    /// `<|python_tag|>` appears too); `[TOOL_CALLS]` → Mistral Nemo; anything else → generic.
    public init(templateSource source: String) {
        if source.contains("<tool_call>") {
            self = .hermes
        } else if source.contains("<|tool_call|>") {
            self = .phi4Mini
        } else if source.contains("<|start_header_id|>ipython<|end_header_id|>") {
            self = .llama3(builtinTools: source.contains("<|python_tag|>"))
        } else if source.contains("[TOOL_CALLS]") {
            self = .mistralNemo
        } else {
            self = .generic
        }
    }

    /// A short name for logs (llama.cpp's `common_chat_format_name`).
    public var name: String {
        switch self {
        case .hermes: "Hermes 2 Pro"
        case .llama3(let builtin): builtin ? "Llama 3.x with builtin tools" : "Llama 3.x"
        case .mistralNemo: "Mistral Nemo"
        case .phi4Mini: "Phi-4-mini"
        case .generic: "Generic"
        }
    }

    /// The text in content that opens tool-call markup, in the order they are tried.
    var contentMarkers: [String] {
        switch self {
        case .hermes: ["<tool_call>"]
        case .phi4Mini: ["<|tool_call|>"]
        case .mistralNemo: ["[TOOL_CALLS]"]
        case .llama3(let builtin): builtin ? ["<|python_tag|>"] : []
        case .generic: []
        }
    }

    /// The section that follows `marker`.
    func shape(after marker: String) -> ToolCallSectionParser.Shape {
        switch self {
        case .hermes: .tagged(close: "</tool_call>")
        case .phi4Mini: .tagged(close: "<|/tool_call|>")
        case .mistralNemo: .array
        case .llama3: .pythonTag
        case .generic: .generic
        }
    }

    /// The section that a `{` at the start of the answer opens, for the formats whose calls are bare JSON.
    var shapeAtStart: ToolCallSectionParser.Shape? {
        switch self {
        case .llama3: .object
        case .generic: .generic
        default: nil
        }
    }
}
