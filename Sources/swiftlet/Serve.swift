import ArgumentParser
import Foundation
import Logging
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
    @Option(name: .customLong("api-key"),
            help: "Require 'Authorization: Bearer KEY' on every route but /health (also from SWIFTLET_API_KEY).")
    var apiKey: String?
    @Option(help: "Requests generating at once; more wait in a queue. KV memory is --ctx × --parallel.")
    var parallel: Int = 1
    @Option(help: "Context of each sequence, in tokens (what /v1/models reports as context_length).")
    var ctx: Int = 4096
    @Flag(help: "Allow a --ctx longer than the context the model was trained for (output degrades past it).")
    var ctxBeyondTraining = false
    @Option(help: "Worker threads.") var threads: Int = 2
    @Option(name: .customLong("cache-ram"), help: ArgumentHelp(
        "MiB of host memory for the KV prefixes of sequences whose slot went to another prompt; a later "
            + "prompt sharing one restores it instead of evaluating it again (0: off).", valueName: "MiB"))
    var cacheRAM: Int = Swiftlet.Model.LoadOptions.defaultPromptCacheBytes >> 20
    @OptionGroup var cacheTypes: CacheTypeFlags
    @Option(help: "Seconds a client has from a request's first byte to the end of its header (then 408).")
    var headerTimeout: Double = 10
    @Option(help: "Seconds a client has from the end of a request's header to the end of its body.")
    var bodyTimeout: Double = 30
    @Option(help: "Seconds a connection may stay open with no request in progress.")
    var idleTimeout: Double = 30
    @Option(help: "Connections open at once; one more is answered 503.")
    var maxConnections: Int = 256
    @Option(help: "Seconds shutdown waits for running requests before cutting them short.")
    var drainTimeout: Double = 10
    @Option(help: "Answer browsers from this origin ('*' for any) with CORS headers and preflight; off by default.")
    var corsOrigin: String?
    @Option(help: "trace, debug, info (one line per request), notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1...65535") }
        guard (1...64).contains(parallel) else { throw ValidationError("--parallel must be 1...64") }
        guard ctx >= 16 else { throw ValidationError("--ctx must be at least 16") }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be 1...256") }
        guard (0...(1 << 24)).contains(cacheRAM) else { throw ValidationError("--cache-ram must be 0...16777216 MiB") }
        for (name, value) in [("--header-timeout", headerTimeout), ("--body-timeout", bodyTimeout),
                              ("--idle-timeout", idleTimeout), ("--drain-timeout", drainTimeout)] {
            guard value.isFinite, value > 0, value <= 86_400 else {
                throw ValidationError("\(name) must be a number of seconds above 0 and at most 86400")
            }
        }
        guard (1...1_000_000).contains(maxConnections) else {
            throw ValidationError("--max-connections must be 1...1000000")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            let levels = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("--log-level must be one of \(levels)")
        }
        if let corsOrigin, corsOrigin.isEmpty || corsOrigin.contains(where: { $0.isWhitespace || $0 == "," }) {
            throw ValidationError("--cors-origin takes one origin such as https://chat.example.com, or '*'")
        }
    }

    private var limits: ServerLimits {
        func duration(_ seconds: Double) -> Duration { .milliseconds(Int64((seconds * 1000).rounded())) }
        return ServerLimits(headerTimeout: duration(headerTimeout), bodyTimeout: duration(bodyTimeout),
                            idleTimeout: duration(idleTimeout), maxConnections: maxConnections,
                            drainTimeout: duration(drainTimeout))
    }

    func run() async throws {
        try await reportingErrorsAsync {
            let level = Logger.Level(rawValue: logLevel) ?? .info
            LoggingSystem.bootstrap { label in StderrLogHandler(label: label, level: level) }
            let path = try model ?? DefaultModel.path()
            let key = apiKey ?? ProcessInfo.processInfo.environment["SWIFTLET_API_KEY"]
            let options = Swiftlet.Model.LoadOptions(contextLength: ctx, parallel: parallel, threads: threads,
                                                     allowContextBeyondTraining: ctxBeyondTraining,
                                                     promptCacheBytes: cacheRAM << 20,
                                                     keyCacheType: cacheTypes.cacheTypeK.facade,
                                                     valueCacheType: cacheTypes.cacheTypeV.facade)
            let loaded = try await Swiftlet.Model.load(path, options: options)
            let provider = ChatProvider(model: loaded, modelID: alias)
            let endpoints = SwiftletEndpoints(provider: provider, apiKey: key, logger: Logger(label: "swiftlet.server"))
            let server = SwiftletHTTPServer(endpoints: endpoints, host: host, port: port, limits: limits,
                                            corsOrigin: corsOrigin)
            do {
                try await server.run { host, port in
                    let access = key == nil ? "no API key" : "API key required"
                    printError("swiftlet: serving \(provider.modelID) on http://\(host):\(port)/v1 "
                               + "(context \(loaded.contextLength) × \(parallel) sequences, \(access))")
                }
            } catch let error as SwiftletServerError {
                if case .cannotListen = error {
                    throw CLIError("\(error) (another server? pick one with --port)")
                }
                throw CLIError("\(error)")
            } catch {
                throw CLIError("the server stopped: \(error)")
            }
        }
    }
}
