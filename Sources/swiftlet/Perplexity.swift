import ArgumentParser
import Foundation
import SwiftletGGUF
import SwiftletModel
import SwiftletTokenizer

/// `swiftlet perplexity`: llama-perplexity's procedure on a text file.
struct Perplexity: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a model's perplexity on a text file (llama-perplexity's procedure).")

    @Option(help: "The GGUF model file.") var model: String
    @Option(help: "The text file.") var file: String
    @Option(help: "Context length of each chunk.") var ctx: Int = 512
    @Flag(help: "Allow a --ctx longer than the context the model was trained for (output degrades past it).")
    var ctxBeyondTraining = false
    @Option(help: "Worker threads.") var threads: Int = 2
    @OptionGroup var cacheTypes: CacheTypeFlags
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard ctx >= 4 else { throw ValidationError("--ctx must be at least 4") }
        guard threads > 0 else { throw ValidationError("--threads must be positive") }
    }

    func run() throws {
        try reportingErrors {
            let t0 = ProcessStats.now()
            guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
            let text = String(decoding: data, as: UTF8.self)
            let gguf = try GGUFFile(path: model)
            let lm = try Transformer(file: gguf, threads: threads)
            do { try lm.checkContext(ctx, allowBeyondTraining: ctxBeyondTraining) } catch {
                throw CLIError("\(error); pass --ctx-beyond-training to go on")
            }
            let tokenizer = try Tokenizer(metadata: gguf.metadata)
            // BOS per the metadata; special tokens in the text are not parsed (as llama-perplexity).
            let tokens = tokenizer.encode(text, parseSpecial: false)
            let bos = tokenizer.encode("", parseSpecial: false).first
            guard tokens.count >= 2 * ctx else {
                throw CLIError("\(file) has \(tokens.count) tokens; at least \(2 * ctx) are needed for --ctx \(ctx)")
            }
            let r = try evaluatePerplexity(model: lm, tokens: tokens, context: ctx, bos: bos,
                                           storage: cacheTypes.cacheTypeK.storage,
                                           valueStorage: cacheTypes.cacheTypeV.storage) { chunk, ppl in
                if !json { printError("[\(chunk + 1)] \(String(format: "%.4f", ppl))") }
            }
            let seconds = ProcessStats.now() - t0
            if json {
                print(JSONText.object([
                    ("perplexity", JSONText.number(r.perplexity)),
                    ("chunks", String(r.chunks)),
                    ("ctx", String(r.context)),
                    ("tokens", String(tokens.count)),
                    ("scored_tokens", String(r.scoredTokens)),
                    ("cache_type_k", JSONText.string(cacheTypes.cacheTypeK.rawValue)),
                    ("cache_type_v", JSONText.string(cacheTypes.cacheTypeV.rawValue)),
                    ("per_chunk", JSONText.array(r.perChunk.map { JSONText.number($0) })),
                    ("seconds", JSONText.number(seconds)),
                    ("peak_rss_bytes", ProcessStats.peakResidentBytes().map(String.init) ?? "null"),
                ]))
            } else {
                print(String(format: "perplexity %.4f over %d chunks of %d tokens", r.perplexity, r.chunks, r.context))
            }
        }
    }
}
