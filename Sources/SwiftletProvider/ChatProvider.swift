import Foundation
import Swiftlet

/// Turns OpenAI-style requests (the JSON LibreChat sends) into Swiftlet generations, and their events
/// into OpenAI-style responses and server-sent events. No HTTP here: any Swift server framework can
/// call it with a request body and write what it returns.
///
/// ```swift
/// let provider = ChatProvider(model: model)
/// let call = try provider.chatCompletion(body: bodyData)      // throws OpenAIError
/// if call.isStreaming {
///     try await provider.stream(call) { event in try await send(event) }   // "data: …\n\n"
/// } else {
///     let json = try await provider.response(call)
/// }
/// ```
public struct ChatProvider: Sendable {
    /// The model answering every request.
    public let model: Swiftlet.Model
    /// The id `/v1/models` lists and requests must name.
    public let modelID: String
    /// Deepest JSON nesting a request may have.
    public static let maximumJSONDepth = 64

    /// Bytes of text the longest token of the vocabulary stands for: a text of `n` bytes needs at least
    /// `n / longestTokenBytes` tokens, so a longer one than the context can hold is refused before it is
    /// rendered or tokenized (a few megabytes of prompt would otherwise cost seconds of tokenizing).
    public let longestTokenBytes: Int

    /// Sampling a request starts from: each setting the request leaves out keeps this value (a model's
    /// configured defaults, ``ModelRegistry/Entry/sampling``). The seed is the request's, or random.
    public let defaultSampling: SamplingParameters
    /// Whether a request naming a model other than ``modelID`` is refused (404 `model_not_found`); false
    /// when something above has already picked this model for the request (``SwiftletEndpoints`` over a
    /// ``ModelRegistry``, where aliases and a default model answer other names).
    public let requiresModelID: Bool

    public init(model: Swiftlet.Model, modelID: String? = nil, defaultSampling: SamplingParameters? = nil,
                requiresModelID: Bool = true) {
        self.model = model
        self.modelID = modelID ?? model.id
        self.requiresModelID = requiresModelID
        self.defaultSampling = defaultSampling ?? SamplingParameters()
        longestTokenBytes = model.longestTokenBytes
    }

    /// Refuses `bytes` of request text that no tokenization could fit in the context.
    func checkFits(textBytes bytes: Int, param: String) throws(OpenAIError) {
        try Self.checkFits(textBytes: bytes, param: param, longestTokenBytes: longestTokenBytes,
                           contextLength: model.contextLength)
    }

    /// Refuses `bytes` of request text that needs more than `contextLength` tokens even if every token were
    /// `longestTokenBytes` long.
    static func checkFits(textBytes bytes: Int, param: String, longestTokenBytes: Int,
                          contextLength: Int) throws(OpenAIError) {
        let fewestTokens = (bytes + longestTokenBytes - 1) / max(1, longestTokenBytes)
        guard fewestTokens <= contextLength else {
            throw .invalidRequest(
                "The request's text is \(bytes) bytes, at least \(fewestTokens) tokens, more than this model's context "
                    + "of \(contextLength) tokens.", param: param, code: "context_length_exceeded")
        }
    }

    /// A generation started for a request, with what its response needs.
    public struct Call: Sendable {
        public enum Kind: Sendable { case chat, text }
        public let kind: Kind
        public let id: String
        public let created: Int
        public let isStreaming: Bool
        public let includeUsage: Bool
        public let stream: GenerationStream
    }

    /// The `/v1/models` list.
    public func models() -> ModelList {
        ModelList(data: [ModelList.Entry(id: modelID, created: Self.startTime, ownedBy: "swiftlet", contextLength: model.contextLength)])
    }

    /// The `/v1/models` list of a registry: every entry, loaded or not, with its file size.
    public static func models(_ registry: ModelRegistry) -> ModelList {
        ModelList(data: registry.statuses().map { status in
            ModelList.Entry(id: status.name, created: startTime, ownedBy: "swiftlet",
                            contextLength: status.contextLength ?? 0, loaded: status.isLoaded, size: status.fileSize)
        })
    }

