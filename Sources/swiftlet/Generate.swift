import ArgumentParser
import Foundation
import Swiftlet
import SwiftletGGUF
import SwiftletGrammar
import SwiftletModel
import SwiftletSampling
import SwiftletTokenizer

/// `swiftlet generate`: raw completion of a prompt (no chat template).
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a prompt with a model (raw completion, no chat template).")

    @Option(help: "The GGUF model file.") var model: String
    @Option(help: "The prompt text (tokenized with BOS per the model's metadata, special tokens parsed).") var prompt: String
    @Option(name: .short, help: "Tokens to generate at most.") var n: Int = 64
    @Option(help: "Sampling temperature; 0 is greedy.") var temp: Double = 0
    @Option(help: "Random seed for temperature sampling.") var seed: UInt64 = 0
    @Option(help: "Context length (KV-cache positions).") var ctx: Int = 2048
    @Flag(help: "Allow a --ctx longer than the context the model was trained for (output degrades past it).")
    var ctxBeyondTraining = false
    @Option(help: "Worker threads.") var threads: Int = 2
    @Option(help: "Dump named intermediate activations (attn_norm-0.f32, …) into this directory (slow; debugging).")
    var dump: String?
    @Flag(help: "Print one JSON object with prompt tokens, generated tokens, text, timings and peak RSS.") var json = false
    @OptionGroup var constraint: ConstraintFlags
    @OptionGroup var cacheTypes: CacheTypeFlags

    func validate() throws {
        guard n >= 0 else { throw ValidationError("-n must be at least 0") }
        guard temp >= 0, temp.isFinite else { throw ValidationError("--temp must be a finite number ≥ 0") }
        guard ctx > 0 else { throw ValidationError("--ctx must be positive") }
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
    }

    func run() throws {
        try reportingErrors {
            let t0 = ProcessStats.now()
            let file = try GGUFFile(path: model)
            let lm = try Transformer(file: file, threads: threads, dumpDirectory: dump ?? ProcessInfo.processInfo.environment["SWIFTLET_DUMP"])
            do { try lm.checkContext(ctx, allowBeyondTraining: ctxBeyondTraining) } catch {
                throw CLIError("\(error); pass --ctx-beyond-training to go on")
            }
            let tokenizer = try Tokenizer(metadata: file.metadata)
            let promptTokens = tokenizer.encode(prompt)
            guard !promptTokens.isEmpty else { throw CLIError("the prompt tokenized to nothing") }
            guard promptTokens.count + n <= ctx else {
                throw CLIError("prompt (\(promptTokens.count) tokens) plus -n \(n) exceeds --ctx \(ctx)")
            }
            let md = file.metadata
            let endTokens = EndOfGeneration.tokenIDs(
                tokens: md["tokenizer.ggml.tokens"]?.typedArray?.strings ?? [],
                declared: ["eos", "eot", "eom"].map { md["tokenizer.ggml.\($0)_token_id"]?.int })
            var grammar = try matcher(tokenizer: tokenizer, endOfGeneration: endTokens)
            let cache = try lm.makeCache(context: ctx, keyStorage: cacheTypes.cacheTypeK.storage,
                                         valueStorage: cacheTypes.cacheTypeV.storage)
            let loaded = ProcessStats.now()

            var logits = try lm.forward(promptTokens, cache: cache)
            let prompted = ProcessStats.now()
            var parameters = temp == 0 ? SamplingParameters.greedy : SamplingParameters()
            parameters.temperature = Float(temp)
            parameters.seed = seed
            var sampler = try Sampler(parameters: parameters)
            var generated: [Int] = []
            var shown = ""
            while generated.count < n {
                let next: Int
                if var g = grammar {
                    guard let chosen = sampler.sample(&logits, history: promptTokens + generated,
                                                      isAllowed: { g.allows($0) }, restrict: { g.mask(&$0) })
                    else { break }
                    if !endTokens.contains(chosen) { try g.accept(chosen) }
                    grammar = g
                    next = chosen
                } else {
                    next = sampler.sample(&logits, history: promptTokens + generated)
                }
                generated.append(next)
                if endTokens.contains(next) { break }
                if !json {
                    // Print the text as it grows, holding back an incomplete UTF-8 sequence.
                    let text = tokenizer.decode(generated)
                    if !text.hasSuffix("\u{FFFD}"), text.hasPrefix(shown) {
                        FileHandle.standardOutput.write(Data(text.dropFirst(shown.count).utf8))
                        shown = text
                    }
                }
                guard generated.count < n else { break }
                logits = try lm.forward([next], cache: cache)
            }
            let done = ProcessStats.now()
            let textTokens = generated.filter { !endTokens.contains($0) }
            let text = tokenizer.decode(textTokens)
            let decodeCount = max(0, generated.count - 1)
            let timings: [(String, String)] = [
                ("load_seconds", JSONText.number(loaded - t0)),
                ("prompt_tokens", String(promptTokens.count)),
                ("prompt_seconds", JSONText.number(prompted - loaded)),
                ("prompt_tokens_per_second", JSONText.number(Double(promptTokens.count) / max(prompted - loaded, 1e-9))),
                ("generated_tokens", String(generated.count)),
                ("generation_seconds", JSONText.number(done - prompted)),
                ("generation_tokens_per_second", JSONText.number(Double(decodeCount) / max(done - prompted, 1e-9))),
            ]
            if json {
                print(JSONText.object([
                    ("prompt_tokens", JSONText.array(promptTokens.map(String.init))),
                    ("tokens", JSONText.array(generated.map(String.init))),
                    ("text", JSONText.string(text)),
                    ("timings", JSONText.object(timings)),
                    ("kv_cache_bytes", String(cache.byteCount)),
                    ("peak_rss_bytes", ProcessStats.peakResidentBytes().map(String.init) ?? "null"),
                ]))
            } else {
                if text.hasPrefix(shown) { FileHandle.standardOutput.write(Data(text.dropFirst(shown.count).utf8)) }
                print("")
                printError(String(format: "prompt: %d tokens in %.2f s; generated %d tokens, %.2f tokens/s",
                                  promptTokens.count, prompted - loaded, generated.count,
                                  Double(decodeCount) / max(done - prompted, 1e-9)))
            }
        }
    }

    /// The grammar `--grammar-file` or `--json-schema` asks for, over this model's tokens.
    func matcher(tokenizer: Tokenizer, endOfGeneration: Set<Int>) throws -> GrammarMatcher? {
        let (text, schema) = try constraint.load()
        guard let gbnf = try text ?? schema.map({ try JSONSchemaGrammar.gbnf(for: $0) }) else { return nil }
        return try GrammarMatcher(grammar: Grammar(gbnf, tokenizer: tokenizer),
                                  vocabulary: GrammarVocabulary(tokenizer: tokenizer, endOfGeneration: endOfGeneration))
    }
}
