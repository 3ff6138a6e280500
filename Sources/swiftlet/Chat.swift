import ArgumentParser
import Foundation
import Swiftlet
import SwiftletChat
import SwiftletGrammar
import SwiftletSampling

/// Sampling flags shared by the commands that generate.
struct SamplingFlags: ParsableArguments {
    @Option(help: "Temperature; 0 is greedy.") var temp: Float = 0.8
    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0: all).") var topK: Int = 40
    @Option(name: .customLong("top-p"), help: "Nucleus sampling threshold (1: off).") var topP: Float = 0.95
    @Option(name: .customLong("min-p"), help: "Drop tokens below min-p × the top probability (0: off).") var minP: Float = 0.05
    @Option(name: .customLong("repeat-penalty"), help: "Repetition penalty (1: off).") var repeatPenalty: Float = 1.0
    @Option(help: "Random seed.") var seed: UInt64?
    @Option(name: .shortAndLong, help: "Most tokens to generate per reply.") var n: Int?
    @OptionGroup var constraint: ConstraintFlags

    func options() throws -> GenerationOptions {
        var p = SamplingParameters()
        p.temperature = temp
        p.topK = topK
        p.topP = topP
        p.minP = minP
        p.repeatPenalty = repeatPenalty
        if let seed { p.seed = seed }
        try p.validate()
        if let n, n < 1 { throw CLIError("-n must be at least 1, got \(n)") }
        var options = GenerationOptions(maxTokens: n, sampling: p)
        (options.grammar, options.jsonSchema) = try constraint.load()
        return options
    }
}

/// `--grammar-file` and `--json-schema`: what the output must look like.
struct ConstraintFlags: ParsableArguments {
    @Option(name: .customLong("grammar-file"), help: ArgumentHelp(
        "Constrain the output to a GBNF grammar (llama.cpp's format) read from this file.", valueName: "file"))
    var grammarFile: String?
    @Option(name: .customLong("json-schema"), help: ArgumentHelp(
        "Constrain the output to JSON following the JSON schema in this file.", valueName: "file"))
    var jsonSchema: String?

    /// The grammar text and the parsed schema the flags name (checked: both at once is an error).
    func load() throws -> (grammar: String?, schema: JSONValue?) {
        if grammarFile != nil, jsonSchema != nil { throw CLIError("give --grammar-file or --json-schema, not both") }
        func read(_ path: String) throws -> String {
            do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw CLIError("cannot read \(path): \(error.localizedDescription)")
            }
        }
        let grammar = try grammarFile.map(read)
        let schema = try jsonSchema.map { path -> JSONValue in
            do { return try JSONValue(parsing: try read(path)) } catch let error as GrammarError {
                throw CLIError("\(path) is not JSON: \(error)")
            }
        }
        return (grammar, schema)
    }
}

/// `swiftlet chat`: talk to a model in the terminal, interactively or one-shot with `--prompt`.
struct Chat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Chat with a model (interactive, or one-shot with --prompt).")

    @Option(help: "GGUF model file (default: SmolLM2-135M-Instruct Q4_1, fetched on first use).") var model: String?
    @Option(help: "System message.") var system: String?
    @Option(help: "Send this one message, print the reply and exit.") var prompt: String?
    @Option(help: "Context length per conversation.") var ctx: Int = 2048
    @Flag(help: "Allow a --ctx longer than the context the model was trained for (output degrades past it).")
    var ctxBeyondTraining = false
    @Option(help: "Threads.") var threads: Int = 2
    @OptionGroup var sampling: SamplingFlags
    @OptionGroup var cacheTypes: CacheTypeFlags

    func run() async throws {
        try await reportingErrorsAsync {
            let options = try sampling.options()
            let path = try model ?? DefaultModel.path()
            let loaded = try await Swiftlet.Model.load(path, options: .init(contextLength: ctx, parallel: 1, threads: threads,
                                                                           allowContextBeyondTraining: ctxBeyondTraining,
                                                                           keyCacheType: cacheTypes.cacheTypeK.facade,
                                                                           valueCacheType: cacheTypes.cacheTypeV.facade))
            let session = loaded.session(system: system)
            if let prompt {
                try await Chat.reply(session, prompt, options)
                return
            }
            printError("Chatting with \(loaded.id). End input (Ctrl-D) to quit.")
            while true {
                FileHandle.standardError.write(Data("> ".utf8))
                guard let line = readLine(strippingNewline: true) else { break }
                if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                do {
                    try await Chat.reply(session, line, options)
                } catch let error as SwiftletError {
                    // A turn the model cannot take (the conversation outgrew the context…) ends that
                    // turn, not the chat.
                    printError("error: \(error)")
                }
            }
        }
    }

    static func reply(_ session: ChatSession, _ text: String, _ options: GenerationOptions) async throws {
        for try await event in try session.send(text, options: options) {
            switch event {
            case .text(let delta):
                FileHandle.standardOutput.write(Data(delta.utf8))
            case .reasoning(let delta):
                // Thinking goes to standard error, so the answer alone can be piped.
                FileHandle.standardError.write(Data(delta.utf8))
            case .toolCallDelta:
                break
            case .toolCall(let call):
                FileHandle.standardOutput.write(Data("[tool call \(call.name) \(call.arguments)]".utf8))
            case .finished(let s):
                FileHandle.standardOutput.write(Data("\n".utf8))
                printError(String(format: "[%d prompt tokens (%d cached), %d generated, %.1f tokens/s, first token %.0f ms, %@]",
                                  s.promptTokens, s.cachedPromptTokens, s.completionTokens, s.tokensPerSecond,
                                  s.timeToFirstToken * 1000, s.finishReason.rawValue))
            }
        }
    }
}

/// The default model: SmolLM2-135M-Instruct Q4_1 in the model cache, fetched by Scripts/fetch-models.sh.
enum DefaultModel {
    static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"

    static func path() throws -> String {
        let dir = ProcessInfo.processInfo.environment["SWIFTLET_MODELS"].flatMap { $0.isEmpty ? nil : $0 }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/swiftlet/models").path
        let path = dir + "/" + fileName
        if FileManager.default.fileExists(atPath: path) { return path }
        printError("fetching the default model into \(dir)…")
        let script = scriptPath()
        guard FileManager.default.isExecutableFile(atPath: script) else {
            throw CLIError("the default model is not in \(dir) and Scripts/fetch-models.sh was not found; run it from the Swiftlet checkout or pass --model")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: script)
        process.arguments = ["smollm2"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0, FileManager.default.fileExists(atPath: path) else {
            throw CLIError("fetching the default model failed (Scripts/fetch-models.sh exit status \(process.terminationStatus))")
        }
        return path
    }

    /// Scripts/fetch-models.sh beside the checkout this binary was built in (…/.build/release/swiftlet).
    static func scriptPath() -> String {
        let exe = URL(fileURLWithPath: CommandLine.arguments[0])
        let root = exe.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidate = root.appendingPathComponent("Scripts/fetch-models.sh").path
        if FileManager.default.fileExists(atPath: candidate) { return candidate }
        return FileManager.default.currentDirectoryPath + "/Scripts/fetch-models.sh"
    }
}
