import Foundation
import Hummingbird
import Logging
import SwiftletProvider

/// A ready-made HTTP server for one model: Swiftlet's routes, OpenAI-shaped 404s for anything else,
/// graceful shutdown on SIGTERM and SIGINT (open streams finish, then the process exits).
public struct SwiftletHTTPServer: Sendable {
    public let endpoints: SwiftletEndpoints
    public let host: String
    public let port: Int

    public init(endpoints: SwiftletEndpoints, host: String = "127.0.0.1", port: Int = 8080) {
        self.endpoints = endpoints
        self.host = host
        self.port = port
    }

    /// Serves until SIGTERM or SIGINT; `onListening` is called once the socket is bound.
    public func run(onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }) async throws {
        let router = Router()
        router.middlewares.add(OpenAIErrorMiddleware())
        endpoints.register(on: router)
        var logger = Logger(label: "swiftlet.server")
        logger.logLevel = .error
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "Swiftlet"),
            onServerRunning: { channel in onListening(host, channel.localAddress?.port ?? port) },
            logger: logger)
        try await app.runService()
    }
}

/// Turns Hummingbird's own errors (no route, wrong method, a body it refused) into OpenAI's error shape.
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let status = Int(error.status.code)
            let failure: OpenAIError = status == 404 ? .notFound(request.uri.path)
                : status == 413 ? .tooLarge(limit: 0)
                : OpenAIError(status: status, message: error.body ?? error.status.reasonPhrase, type: status < 500 ? "invalid_request_error" : "server_error")
            return SwiftletEndpoints.json(status, ChatProvider.json(failure))
        } catch {
            return SwiftletEndpoints.json(500, ChatProvider.json(OpenAIError.server(String(describing: error))))
        }
    }
}
