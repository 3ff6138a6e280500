import Foundation
import Swiftlet
import Yams

/// `swiftlet serve --config FILE.yaml`: the models a server offers and its settings. Every field is
/// optional; command-line flags override the file's top-level settings. The format (Docs/LibreChat.md,
/// "Several models"):
///
/// ```yaml
/// port: 8080
/// max_loaded: 1
/// default_model: smollm2
/// models:
///   smollm2:
///     path: SmolLM2-135M-Instruct.Q4_1.gguf   # relative to this file's folder
///     aliases: [gpt-4o-mini]
///     ctx: 4096
///     sampling: {temperature: 0.7, top_p: 0.9}
/// ```
public struct ServeConfiguration: Sendable {
    /// One model of the `models:` mapping.
    public struct ModelSettings: Sendable {
        /// The mapping key: the name requests use.
        public var name: String
        /// The file, absolute (a relative path in the file is taken from the file's folder).
        public var path: String
        public var aliases: [String] = []
        /// `ctx`: positions per sequence.
        public var contextLength: Int?
        public var parallel: Int?
        public var threads: Int?
        /// `ctx_beyond_training`.
        public var allowContextBeyondTraining: Bool?
        /// `sampling:`: what requests that leave a setting out get.
        public var sampling: SamplingParameters?
        /// The line of the model's key, for messages.
        public var line: Int
    }

    public var host: String?
    public var port: Int?
    public var apiKey: String?
    public var threads: Int?
    /// `ctx` and `parallel` at the top: the default of every model.
    public var contextLength: Int?
    public var parallel: Int?
    public var maxLoaded: Int?
    /// `max_memory`: bytes, or a number with a K, M, G or T suffix (powers of 1024).
    public var maxMemory: Int?
    /// `idle_unload`: seconds.
    public var idleUnload: Double?
    public var defaultModel: String?
    /// `models_dir`: every `*.gguf` in it is served too (the `models:` entries win a name clash).
    public var modelsDirectory: String?
    public var headerTimeout: Double?
    public var bodyTimeout: Double?
    public var idleTimeout: Double?
    public var maxConnections: Int?
    public var drainTimeout: Double?
    public var corsOrigin: String?
    public var logLevel: String?
    public var models: [ModelSettings] = []

    public init() {}

    /// Reads the file at `path`.
    public static func load(path: String) throws(ServeConfigurationError) -> ServeConfiguration {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ServeConfigurationError(file: path, line: nil,
                                          message: "cannot read the file: \(error.localizedDescription)")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse(text, file: path, baseDirectory: folder)
    }

