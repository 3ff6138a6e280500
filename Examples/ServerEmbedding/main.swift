// Mounting Swiftlet's OpenAI-compatible routes in an existing Hummingbird application
// (Docs/LibreChat.md). Built with the package, so this example always compiles:
//   swift run -c release swiftlet-server-example /path/to/model.gguf
import Foundation
import Hummingbird
import Swiftlet
import SwiftletProvider
import SwiftletServer

let path = CommandLine.arguments.dropFirst().first ?? ""
guard !path.isEmpty else {
    FileHandle.standardError.write(Data("usage: swiftlet-server-example MODEL.gguf\n".utf8))
    exit(1)
}

// Your application's router, with its own routes (its own /health among them)…
// SwiftletRequestContext lets a generation stop as soon as its client leaves.
let router = Router(context: SwiftletRequestContext.self)
router.get("/hello") { _, _ in "Hello from the host application\n" }
router.get("/health") { _, _ in "host application: ok\n" }

// …and Swiftlet's under /llm: /llm/v1/chat/completions, /llm/v1/completions, /llm/v1/models,
// /llm/health, /llm/metrics. Mounting over a route the router already has is an error, not a crash.
let model = try await Swiftlet.Model.load(path, options: .init(contextLength: 4096, parallel: 2, threads: 2))
let endpoints = SwiftletEndpoints(provider: ChatProvider(model: model),
                                  apiKey: ProcessInfo.processInfo.environment["SWIFTLET_API_KEY"])
try endpoints.register(on: router.group("/llm"))

let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 8080)))
try await app.runService()
