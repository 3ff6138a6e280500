/// A tool call read from a model's output.
public struct ParsedToolCall: Sendable, Equatable, Hashable {
    /// The function's name (one of the offered tools).
    public var name: String
    /// The arguments, JSON text as the model wrote it (normally an object).
    public var arguments: String
    /// The id the model wrote, if any (Mistral Nemo's 9 characters, the generic format's `"id"`).
    public var id: String?

    /// A call of `name` with `arguments` (JSON text).
    public init(name: String, arguments: String, id: String? = nil) {
        self.name = name
        self.arguments = arguments
        self.id = id
    }
}

/// A model's whole answer, split into content, reasoning and tool calls (llama.cpp's `common_chat_msg`
/// as `common_chat_parse` fills it).
public struct ParsedChatOutput: Sendable, Equatable, Hashable {
    /// The answer's text; nil when there is none.
    public var content: String?
    /// The reasoning text; nil when there is none.
    public var reasoning: String?
    /// The tool calls, in order.
    public var toolCalls: [ParsedToolCall]

    /// An answer given part by part.
    public init(content: String? = nil, reasoning: String? = nil, toolCalls: [ParsedToolCall] = []) {
        self.content = content
        self.reasoning = reasoning
        self.toolCalls = toolCalls
    }

    /// The answer the events describe.
    public init(events: [ChatOutputEvent]) {
        self.init()
        for event in events { apply(event) }
    }

    /// Adds one event (a stream's events, applied in order, build the same answer as ``init(events:)``).
    public mutating func apply(_ event: ChatOutputEvent) {
        switch event {
        case .content(let text):
            Self.append(text, to: &content)
        case .reasoning(let text):
            Self.append(text, to: &reasoning)
        case .toolCallStart(let index, let name):
            while toolCalls.count <= index { toolCalls.append(ParsedToolCall(name: "", arguments: "")) }
            toolCalls[index].name = name
        case .toolCallArguments(let index, let delta):
            guard toolCalls.indices.contains(index) else { return }
            toolCalls[index].arguments.append(delta)
        case .toolCallID(let index, let id):
            guard toolCalls.indices.contains(index) else { return }
            toolCalls[index].id = id
        case .toolCallEnd:
            break
        }
    }

    /// Appends in place (a stream of many small pieces stays linear).
    private static func append(_ text: String, to target: inout String?) {
        var value = target ?? ""
        target = nil
        value += text
        target = value
    }
}