    static let startTime = Int(Date().timeIntervalSince1970)

    /// What a request body says before it is decoded in full: the model it names and whether it streams
    /// (a router picks and loads the model from these).
    public struct RequestHead: Sendable, Decodable {
        public var model: String?
        public var stream: Bool?
    }

    /// Reads a request's ``RequestHead``, with the checks and errors of a full decode (UTF-8, nesting, JSON).
    public static func requestHead(body: Data) throws(OpenAIError) -> RequestHead {
        try decode(body)
    }

    // MARK: Requests

    /// Decodes and validates a chat request and starts its generation (queued behind others when every
    /// sequence is busy).
    /// `priority` ranks the generation against others waiting for the model (the server's
    /// `X-Swiftlet-Priority` header).
    public func chatCompletion(body: Data, priority: GenerationPriority = .foreground) throws(OpenAIError) -> Call {
        var request = try Self.decodeChatRequest(
            body: body, modelID: requiresModelID ? modelID : nil, vocabularySize: model.tokenizer.vocabularySize,
            contextLength: model.contextLength, longestTokenBytes: longestTokenBytes, defaultSampling: defaultSampling)
        request.options.priority = priority
        let stream: GenerationStream
        do { stream = try model.chat(request.messages, options: request.options) } catch { throw Self.map(error) }
        return Call(kind: .chat, id: "chatcmpl-" + Self.randomID(), created: Int(Date().timeIntervalSince1970),
                    isStreaming: request.isStreaming, includeUsage: request.includeUsage, stream: stream)
    }

    /// A chat request body decoded and checked: what ``chatCompletion(body:)`` hands the model.
    public struct DecodedChatRequest: Sendable {
        /// The conversation, each tool call's arguments as JSON text.
        public var messages: [ChatMessage]
        /// Sampling, limits, tools, tool choice, structure and template variables.
        public var options: GenerationOptions
        /// Whether the response is a stream of server-sent events.
        public var isStreaming: Bool
        /// Whether a stream ends with a chunk that carries the usage.
        public var includeUsage: Bool
    }

    /// Decodes and validates a chat-completions body without a model: everything
    /// ``chatCompletion(body:)`` checks before it starts a generation. The model is described by what
    /// the checks need: the id a request may name, the vocabulary size (`logit_bias` keys are token ids)
    /// and the context length (which caps `max_tokens`); with `longestTokenBytes` (the most bytes one token
    /// stands for), text that cannot fit the context is refused too. A nil `modelID` accepts any model name.
    /// Sampling settings the body leaves out keep their `defaultSampling` values. Every bad body is an
    /// ``OpenAIError``.
    public static func decodeChatRequest(body: Data, modelID: String?, vocabularySize: Int, contextLength: Int,
                                         longestTokenBytes: Int? = nil,
                                         defaultSampling: SamplingParameters = SamplingParameters())
        throws(OpenAIError) -> DecodedChatRequest {
        let request: ChatCompletionRequest = try Self.decode(body)
        // The same body again, keeping key order: tools' parameters and schemas give property order.
        let raw: JSONValue
        do { raw = try JSONValue(parsing: body) } catch {
            throw .invalidRequest("We could not parse the JSON body of your request: \(error)")
        }
        try checkModel(request.model, modelID: modelID)
        if let n = request.n, n != 1 { throw .invalidRequest("Only n = 1 is supported, got \(n).", param: "n") }
        guard !request.messages.isEmpty else { throw .invalidRequest("'messages' must contain at least one message.", param: "messages") }
        var messages: [ChatMessage] = []
        for (i, m) in request.messages.enumerated() {
            guard let text = (m.content ?? .none).text else {
                let kinds = Set((m.content ?? .none).nonTextPartTypes).sorted().joined(separator: ", ")
                throw .invalidRequest("messages[\(i)].content has no text part (only \(kinds)); this model reads text only.",
                                      param: "messages[\(i)].content")
            }
            var message = ChatMessage(role: ChatMessage.Role(rawValue: m.role), content: text)
            message.name = m.name
            message.toolCallID = m.toolCallID
            message.reasoningContent = m.reasoningContent
            if let calls = m.toolCalls, !calls.isEmpty {
                message.toolCalls = calls.enumerated().map { j, call in
                    var arguments = call.function.arguments
                    let given = raw["messages"]?.array?[i]["tool_calls"]?.array?[j]["function"]?["arguments"]
                    if arguments.isEmpty, let object = given { arguments = object.jsonText }
                    return ChatToolCall(id: call.id ?? "call_\(i)_\(j)", name: call.function.name, arguments: arguments)
                }
            }
            messages.append(message)
        }
        if let longestTokenBytes {
            try checkFits(textBytes: messages.reduce(0) { $0 + $1.content.utf8.count }, param: "messages",
                          longestTokenBytes: longestTokenBytes, contextLength: contextLength)
        }
        var options = try generationOptions(
            temperature: request.temperature, topP: request.topP, topK: request.topK, minP: request.minP,
            typicalP: request.typicalP, repeatPenalty: request.repeatPenalty, presencePenalty: request.presencePenalty,
            frequencyPenalty: request.frequencyPenalty, seed: request.seed, stop: request.stop?.values ?? [],
            maxTokens: request.maxCompletionTokens ?? request.maxTokens, logitBias: request.logitBias,
            vocabularySize: vocabularySize, contextLength: contextLength, defaults: defaultSampling)
        try Self.applyStructure(request, raw: raw, to: &options)
        return DecodedChatRequest(messages: messages, options: options, isStreaming: request.stream ?? false,
                                  includeUsage: request.streamOptions?.includeUsage ?? false)
    }

