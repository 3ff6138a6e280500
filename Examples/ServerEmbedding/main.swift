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

// Your application's router, with its own routes…
let router = Router()
router.get("/hello") { _, _ in "Hello from the host application\n" }

// …and Swiftlet's: /v1/chat/completions, /v1/completions, /v1/models, /health, /metrics.
let model = try await Swiftlet.Model.load(path, options: .init(contextLength: 4096, parallel: 2, threads: 2))
let endpoints = SwiftletEndpoints(provider: ChatProvider(model: model), apiKey: ProcessInfo.processInfo.environment["SWIFTLET_API_KEY"])
endpoints.register(on: router)

let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 8080)))
try await app.runService()
