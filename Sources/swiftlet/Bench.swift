import ArgumentParser
import Foundation
import SwiftletGGUF
import SwiftletKernels
import SwiftletModel

/// `swiftlet bench`: prompt-processing and generation speed with llama-bench's conventions, so the two
/// can be compared like with like.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure prompt processing and generation speed (llama-bench conventions).")

    @Option(name: .shortAndLong, help: "Model file(s), comma-separated.") var model: String = ""
    @Option(name: .short, help: "Prompt lengths to test, comma-separated; 0 skips the prompt test.") var p: String = "512"
    @Option(name: .short, help: "Tokens to generate; 0 skips the generation test.") var n: String = "128"
    @Option(name: .short, help: "Context depth(s) already in the cache before each test, comma-separated.") var d: String = "0"
    @Option(name: .short, help: "Thread counts, comma-separated.") var t: String = "2"
    @Option(name: .short, help: "Repetitions of each test.") var r: Int = 5
    @Option(name: .short, help: "Output format: md, json or csv.") var o: String = "md"
    @Option(name: .short, help: "Prompt batch size.") var b: Int = 512
    @Option(help: ArgumentHelp(
        "Sequences decoding together in the generation test, comma-separated (llama-batched-bench's -npl): "
            + "each step advances all of them in one forward pass; t/s counts every sequence's tokens.",
        valueName: "n"))
    var sequences: String = "1"
    @OptionGroup var cacheTypes: CacheTypeFlags
    @Flag(help: "Measure chat latency instead: load time, peak RSS, and time to first token of a ~500-token chat prompt and of the next turn (prefix reuse).")
    var chat = false
    @Option(name: .customLong("grammar-file"), help: ArgumentHelp(
        "Measure what a GBNF grammar costs instead: -n tokens after one prompt, free and constrained, alternately.",
        valueName: "file"))
    var grammarFile: String?
    @Flag(help: ArgumentHelp(
        "Measure the host's memory read bandwidth instead (GB/s on each -t thread count): decoding reads "
            + "every weight once per token, so bandwidth ÷ the bytes a token reads bounds a single stream's speed."))
    var bandwidth = false

    func validate() throws {
        if model.isEmpty && !bandwidth { throw ValidationError("Missing expected argument '--model <model>'") }
    }

    func run() async throws {
        if bandwidth {
            try reportingErrors {
                let threads = try Bench.parseList(t, flag: "-t")
                guard threads.allSatisfy({ (1...256).contains($0) }) else { throw CLIError("-t: thread counts must be 1...256") }
                for count in threads {
                    let rate = memoryReadBandwidth(repetitions: max(1, r), pool: ThreadPool(threads: count))
                    print(String(format: "read bandwidth, %d thread%@: %.1f GB/s", count, count == 1 ? "" : "s", rate / 1e9))
                }
            }
            return
        }
        if let grammarFile {
            try await reportingErrorsAsync {
                let threads = try Bench.parseList(t, flag: "-t")
                let tokens = try Bench.parseList(n, flag: "-n")
                guard let count = threads.first, (1...256).contains(count) else {
                    throw CLIError("-t: thread counts must be 1...256")
                }
                guard let n = tokens.first, n >= 1 else { throw CLIError("-n: give a number of tokens ≥ 1") }
                guard r >= 1 else { throw CLIError("-r: repetitions must be at least 1") }
                let grammar: String
                do { grammar = try String(contentsOfFile: grammarFile, encoding: .utf8) } catch {
                    throw CLIError("cannot read \(grammarFile): \(error.localizedDescription)")
                }
                try await BenchGrammar.run(model: model, grammar: grammar, tokens: n, threads: count, repetitions: r)
            }
            return
        }
        if chat {
            try await reportingErrorsAsync {
                let threads = try Bench.parseList(t, flag: "-t")
                guard let count = threads.first, (1...256).contains(count) else { throw CLIError("-t: thread counts must be 1...256") }
                guard ["md", "json"].contains(o) else { throw CLIError("-o: --chat prints md or json, got '\(o)'") }
                try await BenchChat.run(models: model.split(separator: ",").map(String.init), threads: count,
                                        repetitions: r, json: o == "json")
            }
            return
        }
        try reportingErrors {
            let prompts = try Bench.parseList(p, flag: "-p")
            let gens = try Bench.parseList(n, flag: "-n")
            let depths = try Bench.parseList(d, flag: "-d")
            let threads = try Bench.parseList(t, flag: "-t")
            let sequenceCounts = try Bench.parseList(sequences, flag: "--sequences")
            guard sequenceCounts.allSatisfy({ (1...64).contains($0) }) else {
                throw CLIError("--sequences: counts must be 1...64")
            }
            guard threads.allSatisfy({ $0 >= 1 && $0 <= 256 }) else { throw CLIError("-t: thread counts must be 1...256") }
            guard r >= 1 else { throw CLIError("-r: repetitions must be at least 1") }
            guard b >= 1 else { throw CLIError("-b: batch size must be at least 1") }
            guard ["md", "json", "csv"].contains(o) else { throw CLIError("-o: expected md, json or csv, got '\(o)'") }
            let models = model.split(separator: ",").map(String.init)
            guard !models.isEmpty else { throw CLIError("-m: no model given") }

            var results: [BenchResult] = []
            for path in models {
                let file = try GGUFFile(path: path)
                let type = Bench.modelType(file)
                for threadCount in threads {
                    let engine = try Transformer(file: file, threads: threadCount)
                    let vocab = engine.config.vocabularySize
                    var tests: [(prompt: Int, gen: Int, depth: Int, sequences: Int)] = []
                    for depth in depths {
                        for prompt in prompts where prompt > 0 { tests.append((prompt, 0, depth, 1)) }
                        for gen in gens where gen > 0 {
                            for count in sequenceCounts { tests.append((0, gen, depth, count)) }
                        }
                    }
                    for test in tests {
                        let context = test.depth + test.prompt + test.gen + 1
                        let caches = try (0..<test.sequences).map { _ in
                            try engine.makeCache(context: context, maxBatch: b, keyStorage: cacheTypes.cacheTypeK.storage,
                                                 valueStorage: cacheTypes.cacheTypeV.storage)
                        }
                        var rng = SplitMix64(seed: 1234)
                        let randomTokens = { (count: Int) in (0..<count).map { _ in Int(rng.next() % UInt64(vocab)) } }
                        var samples: [Double] = []
                        // Repetition 0 is the warm-up and is not recorded.
                        for rep in 0...r {
                            for cache in caches {
                                cache.reset()
                                if test.depth > 0 { _ = try engine.forward(randomTokens(test.depth), cache: cache) }
                            }
                            let start = DispatchTime.now().uptimeNanoseconds
                            if test.prompt > 0 {
                                _ = try engine.forward(randomTokens(test.prompt), cache: caches[0])
                            } else {
                                // Each sequence starts from its own token; all advance in one pass per step.
                                var tokens = randomTokens(caches.count)
                                for _ in 0..<test.gen {
                                    tokens = try engine.decode(tokens, caches: caches).map(Bench.argmax)
                                }
                            }
                            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                            if rep > 0 { samples.append(Double(test.prompt + test.gen * test.sequences) / seconds) }
                        }
                        results.append(BenchResult(
                            modelFilename: URL(fileURLWithPath: path).lastPathComponent, modelType: type,
                            modelSize: file.tensorBytes, modelParameters: file.parameterCount,
                            nPrompt: test.prompt, nGen: test.gen, nDepth: test.depth, nThreads: threadCount,
                            nSequences: test.sequences, samples: samples))
                        if o == "md" { printError("\(results.last!.testName) t=\(threadCount): \(String(format: "%.2f", results.last!.mean)) t/s") }
                    }
                }
            }
            let env = BenchEnvironment.current()
            switch o {
            case "json": print(BenchFormatter.json(results, env: env))
            case "csv": print(BenchFormatter.csv(results, env: env))
            default: print(BenchFormatter.markdown(results, env: env))
            }
        }
    }

    static func parseList(_ text: String, flag: String) throws -> [Int] {
        let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !items.isEmpty else { throw CLIError("\(flag): expected a number or a comma-separated list") }
        return try items.map { item in
            guard let v = Int(item), v >= 0 else { throw CLIError("\(flag): '\(item)' is not a non-negative integer") }
            return v
        }
    }

    /// "llama 135M Q4_K - Medium"-style description, as llama-bench prints it: the file type from
    /// `general.file_type`, else the type holding most of the weight bytes.
    static func modelType(_ file: GGUFFile) -> String {
        let arch = file.metadata.architecture ?? "?"
        let size = file.metadata["general.size_label"]?.string ?? String(format: "%.0fM", Double(file.parameterCount) / 1e6)
        if let ftype = file.metadata["general.file_type"]?.int, let name = fileTypeNames[ftype] {
            return "\(arch) \(size) \(name)"
        }
        var counts: [GGMLType: Int] = [:]
        for t in file.tensors where t.shape.count >= 2 { counts[t.type, default: 0] += t.byteCount }
        let main = counts.max { $0.value < $1.value }?.key.name ?? "?"
        return "\(arch) \(size) \(main)"
    }

    /// llama.cpp's names for `general.file_type` values.
    static let fileTypeNames: [Int: String] = [
        0: "all F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K - Medium",
        11: "Q3_K - Small", 12: "Q3_K - Medium", 13: "Q3_K - Large", 14: "Q4_K - Small", 15: "Q4_K - Medium",
        16: "Q5_K - Small", 17: "Q5_K - Medium", 18: "Q6_K", 32: "BF16",
    ]

    static func argmax(_ logits: [Float]) -> Int {
        var best = 0
        for i in logits.indices where logits[i] > logits[best] { best = i }
        return best
    }
}
