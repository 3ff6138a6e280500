import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus
import Swiftlet
import SwiftletProvider
import Synchronization

/// Swiftlet's OpenAI-compatible routes, ready to mount on any Hummingbird router or group:
///
/// ```swift
/// let model = try await Swiftlet.Model.load(path, options: .init(contextLength: 4096, parallel: 2))
/// let endpoints = SwiftletEndpoints(provider: ChatProvider(model: model), apiKey: "secret")
/// let router = Router(context: SwiftletRequestContext.self)
/// try endpoints.register(on: router.group("/llm"))   // /llm/v1/chat/completions, …, /llm/health, /llm/metrics
/// try await Application(router: router).runService()
/// ```
/// Every route but `/health` requires `Authorization: Bearer <apiKey>` when a key is set. Errors are
/// OpenAI-shaped JSON with the matching status; a known path asked with another method is answered 405
/// with `Allow`, and `HEAD` works wherever `GET` does.
///
/// With a context that knows its connection (``SwiftletRequestContext``, or any ``ConnectionRequestContext``)
/// a generation stops within one token of its client leaving, streamed or not, and a request still waiting
/// in the queue leaves it unevaluated. With another context, a stream stops at its next failed write and a
/// non-streamed request runs to its end.
///
/// Each request is logged as one line (method, path, status, tokens, duration; never the text) at `info`
/// on the logger given, and counted in the Prometheus registry given.
///
/// Over a ``ModelRegistry`` (``init(models:apiKey:maxBodyBytes:keepAlive:loadingKeepAlive:logger:registry:)``)
/// a request's `model` picks the entry by name or alias (else the registry's default model, else 404
/// `model_not_found`), which is loaded on demand: a non-streamed request waits for the load; a stream begins
/// at once and sends `: loading model` comments until its first token. `/v1/models` lists every entry with
/// `"loaded"` and its file's `"size"` in bytes. The header `X-Swiftlet-Priority: background` runs a
/// generation at ``GenerationPriority/background`` (any value but `background` or `foreground` is a 400).
public final class SwiftletEndpoints: Sendable {
    /// Groups of routes to mount.
    public struct Routes: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// `/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`, `/v1/models`.
        public static let openAI = Routes(rawValue: 1)
        /// `/health`, which needs no key.
        public static let health = Routes(rawValue: 2)
        /// `/metrics`, Prometheus text.
        public static let metrics = Routes(rawValue: 4)
        public static let all: Routes = [.openAI, .health, .metrics]
    }

    /// The provider of a single-model server (``init(provider:apiKey:maxBodyBytes:keepAlive:logger:registry:)``);
    /// nil over a registry of models.
    public let provider: ChatProvider?
    /// The models served: a one-entry registry around ``provider`` for a single-model server.
    public let models: ModelRegistry
    public let apiKey: String?
    /// Largest request body accepted; a larger one is answered 413.
    public let maxBodyBytes: Int
    /// Interval of `: keep-alive` comments on a stream waiting for its first token.
    public let keepAlive: Duration
    /// Interval of `: loading model` comments on a stream whose model is loading.
    public let loadingKeepAlive: Duration
    /// Where the access log and warnings go.
    public let logger: Logger
    /// The registry `/metrics` renders; pass your application's to serve both from one place.
    public var registry: PrometheusCollectorRegistry { metrics.registry }

    let metrics: ServerMetrics
    private let running = Mutex(Running())

    /// Requests in progress that shutdown may have to cut short.
    struct Running {
        var draining = false
        var next = 0
        var aborts: [Int: @Sendable () -> Void] = [:]
    }

    /// Routes for one loaded model, which answers the name ``ChatProvider/modelID`` only.
    public init(provider: ChatProvider, apiKey: String? = nil, maxBodyBytes: Int = 8 << 20,
                keepAlive: Duration = .seconds(10), logger: Logger = Logger(label: "swiftlet.server"),
                registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.provider = provider
        self.models = ModelRegistry(model: provider.model, name: provider.modelID, sampling: provider.defaultSampling)
        self.apiKey = apiKey.flatMap { $0.isEmpty ? nil : $0 }
        self.maxBodyBytes = maxBodyBytes
        self.keepAlive = keepAlive
        self.loadingKeepAlive = .seconds(2)
        self.logger = logger
        self.metrics = ServerMetrics(registry: registry)
    }

    /// Routes for the models of `models`, each loaded when first asked for.
    public init(models: ModelRegistry, apiKey: String? = nil, maxBodyBytes: Int = 8 << 20,
                keepAlive: Duration = .seconds(10), loadingKeepAlive: Duration = .seconds(2),
                logger: Logger = Logger(label: "swiftlet.server"),
                registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.provider = nil
        self.models = models
        self.apiKey = apiKey.flatMap { $0.isEmpty ? nil : $0 }
        self.maxBodyBytes = maxBodyBytes
        self.keepAlive = keepAlive
        self.loadingKeepAlive = loadingKeepAlive
        self.logger = logger
        self.metrics = ServerMetrics(registry: registry)
    }


    // MARK: Mounting

    /// A route of Swiftlet's, with the methods it answers.
    struct Route {
        let path: String
        let name: String
        let method: HTTPRequest.Method
    }

    static func routes(_ groups: Routes) -> [Route] {
        var routes: [Route] = []
        if groups.contains(.openAI) {
            routes += [Route(path: "/v1/chat/completions", name: "chat_completions", method: .post),
                       Route(path: "/v1/completions", name: "completions", method: .post),
                       Route(path: "/v1/embeddings", name: "embeddings", method: .post),
                       Route(path: "/v1/models", name: "models", method: .get)]
        }
        if groups.contains(.health) { routes.append(Route(path: "/health", name: "health", method: .get)) }
        if groups.contains(.metrics) { routes.append(Route(path: "/metrics", name: "metrics", method: .get)) }
        return routes
    }

    /// Methods answered 405 on Swiftlet's paths (others are Hummingbird's 404).
    static let refusedMethods: [HTTPRequest.Method] = [.get, .head, .post, .put, .delete, .patch, .options]

    /// Adds the routes to `router`, a `Router` or a group of one (`router.group("/llm")`).
    ///
    /// - Throws: ``SwiftletServerError/routeClash(_:)`` when the router already answers one of the routes
    ///   (leave it out with `routes`, or mount under a prefix); nothing is added then.
    public func register<Context: RequestContext>(on router: some RouterMethods<Context>,
                                                  routes groups: Routes = .all) throws(SwiftletServerError) {
        let routes = Self.routes(groups)
        if let (prefix, existing) = RouterInspection.routes(of: router) {
            let taken = Set(existing.map { "\($0.method.rawValue) \($0.path)" })
            for route in routes {
                let path = RouterInspection.join(prefix, route.path)
                for method in [route.method] + Self.refusedMethods where taken.contains("\(method.rawValue) \(path)") {
                    throw .routeClash("\(method.rawValue) \(path)")
                }
            }
        }
        for route in routes {
            let allow = route.method == .get ? "GET, HEAD" : route.method.rawValue
            for method in Self.refusedMethods {
                switch method {
                case route.method:
                    router.on(RouterPath(route.path), method: method) { request, context in
                        await self.answer(route, request, context: context)
                    }
                case .head where route.method == .get:
                    router.on(RouterPath(route.path), method: .head) { request, context in
                        let response = await self.answer(route, request, context: context)
                        return Self.headResponse(response)
                    }
                default:
                    router.on(RouterPath(route.path), method: method) { request, _ in
                        var response = self.errorResponse(.methodNotAllowed(method.rawValue, route.path, allow: allow),
                                                          route: route.name, request: request, started: .now)
                        response.headers[.allow] = allow
                        return response
                    }
                }
            }
        }
    }

    private func answer<Context: RequestContext>(_ route: Route, _ request: Request,
                                                 context: Context) async -> Response {
        let started = ContinuousClock.now
        if route.name != "health", let denied = deny(request, route: route.name, started: started) { return denied }
        switch route.name {
        case "health":
            return finish(Self.json(200, Data(#"{"status":"ok"}"#.utf8)), route: route.name, request: request,
                          started: started)
        case "models":
            return finish(Self.json(200, ChatProvider.json(ChatProvider.models(models))), route: route.name,
                          request: request, started: started)
        case "metrics":
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            let text = metrics.render(models: models.metrics(), loaded: models.statuses().filter(\.isLoaded).count)
            let body = ResponseBody(byteBuffer: ByteBuffer(bytes: text))
            return finish(Response(status: .ok, headers: headers, body: body),
                          route: route.name, request: request, started: started)
        case "embeddings":
            return await embed(request, route: route.name, started: started)
        case "chat_completions":
            return await generate(request, context: context, route: route.name, started: started) {
                provider, body, priority throws(OpenAIError) in
                try provider.chatCompletion(body: body, priority: priority)
            }
        default:
            return await generate(request, context: context, route: route.name, started: started) {
                provider, body, priority throws(OpenAIError) in
                try provider.textCompletion(body: body, priority: priority)
            }
        }
    }

    /// A GET response as HEAD answers it: the same status and headers, the body's length, no body.
    static func headResponse(_ response: Response) -> Response {
        var headers = response.headers
        if headers[.contentLength] == nil, let length = response.body.contentLength {
            headers[.contentLength] = String(length)
        }
        return Response(status: response.status, headers: headers, body: ResponseBody())
    }

    // MARK: Embeddings

    /// `POST /v1/embeddings`: the request's model (by name or alias, loaded on demand like a chat model's)
    /// embeds every input; errors are OpenAI-shaped (400 for bad input, 404 for an unknown model).
    private func embed(_ request: Request, route: String, started: ContinuousClock.Instant) async -> Response {
        if running.withLock({ $0.draining }) {
            return errorResponse(.unavailable("The server is shutting down."), route: route, request: request,
                                 started: started)
        }
        do {
            let body = try await readBody(request)
            let head = try ChatProvider.requestHead(body: body)
            guard models.entry(for: head.model) != nil else {
                throw ChatProvider.map(ModelRegistryError.unknownModel(head.model ?? "", available: models.names))
            }
            let lease: ModelLease
            do { lease = try await models.lease(head.model) } catch { throw ChatProvider.map(error) }
            defer { lease.release() }
            let provider = self.provider.flatMap { $0.model === lease.model ? $0 : nil }
                ?? ChatProvider(model: lease.model, modelID: lease.name, requiresModelID: false)
            let answer = try await provider.embeddings(body: body)
            return finish(Self.json(200, answer), route: route, request: request, started: started)
        } catch let error as OpenAIError {
            return errorResponse(error, route: route, request: request, started: started)
        } catch {
            return errorResponse(.invalidRequest("The request body could not be read: \(error)"), route: route,
                                 request: request, started: started)
        }
    }

    // MARK: Generation

    /// Starts a generation of `body` with the provider of the model the request picked.
    typealias Start = @Sendable (ChatProvider, Data, GenerationPriority) throws(OpenAIError) -> ChatProvider.Call

    /// A generation started, with the lease that keeps its model loaded until it ends.
    struct Prepared: Sendable {
        let provider: ChatProvider
        let call: ChatProvider.Call
        let lease: ModelLease
    }

    private func generate<Context: RequestContext>(
        _ request: Request, context: Context, route: String, started: ContinuousClock.Instant, start: @escaping Start
    ) async -> Response {
        if running.withLock({ $0.draining }) {
            return errorResponse(.unavailable("The server is shutting down."), route: route, request: request,
                                 started: started)
        }
        let connection = (context as? any ConnectionRequestContext)?.connection
        let body: Data, head: ChatProvider.RequestHead, priority: GenerationPriority, entry: ModelRegistry.Entry
        do {
            priority = try Self.priority(request.headers)
            body = try await readBody(request)
            let models = self.models
            // Reading a large body takes CPU time: off the concurrency pool, as the generation's preparation.
            (head, entry) = try await Offload.run { () throws(OpenAIError) in
                let head = try ChatProvider.requestHead(body: body)
                guard let entry = models.entry(for: head.model) else {
                    throw ChatProvider.map(ModelRegistryError.unknownModel(head.model ?? "", available: models.names))
                }
                if head.stream == true, route == "chat_completions", !models.isLoaded(entry.name) {
                    // The stream begins before the load: a bad body must be a 400 now, not an event later.
                    _ = try ChatProvider.decodeChatRequest(body: body, modelID: nil, vocabularySize: Int.max,
                                                           contextLength: 1 << 20)
                }
                return (head, entry)
            }
        } catch let error as OpenAIError {
            return errorResponse(error, route: route, request: request, started: started)
        } catch {
            return errorResponse(.invalidRequest("The request body could not be read: \(error)"), route: route,
                                 request: request, started: started)
        }
        let prepare = { @Sendable () async throws(OpenAIError) -> Prepared in
            try await self.prepare(entry: entry, requested: head.model, body: body, priority: priority, start: start)
        }
        if head.stream == true, !models.isLoaded(entry.name) {
            return stream(request: request, connection: connection, route: route, started: started,
                          loading: true, prepare: prepare)
        }
        let prepared: Prepared
        do {
            prepared = try await prepare()
        } catch {
            return errorResponse(error, route: route, request: request, started: started)
        }
        return prepared.call.isStreaming
            ? stream(request: request, connection: connection, route: route, started: started, loading: false,
                     prepare: { prepared })
            : await respond(prepared, request: request, connection: connection, route: route, started: started)
    }

    /// Leases the entry's model (loading it, or waiting for its load) and starts the generation.
    private func prepare(entry: ModelRegistry.Entry, requested: String?, body: Data, priority: GenerationPriority,
                         start: @escaping Start) async throws(OpenAIError) -> Prepared {
        let lease: ModelLease
        do { lease = try await models.lease(requested) } catch { throw ChatProvider.map(error) }
        let provider = self.provider.flatMap { $0.model === lease.model ? $0 : nil }
            ?? ChatProvider(model: lease.model, modelID: lease.name, defaultSampling: lease.entry.sampling,
                            requiresModelID: false)
        // Decoding, rendering and tokenizing a large prompt takes CPU time; it runs off the concurrency
        // pool so that other requests (`/health` among them) are answered meanwhile.
        let call = try await Offload.run { () throws(OpenAIError) in try start(provider, body, priority) }
        return Prepared(provider: provider, call: call, lease: lease)
    }

    /// `X-Swiftlet-Priority`: `foreground` (the default) or `background`, in any case.
    static func priority(_ headers: HTTPFields) throws(OpenAIError) -> GenerationPriority {
        guard let value = headers.first(where: { $0.name.canonicalName == "x-swiftlet-priority" })?.value else {
            return .foreground
        }
        let trimmed = value.trimmingCharacters(in: CharacterSet.whitespaces).lowercased()
        guard let priority = GenerationPriority(rawValue: trimmed) else {
            throw .invalidRequest("X-Swiftlet-Priority must be 'foreground' or 'background', got '\(value)'.",
                                  param: "X-Swiftlet-Priority")
        }
        return priority
    }

    private func respond(_ prepared: Prepared, request: Request, connection: (any Channel)?, route: String,
                         started: ContinuousClock.Instant) async -> Response {
        let task = Task { () async throws -> (body: Data, summary: GenerationSummary) in
            defer { prepared.lease.release() }
            return try await prepared.provider.respond(prepared.call)
        }
        let key = track { task.cancel() }
        defer { untrack(key) }
        // A closed connection (the client left) cancels the generation, wherever it is.
        let departure = Departure(connection) { task.cancel() }
        defer { departure.disarm() }
        switch await task.result {
        case .success(let (body, summary)):
            metrics.finished(summary)
            return finish(Self.json(200, body), route: route, request: request, started: started, summary: summary)
        case .failure(let error):
            if connection.map({ !$0.isActive }) == true {
                // Nobody to answer: nginx's 499 "client closed request", for the log.
                log(request, status: 499, started: started, summary: nil)
                metrics.answered(route: route, status: 499)
                return Self.json(499, Data())
            }
            let failure = task.isCancelled ? .unavailable("The server is shutting down.") : ChatProvider.map(error)
            return errorResponse(failure, route: route, request: request, started: started)
        }
    }

    /// A stream of server-sent events; with `loading`, it begins before the model is leased, with a
    /// `: loading model` comment at once and every ``loadingKeepAlive`` until the generation starts.
    private func stream(request: Request, connection: (any Channel)?, route: String, started: ContinuousClock.Instant,
                        loading: Bool, prepare: @escaping @Sendable () async throws(OpenAIError) -> Prepared)
        -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        let keepAlive = self.keepAlive, loadingKeepAlive = self.loadingKeepAlive
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            let (events, continuation) = AsyncStream<String>.makeStream()
            let outcome = Mutex<GenerationSummary?>(nil)
            // The first comment goes out before the load can fail (a missing file fails at once, before a
            // ticker task would have run); the ticker repeats it while the load lasts.
            if loading { continuation.yield(": loading model\n\n") }
            let producer = Task {
                let ticker = loading ? Task {
                    while !Task.isCancelled {
                        try await Task.sleep(for: loadingKeepAlive)
                        continuation.yield(": loading model\n\n")
                    }
                } : nil
                let prepared: Prepared
                do {
                    prepared = try await prepare()
                } catch let error as OpenAIError {
                    ticker?.cancel()
                    continuation.yield("data: " + String(decoding: ChatProvider.json(error), as: UTF8.self) + "\n\n")
                    continuation.finish()
                    return
                }
                ticker?.cancel()
                defer { prepared.lease.release() }
                let summary = try? await prepared.provider.stream(prepared.call, keepAlive: keepAlive) { event in
                    continuation.yield(event)
                }
                outcome.withLock { $0 = summary ?? nil }
                continuation.finish()
            }
            // Shutdown past its deadline ends the stream with an error event.
            let key = self.track {
                let error = OpenAIError.unavailable("The server is shutting down; the reply was cut short.")
                continuation.yield("data: " + String(decoding: ChatProvider.json(error), as: UTF8.self) + "\n\n")
                continuation.finish()
                producer.cancel()
            }
            // The client leaving stops the generation within one token, or takes it out of the queue.
            let departure = Departure(connection) {
                producer.cancel()
                continuation.finish()
            }
            defer {
                departure.disarm()
                producer.cancel()
                self.untrack(key)
            }
            var status = 200
            do {
                for await event in events {
                    try await writer.write(ByteBuffer(string: event))
                }
                try await writer.finish(nil)
            } catch {
                status = 499
            }
            if connection.map({ !$0.isActive }) == true { status = 499 }
            let summary = outcome.withLock { $0 }
            if let summary { self.metrics.finished(summary) }
            self.log(request, status: status, started: started, summary: summary)
            self.metrics.answered(route: route, status: status)
        })
    }

    private func readBody(_ request: Request) async throws -> Data {
        var data = Data()
        for try await chunk in request.body {
            guard data.count + chunk.readableBytes <= maxBodyBytes else {
                throw OpenAIError.tooLarge(limit: maxBodyBytes)
            }
            data.append(contentsOf: chunk.readableBytesView)
        }
        return data
    }

    // MARK: Shutdown

    /// Refuses new generations (503) from now on; running ones go on.
    public func stopAccepting() {
        running.withLock { $0.draining = true }
    }

    /// Cuts every running request short: a stream gets a last error event and ends, a non-streamed
    /// request is answered 503. Returns how many there were.
    @discardableResult
    public func abortRunning() -> Int {
        let aborts = running.withLock { state in
            state.draining = true
            defer { state.aborts = [:] }
            return Array(state.aborts.values)
        }
        for abort in aborts { abort() }
        return aborts.count
    }

    /// Requests still running.
    public var runningRequests: Int { running.withLock { $0.aborts.count } }

    private func track(_ abort: @escaping @Sendable () -> Void) -> Int {
        running.withLock { state in
            state.next += 1
            state.aborts[state.next] = abort
            return state.next
        }
    }

    private func untrack(_ key: Int) {
        _ = running.withLock { $0.aborts.removeValue(forKey: key) }
    }

    // MARK: Answers

    /// A 401 response when a key is set and the request does not carry it.
    private func deny(_ request: Request, route: String, started: ContinuousClock.Instant) -> Response? {
        guard let apiKey else { return nil }
        // RFC 9110 §11.1: the scheme is case-insensitive ("bearer", "BEARER"); the key is not.
        let parts = (request.headers[.authorization] ?? "").split(separator: " ", maxSplits: 1)
        if parts.count == 2, parts[0].lowercased() == "bearer", parts[1] == apiKey { return nil }
        return errorResponse(.invalidAPIKey, route: route, request: request, started: started)
    }

    func errorResponse(_ error: OpenAIError, route: String, request: Request,
                       started: ContinuousClock.Instant) -> Response {
        finish(Self.json(error.status, ChatProvider.json(error)), route: route, request: request, started: started)
    }

    /// Counts and logs a response before it goes out.
    private func finish(_ response: Response, route: String, request: Request, started: ContinuousClock.Instant,
                        summary: GenerationSummary? = nil) -> Response {
        let status = Int(response.status.code)
        metrics.answered(route: route, status: status)
        log(request, status: status, started: started, summary: summary)
        return response
    }

    /// The access log: one line per request, never its text.
    func log(_ request: Request, status: Int, started: ContinuousClock.Instant, summary: GenerationSummary?) {
        let elapsed = ContinuousClock.now - started
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        var line = "\(request.method.rawValue) \(request.uri.path) \(status)"
        if let summary {
            line += " prompt_tokens=\(summary.promptTokens) cached_tokens=\(summary.cachedPromptTokens)"
                + " completion_tokens=\(summary.completionTokens)"
        }
        line += " " + String(format: "%.1fms", milliseconds)
        logger.info("\(line)")
    }

    static func json(_ status: Int, _ body: Data) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: HTTPResponse.Status(code: status), headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// What to do if a request's connection closes before the request is done. A keep-alive connection serves
/// many requests, and its close callbacks stay registered until it closes: each keeps only this small box,
/// emptied when its request ends.
final class Departure: Sendable {
    private let action: Mutex<(@Sendable () -> Void)?>

    init(_ connection: (any Channel)?, _ action: @escaping @Sendable () -> Void) {
        self.action = Mutex(action)
        connection?.closeFuture.whenComplete { [self] _ in
            self.action.withLock { $0 }?()
        }
    }

    func disarm() {
        action.withLock { $0 = nil }
    }
}
