import Foundation

/// A message's `content`: a string, or a list of parts (text and images); null for an assistant message
/// that only calls tools.
public enum MessageContent: Sendable, Equatable, Decodable {
    case text(String)
    case parts([ContentPart])
    case none

    public struct ContentPart: Sendable, Equatable, Decodable {
        public var type: String
        public var text: String?
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .none; return }
        if let s = try? c.decode(String.self) { self = .text(s); return }
        do {
            self = .parts(try c.decode([ContentPart].self))
        } catch {
            throw DecodingError.typeMismatch(MessageContent.self, .init(
                codingPath: decoder.codingPath, debugDescription: "content must be a string, an array of content parts or null"))
        }
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

/// One message of a request.
public struct RequestMessage: Sendable, Equatable, Decodable {
    public var role: String
    public var content: MessageContent?
    public var name: String?
    public var toolCallID: String?

    enum CodingKeys: String, CodingKey {
        case role, content, name
        case toolCallID = "tool_call_id"
    }
}

/// `POST /v1/chat/completions`, decoded leniently (unknown keys are ignored), but a known field of the
/// wrong type is an error.
public struct ChatCompletionRequest: Sendable, Decodable {
    public struct StreamOptions: Sendable, Decodable {
        public var includeUsage: Bool?
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    public struct ResponseFormat: Sendable, Decodable {
        public var type: String
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

    enum CodingKeys: String, CodingKey {
        case model, messages, stream, temperature, seed, stop, n, user
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
