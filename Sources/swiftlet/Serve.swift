import ArgumentParser
import Foundation
import Logging
import Swiftlet
import SwiftletProvider
import SwiftletServer

/// `swiftlet serve`: an OpenAI-compatible HTTP server (LibreChat's custom endpoint) for one model, or for
/// several loaded on demand (`--models-dir`, `--config`).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve models over an OpenAI-compatible HTTP API (for LibreChat and any OpenAI client).",
        discussion: """
            With --model (or nothing) one model is loaded at start. With --models-dir or --config, every model \
            listed is served by its name and loaded when first asked for; --max-loaded, --max-memory and \
            --idle-unload bound what stays loaded. Flags override the --config file's settings.
            """)

    @Option(help: "GGUF model file (default: SmolLM2-135M-Instruct Q4_1, fetched on first use).") var model: String?
    @Option(help: "The model id clients use (default: the file name without .gguf).") var alias: String?
    @Option(help: "Serve every *.gguf in this folder (symbolic links followed), named by file name without .gguf.")
    var modelsDir: String?
    @Option(help: "A YAML file listing models and server settings (Docs/LibreChat.md, \"Several models\").")
    var config: String?
    @Option(help: "Models loaded at once (with --models-dir/--config); the least recently used idle one is unloaded.")
    var maxLoaded: Int?
    @Option(help: "Bytes the loaded models may take (file + KV cache + scratch), e.g. 8G or 512M.")
    var maxMemory: String?
    @Option(help: "Seconds without a request after which a model is unloaded.")
    var idleUnload: Double?
    @Option(help: "The model that answers requests naming a model that is not served (e.g. LibreChat's titles).")
    var defaultModel: String?
    @Option(help: "Address to listen on (default 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on (default 8080).") var port: Int?
    @Option(name: .customLong("api-key"),
            help: "Require 'Authorization: Bearer KEY' on every route but /health (also from SWIFTLET_API_KEY).")
    var apiKey: String?
    @Option(help: "Requests generating at once per model; more wait in a queue. KV memory is --ctx × --parallel.")
    var parallel: Int?
    @Option(help: ArgumentHelp("Context of each sequence, in tokens (default 4096; with --models-dir/--config, "
                               + "the trained context up to 4096)."))
    var ctx: Int?
    @Flag(help: "Allow a --ctx longer than the context the model was trained for (output degrades past it).")
    var ctxBeyondTraining = false
    @Option(help: "Worker threads (default 2).") var threads: Int?
    @Option(name: .customLong("cache-ram"), help: ArgumentHelp(
        "MiB of host memory, per model, for the KV prefixes of sequences whose slot went to another prompt; a "
            + "later prompt sharing one restores it instead of evaluating it again (0: off; default 2048).",
        valueName: "MiB"))
    var cacheRAM: Int = Swiftlet.Model.LoadOptions.defaultPromptCacheBytes >> 20
    @OptionGroup var cacheTypes: CacheTypeFlags
    @Option(help: "Seconds a client has from a request's first byte to the end of its header (then 408; default 10).")
    var headerTimeout: Double?
    @Option(help: "Seconds a client has from the end of a request's header to the end of its body (default 30).")
    var bodyTimeout: Double?
    @Option(help: "Seconds a connection may stay open with no request in progress (default 30).")
    var idleTimeout: Double?
    @Option(help: "Connections open at once; one more is answered 503 (default 256).")
    var maxConnections: Int?
    @Option(help: "Seconds shutdown waits for running requests before cutting them short (default 10).")
    var drainTimeout: Double?
    @Option(help: "Answer browsers from this origin ('*' for any) with CORS headers and preflight; off by default.")
    var corsOrigin: String?
    @Option(help: "trace, debug, info (one line per request), notice, warning, error or critical (default info).")
    var logLevel: String?

    func validate() throws {
        if model != nil, modelsDir != nil || config != nil {
            throw ValidationError("--model serves one model; give --models-dir or --config instead, not both")
        }
        if let maxMemory, ServeConfiguration.bytes(maxMemory) == nil {
            throw ValidationError("--max-memory takes a number of bytes such as 8G, 512M or 1073741824")
        }
        if let maxLoaded, maxLoaded < 1 { throw ValidationError("--max-loaded must be at least 1") }
        guard (0...(1 << 24)).contains(cacheRAM) else { throw ValidationError("--cache-ram must be 0...16777216 MiB") }
        if let idleUnload, !(idleUnload.isFinite && idleUnload > 0) {
            throw ValidationError("--idle-unload must be a number of seconds above 0")
        }
        // The flags alone; run() checks them again merged with the --config file's settings.
        try settings(ServeConfiguration()).check()
    }

    /// The settings in force: flags, else the file's, else the defaults.
    struct Settings {
        var host = "127.0.0.1", port = 8080, apiKey: String?, parallel: Int?, ctx: Int?, threads = 2
        var headerTimeout = 10.0, bodyTimeout = 30.0, idleTimeout = 30.0, maxConnections = 256, drainTimeout = 10.0
        var corsOrigin: String?, logLevel = "info"
        var maxLoaded: Int?, maxMemory: Int?, idleUnload: Double?, defaultModel: String?, modelsDir: String?

        func check() throws {
            guard (1...65535).contains(port) else { throw ValidationError("--port must be 1...65535") }
            if let parallel, !(1...64).contains(parallel) { throw ValidationError("--parallel must be 1...64") }
            if let ctx { guard ctx >= 16 else { throw ValidationError("--ctx must be at least 16") } }
            guard (1...256).contains(threads) else { throw ValidationError("--threads must be 1...256") }
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

        var limits: ServerLimits {
            func duration(_ seconds: Double) -> Duration { .milliseconds(Int64((seconds * 1000).rounded())) }
            return ServerLimits(headerTimeout: duration(headerTimeout), bodyTimeout: duration(bodyTimeout),
                                idleTimeout: duration(idleTimeout), maxConnections: maxConnections,
                                drainTimeout: duration(drainTimeout))
        }
    }

    func settings(_ file: ServeConfiguration) -> Settings {
        var s = Settings()
        s.host = host ?? file.host ?? s.host
        s.port = port ?? file.port ?? s.port
        s.apiKey = apiKey ?? file.apiKey
        s.parallel = parallel ?? file.parallel
        s.ctx = ctx ?? file.contextLength
        s.threads = threads ?? file.threads ?? s.threads
        s.headerTimeout = headerTimeout ?? file.headerTimeout ?? s.headerTimeout
        s.bodyTimeout = bodyTimeout ?? file.bodyTimeout ?? s.bodyTimeout
        s.idleTimeout = idleTimeout ?? file.idleTimeout ?? s.idleTimeout
        s.maxConnections = maxConnections ?? file.maxConnections ?? s.maxConnections
        s.drainTimeout = drainTimeout ?? file.drainTimeout ?? s.drainTimeout
        s.corsOrigin = corsOrigin ?? file.corsOrigin
        s.logLevel = logLevel ?? file.logLevel ?? s.logLevel
        s.maxLoaded = maxLoaded ?? file.maxLoaded
        s.maxMemory = maxMemory.flatMap(ServeConfiguration.bytes) ?? file.maxMemory
        s.idleUnload = idleUnload ?? file.idleUnload
        s.defaultModel = defaultModel ?? file.defaultModel
        s.modelsDir = modelsDir ?? file.modelsDirectory
        return s
    }

    func run() async throws {
        try await reportingErrorsAsync {
            let file = try config.map { path throws in try ServeConfiguration.load(path: path) } ?? ServeConfiguration()
            let settings = settings(file)
            try settings.check()
            let level = Logger.Level(rawValue: settings.logLevel) ?? .info
            LoggingSystem.bootstrap { label in StderrLogHandler(label: label, level: level) }
            let key = settings.apiKey ?? ProcessInfo.processInfo.environment["SWIFTLET_API_KEY"]
            let endpoints: SwiftletEndpoints
            let what: String, detail: String
            if config == nil && modelsDir == nil {
                let path = try model ?? DefaultModel.path()
                let parallel = settings.parallel ?? 1
                let options = Swiftlet.Model.LoadOptions(contextLength: settings.ctx ?? 4096, parallel: parallel,
                                                         threads: settings.threads,
                                                         allowContextBeyondTraining: ctxBeyondTraining,
                                                         promptCacheBytes: cacheRAM << 20,
                                                         keyCacheType: cacheTypes.cacheTypeK.facade,
                                                         valueCacheType: cacheTypes.cacheTypeV.facade)
                let loaded = try await Swiftlet.Model.load(path, options: options)
                let provider = ChatProvider(model: loaded, modelID: alias)
                endpoints = SwiftletEndpoints(provider: provider, apiKey: key, logger: Logger(label: "swiftlet.server"))
                what = provider.modelID
                detail = loaded.isEmbeddingModel
                    ? "embeddings of \(loaded.embeddingLength) floats, up to \(loaded.contextLength) tokens per input, "
                    : "context \(loaded.contextLength) × \(parallel) sequences, "
            } else {
                let registry = try makeRegistry(file, settings)
                endpoints = SwiftletEndpoints(models: registry, apiKey: key, logger: Logger(label: "swiftlet.server"))
                let count = registry.entries.count
                what = "\(count) model\(count == 1 ? "" : "s") (" + registry.names.joined(separator: ", ") + ")"
                detail = "each loaded when first asked for, "
            }
            let server = SwiftletHTTPServer(endpoints: endpoints, host: settings.host, port: settings.port,
                                            limits: settings.limits, corsOrigin: settings.corsOrigin)
            do {
                try await server.run { host, port in
                    let access = key == nil ? "no API key" : "API key required"
                    printError("swiftlet: serving \(what) on http://\(host):\(port)/v1 (\(detail)\(access))")
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

    /// The registry of --models-dir and --config: the file's models first, then the folder's *.gguf files
    /// whose name or file the file does not list already.
    func makeRegistry(_ file: ServeConfiguration, _ settings: Settings) throws -> ModelRegistry {
        func options(_ m: ServeConfiguration.ModelSettings?) -> Swiftlet.Model.LoadOptions {
            Swiftlet.Model.LoadOptions(contextLength: m?.contextLength ?? settings.ctx,
                                       parallel: m?.parallel ?? settings.parallel ?? 1,
                                       threads: m?.threads ?? settings.threads,
                                       allowContextBeyondTraining: m?.allowContextBeyondTraining ?? ctxBeyondTraining,
                                       promptCacheBytes: cacheRAM << 20,
                                       keyCacheType: cacheTypes.cacheTypeK.facade,
                                       valueCacheType: cacheTypes.cacheTypeV.facade)
        }
        var entries = file.models.map { m in
            ModelRegistry.Entry(name: m.name, path: m.path, aliases: m.aliases, options: options(m),
                                sampling: m.sampling)
        }
        if let dir = settings.modelsDir {
            let taken = Set(entries.flatMap { [$0.name] + $0.aliases })
            func target(_ path: String) -> String { URL(fileURLWithPath: path).resolvingSymlinksInPath().path }
            let files = Set(entries.map { target($0.path) })
            for entry in try ModelRegistry.entries(inDirectory: dir, options: options(nil))
            where !taken.contains(entry.name) && !files.contains(target(entry.path)) {
                entries.append(entry)
            }
        }
        guard !entries.isEmpty else {
            throw CLIError(settings.modelsDir.map { "\($0) holds no .gguf file" }
                           ?? "the configuration lists no models")
        }
        let limits = ModelRegistry.Limits(
            maxLoaded: settings.maxLoaded, maxMemory: settings.maxMemory,
            idleUnload: settings.idleUnload.map { .milliseconds(Int64(($0 * 1000).rounded())) })
        return try ModelRegistry(entries, defaultModel: settings.defaultModel, limits: limits)
    }
}
