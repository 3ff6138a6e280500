import Foundation
import Hummingbird
import Swiftlet
import SwiftletProvider
import Synchronization

/// Swiftlet's OpenAI-compatible routes, ready to mount on any Hummingbird router:
///
/// ```swift
/// let model = try await Swiftlet.Model.load(path, options: .init(contextLength: 4096, parallel: 2))
/// let endpoints = SwiftletEndpoints(provider: ChatProvider(model: model), apiKey: "secret")
/// let router = Router()
/// endpoints.register(on: router)          // /v1/chat/completions, /v1/completions, /v1/models, /health, /metrics
/// try await Application(router: router).runService()
/// ```
/// Every route but `/health` requires `Authorization: Bearer <apiKey>` when a key is set. Errors are
/// OpenAI-shaped JSON with the matching status.
public final class SwiftletEndpoints: Sendable {
    public let provider: ChatProvider
    public let apiKey: String?
    /// Largest request body accepted; a larger one is answered 413.
    public let maxBodyBytes: Int
    /// Interval of `: keep-alive` comments on a stream waiting for its first token.
    public let keepAlive: Duration
    private let counters = Mutex(Counters())

    struct Counters {
        var httpRequests: [String: Int] = [:]
    }

    public init(provider: ChatProvider, apiKey: String? = nil, maxBodyBytes: Int = 8 << 20, keepAlive: Duration = .seconds(10)) {
        self.provider = provider
        self.apiKey = apiKey.flatMap { $0.isEmpty ? nil : $0 }
        self.maxBodyBytes = maxBodyBytes
        self.keepAlive = keepAlive
    }

    /// Adds the routes to `router`.
    public func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/health") { _, _ in
            self.count("health", 200)
            return Self.json(200, Data(#"{"status":"ok"}"#.utf8))
        }
        router.get("/v1/models") { request, _ in
            if let denied = self.deny(request, route: "models") { return denied }
            self.count("models", 200)
            return Self.json(200, ChatProvider.json(self.provider.models()))
        }
        router.get("/metrics") { request, _ in
            if let denied = self.deny(request, route: "metrics") { return denied }
            self.count("metrics", 200)
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: self.metricsText())))
        }
        router.post("/v1/chat/completions") { request, _ in
            await self.generate(request, route: "chat_completions") { body throws(OpenAIError) in try self.provider.chatCompletion(body: body) }
        }
        router.post("/v1/completions") { request, _ in
            await self.generate(request, route: "completions") { body throws(OpenAIError) in try self.provider.textCompletion(body: body) }
        }
    }

    private func generate(_ request: Request, route: String,
                          start: (Data) throws(OpenAIError) -> ChatProvider.Call) async -> Response {
        if let denied = deny(request, route: route) { return denied }
        let call: ChatProvider.Call
        do {
            let body = try await readBody(request)
            call = try start(body)
        } catch let error as OpenAIError {
            return errorResponse(error, route: route)
        } catch {
            return errorResponse(.invalidRequest("The request body could not be read: \(error)"), route: route)
        }
        count(route, 200)
        if !call.isStreaming {
            do {
                return Self.json(200, try await provider.response(call))
            } catch {
                return errorResponse(ChatProvider.map(error), route: route, counted: true)
            }
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        let provider = self.provider, keepAlive = self.keepAlive
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            let (events, continuation) = AsyncStream<String>.makeStream()
            let producer = Task {
                try? await provider.stream(call, keepAlive: keepAlive) { event in continuation.yield(event) }
                continuation.finish()
            }
            // Leaving early (the client went away and a write failed) cancels the producer, which
            // stops the generation within one token and frees its sequence.
            defer { producer.cancel() }
            for await event in events {
                try await writer.write(ByteBuffer(string: event))
            }
            try await writer.finish(nil)
        })
    }

    private func readBody(_ request: Request) async throws -> Data {
        var data = Data()
        for try await chunk in request.body {
            guard data.count + chunk.readableBytes <= maxBodyBytes else { throw OpenAIError.tooLarge(limit: maxBodyBytes) }
            data.append(contentsOf: chunk.readableBytesView)
        }
        return data
    }

    /// A 401 response when a key is set and the request does not carry it.
    private func deny(_ request: Request, route: String) -> Response? {
        guard let apiKey else { return nil }
        // RFC 9110 §11.1: the scheme is case-insensitive ("bearer", "BEARER"); the key is not.
        let parts = (request.headers[.authorization] ?? "").split(separator: " ", maxSplits: 1)
        if parts.count == 2, parts[0].lowercased() == "bearer", parts[1] == apiKey { return nil }
        return errorResponse(.invalidAPIKey, route: route)
    }

    func errorResponse(_ error: OpenAIError, route: String, counted: Bool = false) -> Response {
        if !counted { count(route, error.status) }
        return Self.json(error.status, ChatProvider.json(error))
    }

    static func json(_ status: Int, _ body: Data) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    private func count(_ route: String, _ status: Int) {
        counters.withLock { $0.httpRequests["\(route)|\(status)", default: 0] += 1 }
    }

    /// Prometheus text exposition of the server's and the engine's counters.
    func metricsText() -> String {
        let m = provider.model.metrics
        let http = counters.withLock { $0.httpRequests }
        var lines: [String] = []
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, String)]) {
            lines.append("# HELP \(name) \(help)")
            lines.append("# TYPE \(name) \(type)")
            for (labels, value) in samples { lines.append("\(name)\(labels) \(value)") }
        }
        metric("swiftlet_http_requests_total", "counter", "HTTP requests answered, by route and status.",
               http.keys.sorted().map { key in
                   let parts = key.split(separator: "|")
                   return ("{route=\"\(parts[0])\",status=\"\(parts[1])\"}", String(http[key]!))
               })
        metric("swiftlet_generations_total", "counter", "Generations submitted to the engine.", [("", String(m.requests))])
        metric("swiftlet_queue_depth", "gauge", "Generations waiting for a free sequence.", [("", String(m.queueDepth))])
        metric("swiftlet_active_sequences", "gauge", "Generations running now.", [("", String(m.activeSequences))])
        metric("swiftlet_prompt_tokens_total", "counter", "Prompt tokens evaluated.", [("", String(m.promptTokens))])
        metric("swiftlet_cached_prompt_tokens_total", "counter", "Prompt tokens reused from the KV cache.", [("", String(m.cachedPromptTokens))])
        metric("swiftlet_completion_tokens_total", "counter", "Tokens generated.", [("", String(m.completionTokens))])
        metric("swiftlet_time_to_first_token_seconds", "summary", "Time from the start of processing to the first token.",
               [("_sum", String(m.timeToFirstTokenSecondsTotal)), ("_count", String(m.finishedRequests))])
        metric("swiftlet_tokens_per_second", "gauge", "Generation speed over all finished requests.", [("", String(m.tokensPerSecond))])
        metric("swiftlet_kv_cache_bytes", "gauge", "Bytes of KV cache allocated for all sequences.", [("", String(m.kvCacheBytes))])
        return lines.map { $0.replacingOccurrences(of: "swiftlet_time_to_first_token_seconds_", with: "swiftlet_time_to_first_token_seconds_") }
            .joined(separator: "\n") + "\n"
    }
}
