import Foundation

/// OpenAI's `POST /v1/embeddings` request body.
public struct EmbeddingRequest: Sendable, Decodable {
    /// What to embed: one text, several texts, one token-id array, or several (OpenAI's four forms).
    public enum Input: Sendable, Equatable, Decodable {
        case texts([String])
        case tokens([[Int]])

        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let text = try? c.decode(String.self) { self = .texts([text]); return }
            if let texts = try? c.decode([String].self) { self = .texts(texts); return }
            if let ids = try? c.decode([Int].self) { self = ids.isEmpty ? .texts([]) : .tokens([ids]); return }
            if let lists = try? c.decode([[Int]].self) { self = .tokens(lists); return }
            throw DecodingError.typeMismatch(Input.self, DecodingError.Context(
                codingPath: decoder.codingPath,
                debugDescription: "expected a string, an array of strings, an array of token ids (integers) "
                    + "or an array of such arrays"))
        }

        /// How many inputs.
        public var count: Int {
            switch self {
            case .texts(let t): t.count
            case .tokens(let t): t.count
            }
        }
    }

    public var input: Input
    public var model: String?
    /// `float` (the default) or `base64` (each vector's little-endian float32 bytes).
    public var encodingFormat: String?
    /// The vector length wanted; only the model's own length is accepted (no truncated embeddings).
    public var dimensions: Int?
    /// Accepted and ignored.
    public var user: String?
    /// A Swiftlet extension (Hugging Face TEI's name): cut an input longer than the model takes to its
    /// first tokens (and its closing separator) instead of answering 400.
    public var truncate: Bool?

    enum CodingKeys: String, CodingKey {
        case input, model, encodingFormat = "encoding_format", dimensions, user, truncate
    }
}

/// OpenAI's `POST /v1/embeddings` response body.
public struct EmbeddingResponse: Sendable, Encodable {
    public struct Item: Sendable, Encodable {
        public enum Vector: Sendable, Encodable {
            case floats([Float])
            case base64(String)

            public func encode(to encoder: any Encoder) throws {
                var c = encoder.singleValueContainer()
                switch self {
                case .floats(let v): try c.encode(v)
                case .base64(let s): try c.encode(s)
                }
            }
        }
        public var object = "embedding"
        public var index: Int
        public var embedding: Vector
        public init(index: Int, embedding: Vector) { self.index = index; self.embedding = embedding }
    }
    public struct Usage: Sendable, Encodable {
        public var promptTokens: Int
        public var totalTokens: Int
        public init(promptTokens: Int, totalTokens: Int) { self.promptTokens = promptTokens; self.totalTokens = totalTokens }
        enum CodingKeys: String, CodingKey { case promptTokens = "prompt_tokens", totalTokens = "total_tokens" }
    }
    public var object = "list"
    public var data: [Item]
    public var model: String
    public var usage: Usage

    public init(data: [Item], model: String, usage: Usage) {
        self.data = data
        self.model = model
        self.usage = usage
    }

    /// `vector`'s float32 values, little-endian, base64-encoded (OpenAI's `encoding_format: "base64"`).
    public static func base64(_ vector: [Float]) -> String {
        var bytes = Data(capacity: vector.count * 4)
        for x in vector { withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        return bytes.base64EncodedString()
    }
}