    /// Parses YAML `text`; `file` names it in messages, relative paths are taken from `baseDirectory`.
    /// Existence of the model files is checked.
    public static func parse(_ text: String, file: String = "<config>",
                             baseDirectory: String = ".") throws(ServeConfigurationError) -> ServeConfiguration {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            if case .duplicatedKeysInMapping(let duplicates, _)? = error as? YamlError, let key = duplicates.first {
                throw ServeConfigurationError(file: file, line: secondLine(of: key, in: text),
                                              message: "the key '\(key)' is given twice")
            }
            throw ServeConfigurationError(file: file, yaml: error)
        }
        guard let root else { throw ServeConfigurationError(file: file, line: 1, message: "the file is empty") }
        var reader = Reader(file: file, base: baseDirectory)
        return try reader.configuration(root)
    }

    /// The line of the second `key:` at the start of a line (Yams reports a repeated key without its line).
    static func secondLine(of key: String, in text: String) -> Int? {
        var seen = 0
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.drop { $0 == " " || $0 == "-" }
            guard trimmed.hasPrefix(key) else { continue }
            let rest = trimmed.dropFirst(key.count).drop { $0 == " " }
            if rest.hasPrefix(":") {
                seen += 1
                if seen == 2 { return number + 1 }
            }
        }
        return nil
    }

    /// Bytes from `8G`, `512M`, `1.5GiB`, `300k` or a plain number (suffixes are powers of 1024).
    public static func bytes(_ text: String) -> Int? {
        var digits = text.trimmingCharacters(in: .whitespaces).lowercased()
        for unit in ["ib", "b"] where digits.hasSuffix(unit) && digits.count > unit.count {
            digits.removeLast(unit.count)
            break
        }
        var scale = 1.0
        if let last = digits.last, let power = ["k": 1, "m": 2, "g": 3, "t": 4][last] {
            scale = pow(1024, Double(power))
            digits.removeLast()
        }
        guard let value = Double(digits), value.isFinite, value > 0 else { return nil }
        let bytes = (value * scale).rounded()
        return bytes < 9.2e18 ? Int(bytes) : nil
    }

    /// Walks the composed document, every error with the line of the node at fault.
    struct Reader {
        let file: String
        let base: String

        func fail(_ node: Node, _ message: String) -> ServeConfigurationError {
            ServeConfigurationError(file: file, line: node.mark?.line, message: message)
        }

        static let topKeys = ["host", "port", "api_key", "threads", "ctx", "parallel", "max_loaded", "max_memory",
                              "idle_unload", "default_model", "models_dir", "header_timeout", "body_timeout",
                              "idle_timeout", "max_connections", "drain_timeout", "cors_origin", "log_level",
                              "models"]
        static let modelKeys = ["path", "aliases", "ctx", "parallel", "threads", "ctx_beyond_training", "sampling"]
        static let samplingKeys = ["temperature", "top_p", "top_k", "min_p", "typical_p", "repeat_penalty",
                                   "presence_penalty", "frequency_penalty", "penalty_last_n"]

        /// The pairs of a mapping with string keys among `allowed`, each key once.
        func pairs(_ node: Node, allowed: [String]?,
                   what: String) throws(ServeConfigurationError) -> [(String, Node, Node)] {
            guard let mapping = node.mapping else { throw fail(node, "\(what) must be a mapping of keys to values") }
            var seen = Set<String>(), out: [(String, Node, Node)] = []
            for (key, value) in mapping {
                guard let name = key.scalar?.string else { throw fail(key, "\(what): a key must be a plain name") }
                if let allowed, !allowed.contains(name) {
                    throw fail(key, "unknown key '\(name)' in \(what) (expected one of: "
                               + allowed.joined(separator: ", ") + ")")
                }
                guard seen.insert(name).inserted else { throw fail(key, "the key '\(name)' is given twice in \(what)") }
                out.append((name, key, value))
            }
            return out
        }

        func string(_ node: Node, _ key: String) throws(ServeConfigurationError) -> String {
            guard let scalar = node.scalar else {
                throw fail(node, "'\(key)' must be a text value, got \(describe(node))")
            }
            if scalar.style == .plain, node.null != nil { throw fail(node, "'\(key)' needs a value") }
            return scalar.string
        }

        func int(_ node: Node, _ key: String, min: Int = 0) throws(ServeConfigurationError) -> Int {
            guard node.scalar != nil, let value = node.int else {
                throw fail(node, "'\(key)' must be a whole number, got \(describe(node))")
            }
            guard value >= min else { throw fail(node, "'\(key)' must be at least \(min), got \(value)") }
            return value
        }

        func number(_ node: Node, _ key: String) throws(ServeConfigurationError) -> Double {
            guard node.scalar != nil, let value = node.float ?? node.int.map(Double.init), value.isFinite else {
                throw fail(node, "'\(key)' must be a number, got \(describe(node))")
            }
            return value
        }

        func bool(_ node: Node, _ key: String) throws(ServeConfigurationError) -> Bool {
            guard node.scalar != nil, let value = node.bool else {
                throw fail(node, "'\(key)' must be true or false, got \(describe(node))")
            }
            return value
        }

        func seconds(_ node: Node, _ key: String) throws(ServeConfigurationError) -> Double {
            let value = try number(node, key)
            guard value > 0, value <= 86_400 * 365 else {
                throw fail(node, "'\(key)' must be a number of seconds above 0, got \(describe(node))")
            }
            return value
        }

        func describe(_ node: Node) -> String {
            if let scalar = node.scalar { return "'\(scalar.string)'" }
            return node.mapping != nil ? "a mapping" : "a list"
        }

        func path(_ text: String) -> String {
            let expanded = NSString(string: text).expandingTildeInPath
            return expanded.hasPrefix("/") ? expanded : URL(fileURLWithPath: base).appendingPathComponent(expanded).path
        }

        mutating func configuration(_ root: Node) throws(ServeConfigurationError) -> ServeConfiguration {
            var c = ServeConfiguration()
            for (key, _, value) in try pairs(root, allowed: Self.topKeys, what: "the file") {
                switch key {
                case "host": c.host = try string(value, key)
                case "port":
                    let port = try int(value, key, min: 1)
                    guard port <= 65535 else { throw fail(value, "'port' must be 1...65535, got \(port)") }
                    c.port = port
                case "api_key": c.apiKey = try string(value, key)
                case "threads": c.threads = try int(value, key, min: 1)
                case "ctx": c.contextLength = try int(value, key, min: 16)
                case "parallel": c.parallel = try int(value, key, min: 1)
                case "max_loaded": c.maxLoaded = try int(value, key, min: 1)
                case "max_memory":
                    let text = try string(value, key)
                    guard let bytes = ServeConfiguration.bytes(text) else {
                        throw fail(value, "'max_memory' must be a number of bytes such as 8G or 512M, got '\(text)'")
                    }
                    c.maxMemory = bytes
                case "idle_unload": c.idleUnload = try seconds(value, key)
                case "default_model": c.defaultModel = try string(value, key)
                case "models_dir":
                    let dir = path(try string(value, key))
                    var isDirectory: ObjCBool = false
                    guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), isDirectory.boolValue
                    else { throw fail(value, "'models_dir': \(dir) is not a folder") }
                    c.modelsDirectory = dir
                case "header_timeout": c.headerTimeout = try seconds(value, key)
                case "body_timeout": c.bodyTimeout = try seconds(value, key)
                case "idle_timeout": c.idleTimeout = try seconds(value, key)
                case "drain_timeout": c.drainTimeout = try seconds(value, key)
                case "max_connections": c.maxConnections = try int(value, key, min: 1)
                case "cors_origin": c.corsOrigin = try string(value, key)
                case "log_level": c.logLevel = try string(value, key)
                default: // "models"
                    if value.null != nil { break }
                    for (name, keyNode, settings) in try pairs(value, allowed: nil, what: "'models'") {
                        c.models.append(try model(name, keyNode, settings))
                    }
                }
            }
            return c
        }

        func model(_ name: String, _ keyNode: Node, _ node: Node) throws(ServeConfigurationError) -> ModelSettings {
            guard !name.isEmpty else { throw fail(keyNode, "a model has an empty name") }
            var settings = ModelSettings(name: name, path: "", line: keyNode.mark?.line ?? 0)
            var sawPath = false
            for (key, _, value) in try pairs(node, allowed: Self.modelKeys, what: "the model '\(name)'") {
                switch key {
                case "path":
                    settings.path = path(try string(value, key))
                    guard FileManager.default.fileExists(atPath: settings.path) else {
                        throw fail(value, "the model '\(name)': \(settings.path) does not exist")
                    }
                    sawPath = true
                case "aliases":
                    if let list = value.sequence {
                        for item in list { settings.aliases.append(try string(item, "aliases")) }
                    } else {
                        settings.aliases = [try string(value, key)]
                    }
                case "ctx": settings.contextLength = try int(value, key, min: 16)
                case "parallel": settings.parallel = try int(value, key, min: 1)
                case "threads": settings.threads = try int(value, key, min: 1)
                case "ctx_beyond_training": settings.allowContextBeyondTraining = try bool(value, key)
                default: settings.sampling = try sampling(value, model: name)
                }
            }
            guard sawPath else { throw fail(keyNode, "the model '\(name)' has no 'path'") }
            return settings
        }

        func sampling(_ node: Node, model: String) throws(ServeConfigurationError) -> SamplingParameters {
            var p = SamplingParameters()
            for (key, _, value) in try pairs(node, allowed: Self.samplingKeys, what: "the sampling of '\(model)'") {
                switch key {
                case "temperature": p.temperature = Float(try number(value, key))
                case "top_p": p.topP = Float(try number(value, key))
                case "top_k": p.topK = try int(value, key)
                case "min_p": p.minP = Float(try number(value, key))
                case "typical_p": p.typicalP = Float(try number(value, key))
                case "repeat_penalty": p.repeatPenalty = Float(try number(value, key))
                case "presence_penalty": p.presencePenalty = Float(try number(value, key))
                case "frequency_penalty": p.frequencyPenalty = Float(try number(value, key))
                default: p.penaltyLastN = try int(value, key)
                }
            }
            do { try p.validate() } catch { throw fail(node, "the sampling of '\(model)': \(error.description)") }
            return p
        }
    }
}

/// A configuration file that cannot be used: where (file and line) and why.
public struct ServeConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// 1-based; nil when the whole file is at fault (it cannot be read).
    public var line: Int?
    public var message: String

    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    init(file: String, yaml error: any Error) {
        self.file = file
        switch error as? YamlError {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
             .composer(_, let problem, let mark, _):
            line = mark.line
            message = "YAML syntax: \(problem)"
        case .reader(let problem, _, _, _):
            line = nil
            message = "YAML syntax: \(problem)"
        default:
            line = nil
            message = "YAML syntax: \(error)"
        }
    }

    public var description: String {
        line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)"
    }
}