    /// Tools, tool choice, response format, grammar and template variables of a chat request.
    static func applyStructure(_ request: ChatCompletionRequest, raw: JSONValue,
                               to options: inout GenerationOptions) throws(OpenAIError) {
        for (i, tool) in (request.tools ?? []).enumerated() {
            guard tool.type == "function", let function = tool.function else {
                throw .invalidRequest("tools[\(i)].type '\(tool.type)' is not supported; only 'function' tools are.",
                                      param: "tools[\(i)].type")
            }
            guard !function.name.isEmpty else {
                throw .invalidRequest("tools[\(i)].function.name must not be empty.",
                                      param: "tools[\(i)].function.name")
            }
            guard !options.tools.contains(where: { $0.name == function.name }) else {
                throw .invalidRequest("tools[\(i)]: the function name '\(function.name)' is given twice.",
                                      param: "tools")
            }
            let parameters = raw["tools"]?.array?[i]["function"]?["parameters"]
            options.tools.append(ToolDefinition(name: function.name, description: function.description ?? "",
                                                parameters: parameters))
        }
        switch request.toolChoice {
        case nil, .mode("auto"): options.toolChoice = .auto
        case .mode("none"): options.toolChoice = .none
        case .mode("required"): options.toolChoice = .required
        case .mode(let other):
            throw .invalidRequest("tool_choice '\(other)' is not one of 'auto', 'none', 'required'.",
                                  param: "tool_choice")
        case .function(let name):
            guard options.tools.contains(where: { $0.name == name }) else {
                throw .invalidRequest("tool_choice names the function '\(name)', which is not in 'tools'.",
                                      param: "tool_choice")
            }
            options.toolChoice = .named(name)
        }
        if options.tools.isEmpty, options.toolChoice == .required {
            throw .invalidRequest("tool_choice 'required' needs at least one tool in 'tools'.", param: "tool_choice")
        }
        options.parallelToolCalls = request.parallelToolCalls ?? true
        if let format = request.responseFormat {
            switch format.type {
            case "text": break
            case "json_object":
                options.jsonSchema = raw["response_format"]?["schema"] ?? .object([("type", .string("object"))])
            case "json_schema":
                let format = raw["response_format"]
                guard let schema = format?["json_schema"]?["schema"] ?? format?["schema"] else {
                    throw .invalidRequest("response_format of type 'json_schema' needs 'json_schema.schema'.",
                                          param: "response_format.json_schema.schema")
                }
                options.jsonSchema = schema
            default:
                throw .invalidRequest(
                    "response_format '\(format.type)' is not one of 'text', 'json_object', 'json_schema'.",
                    param: "response_format")
            }
        }
        options.grammar = request.grammar
        if options.grammar != nil, options.jsonSchema != nil {
            throw .invalidRequest("Give 'grammar' or 'response_format', not both.", param: "grammar")
        }
        if request.chatTemplateKwargs != nil {
            guard let kwargs = raw["chat_template_kwargs"]?.object else {
                throw .invalidRequest("chat_template_kwargs must be an object.", param: "chat_template_kwargs")
            }
            for (key, value) in kwargs { options.templateVariables[key] = value }
        }
        if request.reasoningEffort == "none", options.templateVariables["enable_thinking"] == nil {
            options.templateVariables["enable_thinking"] = .bool(false)
        }
    }

