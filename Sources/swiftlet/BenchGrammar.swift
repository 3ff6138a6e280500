import Foundation
import Swiftlet

/// `swiftlet bench --grammar-file F`: what a grammar costs. Generates `-n` tokens after the same raw prompt
/// through the facade (no chat template, so no stop strings), free and under the grammar, alternately,
/// and prints the median tokens/s of each and their ratio. End-of-generation tokens are banned in both, so both runs generate the same number of
/// tokens (the grammar must allow at least `-n`).
enum BenchGrammar {
    static let prompt = "Write a long story about a dragon who learns to read, and the knight who teaches her."

    static func run(model path: String, grammar: String, tokens: Int, threads: Int, repetitions: Int) async throws {
        let model = try await Swiftlet.Model.load(path, options: .init(contextLength: 2048, parallel: 1,
                                                                         threads: threads))
        var sampling = SamplingParameters.greedy
        for id in model.endOfGenerationIDs { sampling.logitBias[id] = -.infinity }
        let free = GenerationOptions(maxTokens: tokens, sampling: sampling)
        var constrained = free
        constrained.grammar = grammar
        var rates: (free: [Double], constrained: [Double]) = ([], [])
        // Repetition 0 warms up (and builds the grammar's vocabulary trie).
        for rep in 0...repetitions {
            for (options, isConstrained) in [(free, false), (constrained, true)] {
                var summary: GenerationSummary?
                for try await event in try model.complete(prompt, options: options) {
                    if case .finished(let s) = event { summary = s }
                }
                guard let summary else { throw CLIError("the generation ended without a summary") }
                guard summary.completionTokens == tokens else {
                    let run = isConstrained ? "constrained" : "free"
                    throw CLIError("\(run) run generated \(summary.completionTokens) "
                                   + "tokens, not \(tokens): the grammar must allow at least -n tokens")
                }
                if rep > 0 {
                    if isConstrained { rates.constrained.append(summary.tokensPerSecond) } else {
                        rates.free.append(summary.tokensPerSecond)
                    }
                }
            }
        }
        let f = median(rates.free), c = median(rates.constrained)
        print("| model | tokens | free (tokens/s) | grammar (tokens/s) | ratio |")
        print("| --- | ---: | ---: | ---: | ---: |")
        print(String(format: "| %@ | %d | %.1f | %.1f | %.3f |", model.id, tokens, f, c, c / max(f, 1e-9)))
    }

    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        guard !s.isEmpty else { return 0 }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
