import Foundation

/// A message's `content`: a string, or a list of parts (text and images); null for an assistant message
/// that only calls tools.
public enum MessageContent: Sendable, Equatable, Decodable {
    case text(String)
    case parts([ContentPart])
    case none

    public struct ContentPart: Sendable, Equatable, Decodable {
        public var type: String
        /// The text of a `text` part (required there); nil for other parts.
        public var text: String?

        enum CodingKeys: String, CodingKey { case type, text }

        public init(type: String, text: String?) {
            self.type = type
            self.text = text
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            type = try c.decode(String.self, forKey: .type)
            text = type == "text" ? try c.decode(String.self, forKey: .text) : nil
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .none; return }
        if let s = try? c.decode(String.self) { self = .text(s); return }
        do {
            self = .parts(try c.decode([ContentPart].self))
        } catch let DecodingError.typeMismatch(_, context) where context.codingPath.count == decoder.codingPath.count {
            // Neither a string nor an array; a problem inside a part keeps its own path and message.
            throw DecodingError.typeMismatch(MessageContent.self, .init(
                codingPath: decoder.codingPath, debugDescription: "content must be a string, an array of content parts or null"))
        }
    }

    /// The types of the parts that are not text, for an error that says what was sent.
    public var nonTextPartTypes: [String] {
        guard case .parts(let parts) = self else { return [] }
        return parts.filter { $0.type != "text" }.map(\.type)
    }

    /// The text a text-only model reads: text parts joined; nil when there are parts but none is text.
    public var text: String? {
        switch self {
        case .text(let s): return s
        case .none: return ""
        case .parts(let parts):
            let texts = parts.filter { $0.type == "text" }.compactMap(\.text)
            return texts.isEmpty && !parts.isEmpty ? nil : texts.joined(separator: "\n")
        }
    }
}

/// `stop`: one string or several.
public struct StopSequences: Sendable, Equatable, Decodable {
    public var values: [String]
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { values = [] } else if let s = try? c.decode(String.self) { values = [s] } else {
            values = try c.decode([String].self)
        }
    }
}

/// Any JSON value, checked for well-formedness and otherwise ignored by the typed decoding: the fields
/// that hold one (a tool's `parameters`, a JSON schema, `chat_template_kwargs`) are read again, in key
/// order, from the raw body (see ``ChatProvider``), since `JSONDecoder` does not keep that order.
public struct AnyJSON: Sendable, Equatable, Decodable {
    public init(from decoder: any Decoder) throws {
        if let c = try? decoder.container(keyedBy: AnyKey.self) {
            for key in c.allKeys { _ = try c.decode(AnyJSON.self, forKey: key) }
        } else if var c = try? decoder.unkeyedContainer() {
            while !c.isAtEnd { _ = try c.decode(AnyJSON.self) }
        } else {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() || (try? c.decode(Bool.self)) != nil || (try? c.decode(Double.self)) != nil { return }
            _ = try c.decode(String.self)
        }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

/// A call an assistant message made (`messages[].tool_calls[]`).
public struct RequestToolCall: Sendable, Equatable, Decodable {
    public struct Function: Sendable, Equatable, Decodable {
        public var name: String
        /// The arguments as JSON text, as OpenAI sends them (an object is accepted too and written as text).
        public var arguments: String

        enum CodingKeys: String, CodingKey { case name, arguments }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            if let text = try? c.decodeIfPresent(String.self, forKey: .arguments) {
                arguments = text
            } else if c.contains(.arguments) {
                _ = try c.decode(AnyJSON.self, forKey: .arguments)
                arguments = ""  // replaced by the raw body's object text in ChatProvider
            } else {
                arguments = "{}"
            }
        }
    }
    public var id: String?
    public var type: String?
    public var function: Function
}

/// One message of a request.
public struct RequestMessage: Sendable, Equatable, Decodable {
    public var role: String
    public var content: MessageContent?
    public var name: String?
    public var toolCallID: String?
    public var toolCalls: [RequestToolCall]?
    /// An earlier answer's reasoning, given back to templates that show it.
    public var reasoningContent: String?

    enum CodingKeys: String, CodingKey {
        case role, content, name
        case toolCallID = "tool_call_id"
        case toolCalls = "tool_calls"
        case reasoningContent = "reasoning_content"
    }
}

/// A tool the model may call (`tools[]`): OpenAI's `{"type": "function", "function": {…}}`.
public struct RequestTool: Sendable, Equatable, Decodable {
    public struct Function: Sendable, Equatable, Decodable {
        public var name: String
        public var description: String?
        public var parameters: AnyJSON?
        public var strict: Bool?
    }
    public var type: String
    public var function: Function?
}

/// `tool_choice`: `"auto"`, `"none"`, `"required"`, or `{"type": "function", "function": {"name": …}}`.
public enum RequestToolChoice: Sendable, Equatable, Decodable {
    case mode(String)
    case function(String)

