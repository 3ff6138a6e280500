/// An error answered in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with the HTTP
/// status it goes with. Every failure the provider reports is one of these.
public struct OpenAIError: Error, Sendable, Equatable, Codable, CustomStringConvertible {
    public struct Body: Sendable, Equatable, Codable {
        public var message: String
        public var type: String
        public var param: String?
        public var code: String?

        enum CodingKeys: String, CodingKey { case message, type, param, code }

        // `param` and `code` are written as null rather than left out: clients read all four.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(message, forKey: .message)
            try c.encode(type, forKey: .type)
            try c.encode(param, forKey: .param)
            try c.encode(code, forKey: .code)
        }
    }

    /// The HTTP status to answer with.
    public var status: Int
    public var error: Body

    public init(status: Int, message: String, type: String, param: String? = nil, code: String? = nil) {
        self.status = status
        error = Body(message: message, type: type, param: param, code: code)
    }

    enum CodingKeys: String, CodingKey { case error }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        error = try c.decode(Body.self, forKey: .error)
        status = 0
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(error, forKey: .error)
    }

    public var description: String { "\(status) \(error.type): \(error.message)" }

    /// 400: the request is malformed or asks for something unsupported.
    public static func invalidRequest(_ message: String, param: String? = nil, code: String? = nil) -> OpenAIError {
        OpenAIError(status: 400, message: message, type: "invalid_request_error", param: param, code: code)
    }

    /// 401: missing or wrong API key.
    public static let invalidAPIKey = OpenAIError(
        status: 401, message: "Incorrect API key provided. Send it as 'Authorization: Bearer <key>'.",
        type: "invalid_request_error", code: "invalid_api_key")

    /// 404: a model this server does not serve.
    public static func modelNotFound(_ name: String, available: String) -> OpenAIError {
        OpenAIError(status: 404, message: "The model '\(name)' does not exist. This server serves '\(available)'.",
                    type: "invalid_request_error", param: "model", code: "model_not_found")
    }

    /// 404: no such route.
    public static func notFound(_ path: String) -> OpenAIError {
        OpenAIError(status: 404, message: "Unknown request URL: \(path).", type: "invalid_request_error", code: "unknown_url")
    }

    /// 405: a known path asked with a method it does not answer; `allow` lists those it does.
    public static func methodNotAllowed(_ method: String, _ path: String, allow: String) -> OpenAIError {
        OpenAIError(status: 405, message: "\(path) does not answer \(method); it answers \(allow).",
                    type: "invalid_request_error", code: "method_not_allowed")
    }

    /// 503: the server cannot take the request now (shutting down, or at a limit).
    public static func unavailable(_ message: String) -> OpenAIError {
        OpenAIError(status: 503, message: message, type: "server_error", code: "unavailable")
    }

    /// 413: the body exceeds the server's limit.
    public static func tooLarge(limit: Int) -> OpenAIError {
        OpenAIError(status: 413, message: "The request body exceeds the limit of \(limit) bytes.", type: "invalid_request_error", code: "request_too_large")
    }

    /// 500: the engine failed.
    public static func server(_ message: String) -> OpenAIError {
        OpenAIError(status: 500, message: message, type: "server_error")
    }
}
