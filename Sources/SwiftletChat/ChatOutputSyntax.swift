/// The tags around a model's reasoning, as `<think>` … `</think>`.
public struct ChatReasoningTags: Sendable, Equatable, Hashable {
    /// The opening tag.
    public var start: String
    /// The closing tag.
    public var end: String

    /// Tags `start` … `end`.
    public init(start: String, end: String) {
        self.start = start
        self.end = end
    }

    /// `<think>` … `</think>` (Qwen 3, QwQ, DeepSeek-R1 and its distills).
    public static let think = ChatReasoningTags(start: "<think>", end: "</think>")
}

/// Everything the output parser needs to know about a template: its tool-call format, its reasoning
/// tags, and whether the prompt already opened the reasoning.
public struct ChatOutputSyntax: Sendable, Equatable, Hashable {
    /// How tool calls are written.
    public var format: ChatOutputFormat
    /// The reasoning tags, when the template has them.
    public var reasoning: ChatReasoningTags?
    /// True when the prompt ends inside an opened reasoning block (the generation prompt ends with
    /// `<think>`, as DeepSeek-R1's and QwQ's do), so the output starts with reasoning and has only the
    /// closing tag — llama.cpp's `thinking_forced_open`.
    public var startsInReasoning: Bool
    /// True when the template shows the offered tools to the model itself (it uses `tools`); when false
    /// the generic format's system note lists them (minja's tools polyfill, `caps.supports_tools`).
    public var templateShowsTools: Bool

    /// A syntax given part by part (`startsInReasoning` needs `reasoning`).
    public init(format: ChatOutputFormat, reasoning: ChatReasoningTags? = nil, startsInReasoning: Bool = false,
                templateShowsTools: Bool = false) {
        self.format = format
        self.reasoning = reasoning
        self.startsInReasoning = startsInReasoning && reasoning != nil
        self.templateShowsTools = templateShowsTools
    }

    /// The syntax of a template: the format from its source; `<think>` reasoning when the source has the
    /// tag; whether it shows tools (its source mentions `tools`; minja renders a tool to find out); and,
    /// given the prompt as rendered (with the generation prompt), whether that prompt ends in an open
    /// `<think>` (trailing whitespace aside), as llama.cpp checks `string_ends_with(prompt, "<think>\n")`.
    public init(templateSource: String, renderedPrompt: String? = nil) {
        let format = ChatOutputFormat(templateSource: templateSource)
        let tags: ChatReasoningTags? = templateSource.contains(ChatReasoningTags.think.start) ? .think : nil
        var open = false
        if let tags, let prompt = renderedPrompt {
            open = Self.trimmingTrailingWhitespace(prompt).hasSuffix(tags.start)
        }
        self.init(format: format, reasoning: tags, startsInReasoning: open,
                  templateShowsTools: templateSource.contains("tools"))
    }

    private static func trimmingTrailingWhitespace(_ s: String) -> Substring {
        var end = s.endIndex
        while end > s.startIndex {
            let before = s.index(before: end)
            guard s[before].isWhitespace else { break }
            end = before
        }
        return s[s.startIndex..<end]
    }
}
