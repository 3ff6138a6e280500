import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Swiftlet
import SwiftletProvider
import SwiftletServer
import SwiftletTestSupport
import Testing

/// The routes over a registry of models loaded on demand (the tiny Llama fixture under two names).
@Suite struct ModelRegistryEndpointsTests {
    static let tiny = TestPaths.fixtures.appendingPathComponent("tiny-llama-f32.gguf").path

    static func endpoints(defaultModel: String? = nil, maxLoaded: Int? = nil) throws -> SwiftletEndpoints {
        let entries = ["alpha", "beta"].map {
            ModelRegistry.Entry(name: $0, path: tiny, aliases: $0 == "beta" ? ["b"] : [],
                                options: .init(contextLength: 64))
        }
        let registry = try ModelRegistry(entries, defaultModel: defaultModel, limits: .init(maxLoaded: maxLoaded))
        return SwiftletEndpoints(models: registry, loadingKeepAlive: .milliseconds(50))
    }

    static func chat(_ model: String, stream: Bool = false) -> ByteBuffer {
        ByteBuffer(string: #"{"model": "\#(model)", "messages": [{"role": "user", "content": "Hi"}], "#
                   + #""max_tokens": 3, "stream": \#(stream)}"#)
    }

    static func models(_ body: ByteBuffer) throws -> [[String: Any]] {
        let json = try JSONSerialization.jsonObject(with: Data(String(buffer: body).utf8)) as? [String: Any]
        return json?["data"] as? [[String: Any]] ?? []
    }

    @Test func modelsAreListedAndLoadedByName() async throws {
        let endpoints = try Self.endpoints(maxLoaded: 1)
        let router = Router(context: SwiftletRequestContext.self)
        try endpoints.register(on: router)
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/models", method: .get) { response in
                let list = try Self.models(response.body)
                #expect(list.compactMap { $0["id"] as? String } == ["alpha", "beta"])
                #expect(list.compactMap { $0["loaded"] as? Bool } == [false, false])
                #expect(list.compactMap { $0["context_length"] as? Int } == [64, 64])
                #expect(list.allSatisfy { ($0["size"] as? Int ?? 0) > 0 })
            }
            let json: HTTPFields = [.contentType: "application/json"]
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: json,
                                     body: Self.chat("b")) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#""model":"beta""#))
            }
            try await client.execute(uri: "/v1/models", method: .get) { response in
                let flags = try Self.models(response.body).compactMap { $0["loaded"] as? Bool }
                #expect(flags == [false, true])
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: json,
                                     body: Self.chat("alpha")) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/models", method: .get) { response in
                let flags = try Self.models(response.body).compactMap { $0["loaded"] as? Bool }
                #expect(flags == [true, false])
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post, headers: json,
                                     body: Self.chat("gamma")) { response in
                #expect(response.status == .notFound)
                #expect(String(buffer: response.body).contains("model_not_found"))
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                #expect(text.contains(#"swiftlet_generations_total{model="alpha"} 1"#))
                #expect(text.contains(#"swiftlet_generations_total{model="beta"} 1"#))
                #expect(text.contains("swiftlet_models_loaded 1"))
            }
        }
    }

    @Test func anUnknownNameGoesToTheDefaultModel() async throws {
        let router = Router(context: SwiftletRequestContext.self)
        try Self.endpoints(defaultModel: "alpha").register(on: router)
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     headers: [.contentType: "application/json"], body: Self.chat("gpt-4o-mini")) {
                #expect($0.status == .ok)
                #expect(String(buffer: $0.body).contains(#""model":"alpha""#))
            }
        }
    }

    @Test func aStreamForAModelNotLoadedSaysItIsLoadingThenStreams() async throws {
        let router = Router(context: SwiftletRequestContext.self)
        try Self.endpoints().register(on: router)
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     headers: [.contentType: "application/json"],
                                     body: Self.chat("alpha", stream: true)) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                #expect(text.hasPrefix(": loading model\n\n"))
                #expect(text.contains(#""role":"assistant""#) && text.hasSuffix("data: [DONE]\n\n"))
            }
            // A bad body is still a 400, before the stream (and the load) begins.
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: #"{"model": "beta", "stream": true, "messages": []}"#)) {
                #expect($0.status == .badRequest)
            }
        }
    }

    @Test func thePriorityHeaderIsCheckedCaseInsensitively() async throws {
        let router = Router(context: SwiftletRequestContext.self)
        try Self.endpoints().register(on: router)
        try await Application(router: router).test(.router) { client in
            let cases = [("Background", HTTPResponse.Status.ok), ("foreground", .ok), ("urgent", .badRequest)]
            for (value, status) in cases {
                var headers: HTTPFields = [.contentType: "application/json"]
                headers[try #require(.init("X-Swiftlet-Priority"))] = value
                try await client.execute(uri: "/v1/chat/completions", method: .post, headers: headers,
                                         body: Self.chat("alpha")) { response in
                    #expect(response.status == status, "\(value)")
                    if status == .badRequest { #expect(String(buffer: response.body).contains("X-Swiftlet-Priority")) }
                }
            }
        }
    }

    @Test func aFailedLoadIsAnOpenAIError() async throws {
        let registry = try ModelRegistry([ModelRegistry.Entry(name: "broken", path: "/nonexistent.gguf")])
        let router = Router(context: SwiftletRequestContext.self)
        try SwiftletEndpoints(models: registry).register(on: router)
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     headers: [.contentType: "application/json"], body: Self.chat("broken")) {
                #expect($0.status == .internalServerError)
                #expect(String(buffer: $0.body).contains("model_load_failed"))
            }
            try await client.execute(uri: "/v1/chat/completions", method: .post,
                                     headers: [.contentType: "application/json"],
                                     body: Self.chat("broken", stream: true)) { response in
                let text = String(buffer: response.body)
                #expect(text.hasPrefix(": loading model\n\n") && text.contains("model_load_failed"))
            }
        }
    }
}
