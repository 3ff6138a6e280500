import ArgumentParser
import Foundation
import Swiftlet
import SwiftletProvider
import SwiftletServer

/// `swiftlet serve`: an OpenAI-compatible HTTP server (LibreChat's custom endpoint) for one model.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a model over an OpenAI-compatible HTTP API (for LibreChat and any OpenAI client).")

    @Option(help: "GGUF model file (default: SmolLM2-135M-Instruct Q4_1, fetched on first use).") var model: String?
    @Option(help: "The model id clients use (default: the file name without .gguf).") var alias: String?
    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "Port to listen on.") var port: Int = 8080
    @Option(name: .customLong("api-key"), help: "Require 'Authorization: Bearer KEY' on every route but /health (also from SWIFTLET_API_KEY).")
    var apiKey: String?
    @Option(help: "Requests generating at once; more wait in a queue. KV memory is --ctx × --parallel.") var parallel: Int = 1
    @Option(help: "Context of each sequence, in tokens (what /v1/models reports as context_length).") var ctx: Int = 4096
    @Flag(help: "Allow a --ctx longer than the context the model was trained for (output degrades past it).")
    var ctxBeyondTraining = false
    @Option(help: "Worker threads.") var threads: Int = 2

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1...65535") }
        guard (1...64).contains(parallel) else { throw ValidationError("--parallel must be 1...64") }
        guard ctx >= 16 else { throw ValidationError("--ctx must be at least 16") }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be 1...256") }
    }

    func run() async throws {
        try await reportingErrorsAsync {
            let path = try model ?? DefaultModel.path()
            let key = apiKey ?? ProcessInfo.processInfo.environment["SWIFTLET_API_KEY"]
            let loaded = try await Swiftlet.Model.load(path, options: .init(contextLength: ctx, parallel: parallel, threads: threads,
                                                                           allowContextBeyondTraining: ctxBeyondTraining))
            let provider = ChatProvider(model: loaded, modelID: alias)
            let server = SwiftletHTTPServer(endpoints: SwiftletEndpoints(provider: provider, apiKey: key), host: host, port: port)
            do {
                try await server.run { host, port in
                    printError("swiftlet: serving \(provider.modelID) on http://\(host):\(port)/v1 (context \(loaded.contextLength) × \(parallel) sequences\(key == nil ? ", no API key" : ", API key required"))")
                }
            } catch {
                let text = String(describing: error)
                if text.contains("Address already in use") || text.contains("EADDRINUSE") {
                    throw CLIError("cannot listen on \(host):\(port): the address is already in use (another server? pick one with --port)")
                }
                throw CLIError("the server stopped: \(text)")
            }
        }
    }
}