    /// Decodes and validates a legacy completion request (raw prompt, no chat template) and starts it.
    public func textCompletion(body: Data, priority: GenerationPriority = .foreground) throws(OpenAIError) -> Call {
        let request: CompletionRequest = try Self.decode(body)
        try Self.checkModel(request.model, modelID: requiresModelID ? modelID : nil)
        if let n = request.n, n != 1 { throw .invalidRequest("Only n = 1 is supported, got \(n).", param: "n") }
        guard !request.prompt.text.isEmpty else { throw .invalidRequest("'prompt' must not be empty.", param: "prompt") }
        try checkFits(textBytes: request.prompt.text.utf8.count, param: "prompt")
        var options = try Self.generationOptions(
            temperature: request.temperature, topP: request.topP, topK: request.topK, minP: request.minP,
            typicalP: nil, repeatPenalty: request.repeatPenalty, presencePenalty: request.presencePenalty,
            frequencyPenalty: request.frequencyPenalty, seed: request.seed, stop: request.stop?.values ?? [],
            maxTokens: request.maxTokens ?? 16, logitBias: request.logitBias,
            vocabularySize: model.tokenizer.vocabularySize, contextLength: model.contextLength,
            defaults: defaultSampling)
        options.priority = priority
        let stream: GenerationStream
        do { stream = try model.complete(request.prompt.text, options: options) } catch { throw Self.map(error) }
        return Call(kind: .text, id: "cmpl-" + Self.randomID(), created: Int(Date().timeIntervalSince1970),
                    isStreaming: request.stream ?? false, includeUsage: false, stream: stream)
    }

    private static func checkModel(_ name: String?, modelID: String?) throws(OpenAIError) {
        if let name, let modelID, name != modelID { throw .modelNotFound(name, available: modelID) }
    }

    private static func generationOptions(
        temperature: Double?, topP: Double?, topK: Int?, minP: Double?, typicalP: Double?, repeatPenalty: Double?,
        presencePenalty: Double?, frequencyPenalty: Double?, seed: Int?, stop: [String], maxTokens: Int?,
        logitBias: [String: Double]?, vocabularySize: Int, contextLength: Int, defaults: SamplingParameters
    ) throws(OpenAIError) -> GenerationOptions {
        var p = defaults
        if let temperature { p.temperature = Float(temperature) }
        if let topP { p.topP = Float(topP) }
        if let topK { p.topK = topK }
        if let minP { p.minP = Float(minP) }
        if let typicalP { p.typicalP = Float(typicalP) }
        if let repeatPenalty { p.repeatPenalty = Float(repeatPenalty) }
        if let presencePenalty { p.presencePenalty = Float(presencePenalty) }
        if let frequencyPenalty { p.frequencyPenalty = Float(frequencyPenalty) }
        // Without a seed every request samples differently, as OpenAI's API does.
        p.seed = seed.map { UInt64(bitPattern: Int64($0)) } ?? UInt64.random(in: 0...UInt64.max)
        for (key, bias) in logitBias ?? [:] {
            guard let id = Int(key), id >= 0, id < vocabularySize else {
                throw .invalidRequest(
                    "logit_bias key '\(key)' is not a token id of this model (0..<\(vocabularySize)).",
                    param: "logit_bias")
            }
            guard bias >= -100, bias <= 100 else { throw .invalidRequest("logit_bias values must be in [-100, 100], got \(bias).", param: "logit_bias") }
            p.logitBias[id] = Float(bias)
        }
        do { try p.validate() } catch { throw .invalidRequest(error.description) }
        if let maxTokens, maxTokens < 1 { throw .invalidRequest("max_tokens must be at least 1, got \(maxTokens).", param: "max_tokens") }
        guard stop.count <= 16 else { throw .invalidRequest("At most 16 stop sequences are allowed.", param: "stop") }
        // The context caps every generation anyway; a larger max_tokens is not an error.
        return GenerationOptions(maxTokens: maxTokens.map { min($0, contextLength) }, sampling: p, stop: stop)
    }