    struct Named: Decodable {
        struct Function: Decodable { var name: String }
        var type: String
        var function: Function
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) {
            self = .mode(s)
            return
        }
        let named = try c.decode(Named.self)
        self = .function(named.function.name)
    }
}

/// `POST /v1/chat/completions`, decoded leniently (unknown keys are ignored), but a known field of the
/// wrong type is an error.
public struct ChatCompletionRequest: Sendable, Decodable {
    public struct StreamOptions: Sendable, Decodable {
        public var includeUsage: Bool?
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    /// `response_format`: `text`, `json_object`, or `json_schema` with `{name, schema, strict}`.
    public struct ResponseFormat: Sendable, Decodable {
        public struct JSONSchema: Sendable, Decodable {
            public var name: String?
            public var schema: AnyJSON?
            public var strict: Bool?
        }
        public var type: String
        public var jsonSchema: JSONSchema?
        /// llama-server's shorthand: the schema directly under `response_format.schema`.
        public var schema: AnyJSON?
        enum CodingKeys: String, CodingKey { case type, schema, jsonSchema = "json_schema" }
    }

    public var model: String?
    public var messages: [RequestMessage]
    public var stream: Bool?
    public var streamOptions: StreamOptions?
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var minP: Double?
    public var typicalP: Double?
    public var repeatPenalty: Double?
    public var presencePenalty: Double?
    public var frequencyPenalty: Double?
    public var seed: Int?
    public var stop: StopSequences?
    public var maxTokens: Int?
    public var maxCompletionTokens: Int?
    public var n: Int?
    public var responseFormat: ResponseFormat?
    public var logitBias: [String: Double]?
    public var user: String?
    public var tools: [RequestTool]?
    public var toolChoice: RequestToolChoice?
    public var parallelToolCalls: Bool?
    /// Extra variables for the chat template (e.g. `{"enable_thinking": false}`), as llama-server takes them.
    public var chatTemplateKwargs: AnyJSON?
    /// `none` turns thinking off where the template can; other values are accepted and change nothing.
    public var reasoningEffort: String?
    /// llama-server's GBNF grammar field.
    public var grammar: String?

    enum CodingKeys: String, CodingKey {
        case model, messages, stream, temperature, seed, stop, n, user, tools, grammar
        case toolChoice = "tool_choice"
        case parallelToolCalls = "parallel_tool_calls"
        case chatTemplateKwargs = "chat_template_kwargs"
        case reasoningEffort = "reasoning_effort"
        case streamOptions = "stream_options"
        case topP = "top_p"
        case topK = "top_k"
        case minP = "min_p"
        case typicalP = "typical_p"
        case repeatPenalty = "repeat_penalty"
        case presencePenalty = "presence_penalty"
        case frequencyPenalty = "frequency_penalty"
        case maxTokens = "max_tokens"
        case maxCompletionTokens = "max_completion_tokens"
        case responseFormat = "response_format"
        case logitBias = "logit_bias"
    }
}

/// `POST /v1/completions`: a raw prompt, no chat template.
public struct CompletionRequest: Sendable, Decodable {
    public var model: String?
    public var prompt: PromptText
    public var stream: Bool?
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var minP: Double?
    public var repeatPenalty: Double?
    public var presencePenalty: Double?
    public var frequencyPenalty: Double?
    public var seed: Int?
    public var stop: StopSequences?
    public var maxTokens: Int?
    public var n: Int?
    public var logitBias: [String: Double]?

    /// `prompt`: a string, or a one-element array of strings.
    public struct PromptText: Sendable, Decodable {
        public var text: String
        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { text = s; return }
            let list = try c.decode([String].self)
            guard list.count == 1 else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "prompt must be one string (batches of prompts are not supported)")
            }
            text = list[0]
        }
    }

    enum CodingKeys: String, CodingKey {
        case model, prompt, stream, temperature, seed, stop, n
        case topP = "top_p"
        case topK = "top_k"
        case minP = "min_p"
        case repeatPenalty = "repeat_penalty"
        case presencePenalty = "presence_penalty"
        case frequencyPenalty = "frequency_penalty"
        case maxTokens = "max_tokens"
        case logitBias = "logit_bias"
    }
}
