/// Token counts of a response, as OpenAI reports them.
public struct Usage: Sendable, Equatable, Codable {
    public struct PromptDetails: Sendable, Equatable, Codable {
        /// Prompt tokens whose keys and values came from the cache instead of being evaluated.
        public var cachedTokens: Int
        enum CodingKeys: String, CodingKey { case cachedTokens = "cached_tokens" }
    }
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int
    public var promptTokensDetails: PromptDetails

    public init(promptTokens: Int, completionTokens: Int, cachedTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        totalTokens = promptTokens + completionTokens
        promptTokensDetails = PromptDetails(cachedTokens: cachedTokens)
    }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case totalTokens = "total_tokens"
        case promptTokensDetails = "prompt_tokens_details"
    }
}

/// A call the model made, as OpenAI returns it: `{id, type: "function", function: {name, arguments}}`.
public struct ResponseToolCall: Sendable, Equatable, Codable {
    public struct Function: Sendable, Equatable, Codable {
        public var name: String
        /// The arguments object as JSON text.
        public var arguments: String
    }
    public var id: String
    public var type = "function"
    public var function: Function

    public init(id: String, name: String, arguments: String) {
        self.id = id
        function = Function(name: name, arguments: arguments)
    }
}

/// A whole (non-streamed) chat answer.
public struct ChatCompletion: Sendable, Codable {
    public struct Message: Sendable, Codable {
        public var role: String
        /// The answer's text; null when the model only called tools.
        public var content: String?
        /// The thinking a reasoning model did before answering (llama-server's `reasoning_content`).
        public var reasoningContent: String?
        public var toolCalls: [ResponseToolCall]?
        enum CodingKeys: String, CodingKey {
            case role, content
            case reasoningContent = "reasoning_content"
            case toolCalls = "tool_calls"
        }
        public init(role: String, content: String?, reasoningContent: String? = nil,
                    toolCalls: [ResponseToolCall]? = nil) {
            self.role = role
            self.content = content
            self.reasoningContent = reasoningContent
            self.toolCalls = toolCalls
        }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(role, forKey: .role)
            try c.encode(content, forKey: .content)  // null, not absent, as OpenAI writes it
            try c.encodeIfPresent(reasoningContent, forKey: .reasoningContent)
            try c.encodeIfPresent(toolCalls, forKey: .toolCalls)
        }
    }
    public struct Choice: Sendable, Codable {
        public var index: Int
        public var message: Message
        public var finishReason: String
        enum CodingKeys: String, CodingKey { case index, message, finishReason = "finish_reason" }
        public init(index: Int, message: Message, finishReason: String) { self.index = index; self.message = message; self.finishReason = finishReason }
    }
    public var id: String
    public var object = "chat.completion"
    public var created: Int
    public var model: String
    public var choices: [Choice]
    public var usage: Usage

    public init(id: String, created: Int, model: String, choices: [Choice], usage: Usage) {
        self.id = id; self.created = created; self.model = model; self.choices = choices; self.usage = usage
    }
}

/// One event of a streamed chat answer. `finish_reason` is written as null until the last chunk, and
/// `usage` only where there is one.
public struct ChatCompletionChunk: Sendable, Encodable {
    public struct Delta: Sendable, Encodable {
        /// A piece of a tool call: the first piece of each call carries `id`, `type` and the name, the
        /// following ones pieces of `arguments`; `index` says which call.
        public struct ToolCall: Sendable, Encodable {
            public struct Function: Sendable, Encodable {
                public var name: String?
                public var arguments: String?
            }
            public var index: Int
            public var id: String?
            public var type: String?
            public var function: Function
            public init(index: Int, id: String? = nil, name: String? = nil, arguments: String? = nil) {
                self.index = index
                self.id = id
                type = id == nil ? nil : "function"
                function = Function(name: name, arguments: arguments)
            }
        }
        public var role: String?
        public var content: String?
        public var reasoningContent: String?
        public var toolCalls: [ToolCall]?
        enum CodingKeys: String, CodingKey {
            case role, content
            case reasoningContent = "reasoning_content"
            case toolCalls = "tool_calls"
        }
        public init(role: String? = nil, content: String? = nil, reasoningContent: String? = nil,
                    toolCalls: [ToolCall]? = nil) {
            self.role = role
            self.content = content
            self.reasoningContent = reasoningContent
            self.toolCalls = toolCalls
        }
    }
    public struct Choice: Sendable, Encodable {
        public var index: Int
        public var delta: Delta
        public var finishReason: String?
        enum CodingKeys: String, CodingKey { case index, delta, finishReason = "finish_reason" }
        public init(index: Int, delta: Delta, finishReason: String?) { self.index = index; self.delta = delta; self.finishReason = finishReason }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(delta, forKey: .delta)
            try c.encode(finishReason, forKey: .finishReason)
        }
    }
    public var id: String
    public var object = "chat.completion.chunk"
    public var created: Int
    public var model: String
    public var choices: [Choice]
    public var usage: Usage?

    public init(id: String, created: Int, model: String, choices: [Choice], usage: Usage? = nil) {
        self.id = id; self.created = created; self.model = model; self.choices = choices; self.usage = usage
    }
}

/// A legacy text completion (`/v1/completions`), whole or one streamed piece.
public struct TextCompletion: Sendable, Encodable {
    public struct Choice: Sendable, Encodable {
        public var text: String
        public var index: Int
        public var finishReason: String?
        enum CodingKeys: String, CodingKey { case text, index, logprobs, finishReason = "finish_reason" }
        public init(text: String, index: Int, finishReason: String?) { self.text = text; self.index = index; self.finishReason = finishReason }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(text, forKey: .text)
            try c.encode(index, forKey: .index)
            try c.encodeNil(forKey: .logprobs)
            try c.encode(finishReason, forKey: .finishReason)
        }
    }
    public var id: String
    public var object = "text_completion"
    public var created: Int
    public var model: String
    public var choices: [Choice]
    public var usage: Usage?

    public init(id: String, created: Int, model: String, choices: [Choice], usage: Usage? = nil) {
        self.id = id; self.created = created; self.model = model; self.choices = choices; self.usage = usage
    }
}

/// `GET /v1/models`.
public struct ModelList: Sendable, Codable {
    public struct Entry: Sendable, Codable {
        public var id: String
        public var object = "model"
        public var created: Int
        public var ownedBy: String
        /// Positions of each sequence: what LibreChat's `tokenConfig.context` should say.
        public var contextLength: Int
        /// Whether the model is in memory now (a Swiftlet extension; a ``ModelRegistry`` loads on demand).
        public var loaded: Bool?
        /// Size of the model file in bytes (a Swiftlet extension).
        public var size: Int?
        enum CodingKeys: String, CodingKey {
            case id, object, created, ownedBy = "owned_by", contextLength = "context_length", loaded, size
        }
        public init(id: String, created: Int, ownedBy: String, contextLength: Int, loaded: Bool? = nil,
                    size: Int? = nil) {
            self.id = id; self.created = created; self.ownedBy = ownedBy; self.contextLength = contextLength
            self.loaded = loaded; self.size = size
        }
    }
    public var object = "list"
    public var data: [Entry]
    public init(data: [Entry]) { self.data = data }
}