    // MARK: Responses

    /// Runs a non-streamed call to the end and returns its response body (JSON).
    public func response(_ call: Call) async throws(OpenAIError) -> Data {
        try await respond(call).body
    }

    /// Runs a non-streamed call to the end and returns its response body (JSON) with the generation's
    /// summary (token counts and timings, for logs and metrics).
    public func respond(_ call: Call) async throws(OpenAIError) -> (body: Data, summary: GenerationSummary) {
        var text = "", reasoning = ""
        var calls: [ResponseToolCall] = []
        var summary: GenerationSummary?
        do {
            for try await event in call.stream {
                switch event {
                case .text(let delta): text += delta
                case .reasoning(let delta): reasoning += delta
                case .toolCallDelta: break
                case .toolCall(let c): calls.append(ResponseToolCall(id: c.id, name: c.name, arguments: c.arguments))
                case .finished(let s): summary = s
                }
            }
        } catch {
            throw Self.map(error)
        }
        guard let summary else { throw .server("the generation ended without a result") }
        let usage = Self.usage(summary)
        switch call.kind {
        case .chat:
            // As OpenAI answers: content null when the model only called tools.
            let message = ChatCompletion.Message(
                role: "assistant", content: calls.isEmpty || !text.isEmpty ? text : nil,
                reasoningContent: reasoning.isEmpty ? nil : reasoning, toolCalls: calls.isEmpty ? nil : calls)
            return (Self.json(ChatCompletion(id: call.id, created: call.created, model: modelID, choices: [
                .init(index: 0, message: message, finishReason: Self.finishReason(summary)),
            ], usage: usage)), summary)
        case .text:
            return (Self.json(TextCompletion(id: call.id, created: call.created, model: modelID, choices: [
                .init(text: text, index: 0, finishReason: Self.finishReason(summary)),
            ], usage: usage)), summary)
        }
    }

