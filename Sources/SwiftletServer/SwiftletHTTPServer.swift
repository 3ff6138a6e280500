import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle
import SwiftletProvider
import Synchronization

/// A ready-made HTTP server for one model: Swiftlet's routes, OpenAI-shaped 404s for anything else, the
/// connection limits and deadlines of ``ServerLimits``, HTTP/1.0 answered as 1.0, CORS when asked, and
/// shutdown on SIGTERM or SIGINT.
///
/// Shutdown: the first signal stops new connections and generations (503) and lets running requests
/// finish, for at most ``ServerLimits/drainTimeout``; then each open stream gets a last error event, each
/// waiting non-streamed request a 503, and the process exits 0. A second signal exits at once (status 0).
public struct SwiftletHTTPServer: Sendable {
    public let endpoints: SwiftletEndpoints
    public let host: String
    public let port: Int
    public let limits: ServerLimits
    /// The origin browsers may call from (`Access-Control-Allow-Origin`, preflight answered), `"*"` for any;
    /// `nil` sends no CORS headers.
    public let corsOrigin: String?

    public init(endpoints: SwiftletEndpoints, host: String = "127.0.0.1", port: Int = 8080,
                limits: ServerLimits = ServerLimits(), corsOrigin: String? = nil) {
        self.endpoints = endpoints
        self.host = host
        self.port = port
        self.limits = limits
        self.corsOrigin = corsOrigin
    }

    /// Serves until SIGTERM or SIGINT; `onListening` is called once the socket is bound.
    public func run(onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }) async throws {
        let router = Router(context: SwiftletRequestContext.self)
        router.middlewares.add(OpenAIErrorMiddleware(endpoints: endpoints))
        if let corsOrigin {
            typealias CORS = CORSMiddleware<SwiftletRequestContext>
            router.middlewares.add(CORS(
                allowOrigin: corsOrigin == "*" ? CORS.AllowOriginExtended.all : .custom(corsOrigin),
                allowHeaders: [.accept, .authorization, .contentType, .origin],
                allowMethods: [.get, .head, .post, .options], maxAge: .seconds(600)))
        }
        try endpoints.register(on: router)
        let limits = self.limits, count = ConnectionCount()
        let server = HTTPServerBuilder { responder in
            SwiftletHTTPChannel(responder: responder, limits: limits, count: count)
        }
        var quiet = Logger(label: "swiftlet.http")
        quiet.logLevel = .error
        let host = self.host, port = self.port
        let app = Application(
            router: router, server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: "Swiftlet"),
            onServerRunning: { channel in onListening(host, channel.localAddress?.port ?? port) },
            logger: quiet)
        let group = ServiceGroup(configuration: .init(services: [app], logger: quiet))
        let shutdown = Shutdown(endpoints: endpoints, group: group, deadline: limits.drainTimeout)
        let signalSources = shutdown.install()
        defer {
            shutdown.disarm()
            for source in signalSources { source.cancel() }
        }
        do {
            try await group.run()
        } catch {
            let text = String(describing: error)
            if text.contains("Address already in use") || text.contains("EADDRINUSE") {
                throw SwiftletServerError.cannotListen(host: host, port: port, reason: "the address is already in use")
            }
            throw error
        }
    }
}

/// SIGTERM and SIGINT: the first drains within a deadline, a second exits at once.
final class Shutdown: Sendable {
    private struct State {
        var endpoints: SwiftletEndpoints?
        var group: ServiceGroup?
        var signals = 0
    }

    private let deadline: Duration
    // Emptied when the server has stopped: the signal handlers and the deadline timer may outlive it, and
    // must neither act on a stopped server nor keep its model alive.
    private let state: Mutex<State>

    init(endpoints: SwiftletEndpoints, group: ServiceGroup, deadline: Duration) {
        self.state = Mutex(State(endpoints: endpoints, group: group))
        self.deadline = deadline
    }

    /// Takes SIGTERM and SIGINT over; cancel the sources returned to give them back.
    func install() -> [any DispatchSourceSignal] {
        [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in received(number) }
            source.resume()
            return source
        }
    }

    /// The server has stopped: later signals and the deadline do nothing.
    func disarm() {
        state.withLock { $0 = State(endpoints: nil, group: nil, signals: $0.signals) }
    }

    private func received(_ number: Int32) {
        let (count, endpoints, group) = state.withLock { state in
            state.signals += 1
            return (state.signals, state.endpoints, state.group)
        }
        guard let endpoints, let group else { return }
        let logger = endpoints.logger
        guard count == 1 else {
            logger.notice("second signal: exiting now, \(endpoints.runningRequests) requests cut off")
            // At once: no exit handlers run over the requests still in memory.
            _exit(0)
        }
        logger.notice("signal \(number): finishing \(endpoints.runningRequests) running requests (at most \(deadline))")
        endpoints.stopAccepting()
        Task { await group.triggerGracefulShutdown() }
        let seconds = Double(deadline.components.seconds) + Double(deadline.components.attoseconds) / 1e18
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [self] in
            guard let endpoints = state.withLock({ $0.endpoints }) else { return }
            let cut = endpoints.abortRunning()
            if cut > 0 { logger.notice("drain deadline passed: \(cut) requests cut short") }
            // The cut streams write their last event and close; then nothing is left to wait for.
            DispatchQueue.global().asyncAfter(deadline: .now() + 1) { [self] in
                if state.withLock({ $0.endpoints }) != nil { _exit(0) }
            }
        }
    }
}

/// Turns Hummingbird's own errors (no route, a body it refused) into OpenAI's error shape, logged and
/// counted as Swiftlet's routes are.
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let endpoints: SwiftletEndpoints

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let status = Int(error.status.code)
            let failure: OpenAIError = status == 404 ? .notFound(request.uri.path)
                : status == 413 ? .tooLarge(limit: endpoints.maxBodyBytes)
                : OpenAIError(status: status, message: error.body ?? error.status.reasonPhrase,
                              type: status < 500 ? "invalid_request_error" : "server_error")
            return endpoints.errorResponse(failure, route: "other", request: request, started: started)
        } catch {
            return endpoints.errorResponse(.server(String(describing: error)), route: "other", request: request,
                                           started: started)
        }
    }
}
