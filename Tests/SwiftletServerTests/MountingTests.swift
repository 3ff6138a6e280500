import Foundation
import Hummingbird
import HummingbirdTesting
import Swiftlet
import SwiftletProvider
import SwiftletServer
import SwiftletTestSupport
import Testing

/// Mounting Swiftlet's routes in a host application's router, as a dependent does.
@Suite struct MountingTests {
    /// One model for every test, loaded once.
    static let loading = Task {
        let path = try TestPaths.model(TestPaths.smollm2)
        let model = try await Swiftlet.Model.load(path, options: .init(contextLength: 256, parallel: 1, threads: 2))
        return SwiftletEndpoints(provider: ChatProvider(model: model, modelID: "smol"))
    }

    static var endpoints: SwiftletEndpoints {
        get async throws { try await loading.value }
    }

    @Test func routesGoUnderAGroupBesideTheHostsOwn() async throws {
        let router = Router(context: SwiftletRequestContext.self)
        router.get("/health") { _, _ in "host" }
        try await Self.endpoints.register(on: router.group("/llm"))
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(String(buffer: response.body) == "host")
            }
            try await client.execute(uri: "/llm/health", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"status":"ok"}"#)
            }
            try await client.execute(uri: "/llm/v1/models", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#""id":"smol""#))
            }
        }
    }

    @Test func aClashIsAnErrorAndAddsNothing() async throws {
        let router = Router()
        router.get("/health") { _, _ in "host" }
        let endpoints = try await Self.endpoints
        #expect(throws: SwiftletServerError.routeClash("GET /health")) { try endpoints.register(on: router) }
        #expect(router.routes.count == 1)
        let grouped = Router()
        grouped.post("/api/v1/chat/completions") { _, _ in "host" }
        #expect(throws: SwiftletServerError.routeClash("POST /api/v1/chat/completions")) {
            try endpoints.register(on: grouped.group("/api"))
        }
    }

    @Test func healthAndMetricsAreOptional() async throws {
        let router = Router()
        router.get("/health") { _, _ in "host" }
        router.get("/metrics") { _, _ in "host metrics" }
        try await Self.endpoints.register(on: router, routes: .openAI)
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(String(buffer: response.body) == "host metrics")
            }
            try await client.execute(uri: "/v1/models", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func wrongMethodsAre405WithAllowAndHeadWorks() async throws {
        let router = Router()
        try await Self.endpoints.register(on: router)
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .get) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "POST")
                #expect(String(buffer: response.body).contains("method_not_allowed"))
            }
            try await client.execute(uri: "/v1/models", method: .delete) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET, HEAD")
            }
            try await client.execute(uri: "/v1/models", method: .head) { response in
                #expect(response.status == .ok)
                #expect(response.body.readableBytes == 0)
                #expect(Int(response.headers[.contentLength] ?? "") ?? 0 > 0)
            }
        }
    }

    @Test func metricsGoThroughThePrometheusRegistry() async throws {
        let router = Router()
        try await Self.endpoints.register(on: router)
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { _ in }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains("# TYPE swiftlet_http_requests_total counter"))
                #expect(text.contains(#"swiftlet_http_requests_total{route="health",status="200"}"#))
                #expect(text.contains("# TYPE swiftlet_queue_depth gauge"))
            }
        }
        let text = String(decoding: try await Self.endpoints.registry.emitToBuffer(), as: UTF8.self)
        #expect(text.contains("swiftlet_completion_tokens_total"))
    }
}