    /// Streams a call as server-sent events, each a complete `data: …\n\n` (or `: keep-alive\n\n`)
    /// string passed to `write`: the first chunk with the assistant role, the text deltas, a last chunk
    /// with the finish reason and usage, and `data: [DONE]`; an error after the stream began is one
    /// `data: {"error": …}` event. A keep-alive comment goes out every `keepAlive` until the first token
    /// (the request may wait in the queue, or a long prompt may be evaluated). When `write` throws (the
    /// client went away) the generation stops within one token. Returns the generation's summary when it
    /// reached its end.
    @discardableResult
    public func stream(_ call: Call, keepAlive: Duration = .seconds(10),
                       write: @escaping @Sendable (String) async throws -> Void) async throws -> GenerationSummary? {
        let writer = SerialWriter(write)
        let ticker = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: keepAlive)
                try await writer.send(": keep-alive\n\n")
            }
        }
        defer { ticker.cancel() }
        var summary: GenerationSummary?
        if call.kind == .chat {
            try await writer.send(Self.event(chunk(call, delta: .init(role: "assistant", content: ""))))
        }
        do {
            for try await event in call.stream {
                ticker.cancel()
                switch event {
                case .text(let delta):
                    switch call.kind {
                    case .chat: try await writer.send(Self.event(chunk(call, delta: .init(content: delta))))
                    case .text: try await writer.send(Self.event(textChunk(call, text: delta, finish: nil, usage: nil)))
                    }
                case .reasoning(let delta):
                    try await writer.send(Self.event(chunk(call, delta: .init(reasoningContent: delta))))
                case .toolCallDelta(let d):
                    let piece = ChatCompletionChunk.Delta.ToolCall(index: d.index, id: d.id, name: d.name,
                                                                   arguments: d.arguments)
                    try await writer.send(Self.event(chunk(call, delta: .init(toolCalls: [piece]))))
                case .toolCall:
                    break
                case .finished(let s):
                    summary = s
                    let usage = Self.usage(s)
                    switch call.kind {
                    case .chat:
                        var last = chunk(call, delta: .init(), finish: Self.finishReason(s))
                        last.usage = usage
                        try await writer.send(Self.event(last))
                        if call.includeUsage {
                            try await writer.send(Self.event(ChatCompletionChunk(id: call.id, created: call.created, model: modelID, choices: [], usage: usage)))
                        }
                    case .text:
                        try await writer.send(Self.event(textChunk(call, text: "", finish: Self.finishReason(s), usage: usage)))
                    }
                }
            }
        } catch let error as WriteFailure {
            throw error.underlying
        } catch {
            try await writer.send("data: " + String(decoding: Self.json(Self.map(error)), as: UTF8.self) + "\n\n")
            return summary
        }
        try await writer.send("data: [DONE]\n\n")
        return summary
    }

    private func chunk(_ call: Call, delta: ChatCompletionChunk.Delta, finish: String? = nil) -> ChatCompletionChunk {
        ChatCompletionChunk(id: call.id, created: call.created, model: modelID,
                            choices: [.init(index: 0, delta: delta, finishReason: finish)])
    }

    private func textChunk(_ call: Call, text: String, finish: String?, usage: Usage?) -> TextCompletion {
        TextCompletion(id: call.id, created: call.created, model: modelID, choices: [.init(text: text, index: 0, finishReason: finish)], usage: usage)
    }

    // MARK: Helpers

    /// A failed write, told apart from generation errors.
    struct WriteFailure: Error { let underlying: any Error }

    /// Serialises writes from the stream and the keep-alive ticker.
    actor SerialWriter {
        let write: @Sendable (String) async throws -> Void
        var failed = false
        init(_ write: @escaping @Sendable (String) async throws -> Void) { self.write = write }
        func send(_ s: String) async throws {
            guard !failed else { throw WriteFailure(underlying: CancellationError()) }
            do { try await write(s) } catch {
                failed = true
                throw WriteFailure(underlying: error)
            }
        }
    }

    static func event(_ value: some Encodable) -> String {
        "data: " + String(decoding: json(value), as: UTF8.self) + "\n\n"
    }

    /// JSON for a response; encoding these plain types cannot fail.
    public static func json(_ value: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return (try? encoder.encode(value)) ?? Data("{}".utf8)
    }

    static func usage(_ s: GenerationSummary) -> Usage {
        Usage(promptTokens: s.promptTokens, completionTokens: s.completionTokens, cachedTokens: s.cachedPromptTokens)
    }

    static func finishReason(_ s: GenerationSummary) -> String {
        switch s.finishReason {
        case .length: "length"
        case .toolCalls: "tool_calls"
        case .stop, .cancelled: "stop"
        }
    }

    static func randomID() -> String {
        String((0..<24).map { _ in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".randomElement()! })
    }

    /// The facade's errors as OpenAI errors.
    public static func map(_ error: any Error) -> OpenAIError {
        if let e = error as? OpenAIError { return e }
        if let e = error as? ModelRegistryError { return map(e) }
        guard let e = error as? SwiftletError else { return .server(String(describing: error)) }
        switch e {
        case .contextLengthExceeded:
            return .invalidRequest(e.description, param: "messages", code: "context_length_exceeded")
        case .emptyConversation, .emptyPrompt, .invalidOption, .unknownRole, .template:
            return .invalidRequest(e.description)
        case .embeddingModel, .notEmbeddingModel:
            return .invalidRequest(e.description, param: "model", code: "model_not_supported")
        case .emptyInput:
            return .invalidRequest(e.description, param: "input")
        case .inputTooLong:
            return .invalidRequest(e.description, param: "input", code: "context_length_exceeded")
        case .engine, .invalidOutput, .modelFile, .contextBeyondTraining, .insufficientMemory:
            return .server(e.description)
        case .cancelled:
            return .unavailable("The request was cancelled.")
        }
    }

    /// A registry's errors as OpenAI errors: an unknown name is 404 `model_not_found`, a failed load 500
    /// `model_load_failed`, a model larger than the memory limit 503 `model_exceeds_memory_limit`.
    public static func map(_ error: ModelRegistryError) -> OpenAIError {
        switch error {
        case .unknownModel(let name, let available) where name.isEmpty:
            return .invalidRequest("Missing required parameter: 'model' (one of "
                                   + available.joined(separator: ", ") + ").", param: "model")
        case .unknownModel:
            return OpenAIError(status: 404, message: error.description, type: "invalid_request_error",
                               param: "model", code: "model_not_found")
        case .loadFailed:
            return OpenAIError(status: 500, message: error.description, type: "server_error", code: "model_load_failed")
        case .exceedsMemoryLimit:
            return OpenAIError(status: 503, message: error.description, type: "server_error",
                               code: "model_exceeds_memory_limit")
        case .cancelled:
            return .unavailable("The request was cancelled while it waited for its model.")
        case .noModels, .duplicateName, .invalidEntry, .directory:
            return .server(error.description)
        }
    }

    /// Decodes a request body: JSON nesting bounded first (a hostile body cannot exhaust the stack),
    /// then the type, with a message that names the offending field.
    static func decode<T: Decodable>(_ body: Data) throws(OpenAIError) -> T {
        if let offset = Self.firstInvalidUTF8(body) {
            throw .invalidRequest("The request body is not valid UTF-8: the byte at offset \(offset) "
                                  + "(0x\(String(body[body.startIndex + offset], radix: 16))) does not begin or continue "
                                  + "a UTF-8 character. JSON text must be UTF-8.")
        }
        var depth = 0, inString = false, escaped = false
        for b in body {
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth > maximumJSONDepth { throw .invalidRequest("The JSON body is nested more than \(maximumJSONDepth) levels deep.") }
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
        let failure: any Error
        do {
            return try JSONDecoder().decode(T.self, from: body)
        } catch {
            failure = error
        }
        // Not JSON at all (a lone surrogate escape, a syntax error): say that, not what a field expected.
        do { _ = try JSONValue(parsing: body) } catch {
            throw .invalidRequest("We could not parse the JSON body of your request: \(error)")
        }
        switch failure {
        case let DecodingError.keyNotFound(key, context):
            throw .invalidRequest("Missing required parameter: '\(path(context.codingPath + [key]))'.", param: path(context.codingPath + [key]))
        case let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context):
            throw .invalidRequest("Invalid type for '\(path(context.codingPath))': \(context.debugDescription)", param: path(context.codingPath))
        case let DecodingError.dataCorrupted(context):
            if context.codingPath.isEmpty { throw .invalidRequest("We could not parse the JSON body of your request: \(context.debugDescription)") }
            throw .invalidRequest("Invalid value for '\(path(context.codingPath))': \(context.debugDescription)", param: path(context.codingPath))
        default:
            throw .invalidRequest("We could not parse the JSON body of your request.")
        }
    }

    /// The offset of the first byte that is not part of a well-formed UTF-8 sequence, if any.
    static func firstInvalidUTF8(_ body: Data) -> Int? {
        var parser = Unicode.UTF8.ForwardParser()
        var bytes = body.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &bytes) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
    }
}
