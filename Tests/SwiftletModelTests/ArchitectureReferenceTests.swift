import Foundation
import Testing
import SwiftletTestSupport
import SwiftletModel
import SwiftletKernels

/// llama.cpp's outputs on the random-weight model of each architecture (Scripts/make-architecture-fixtures.py
/// writes the models into $SWIFTLET_MODELS/architectures; Fixtures/reference/architectures/README.md says
/// how the references were recorded).
struct ArchitectureReference: Decodable, Sendable, CustomTestStringConvertible {
    struct Greedy: Decodable, Sendable { let n_ctx: Int }
    struct Prompt: Decodable, Sendable {
        let prompt: String
        let prompt_ids: [Int]
        let generated_ids: [Int]
        /// Per generated position: [[id, log p], [id, log p]] of llama.cpp's two most likely tokens.
        let top2: [[[Double]]]
    }
    struct Perplexity: Decodable, Sendable { let context: Int; let chunks: Int; let value: Double }
    let file: String
    let greedy: Greedy
    let prompts: [Prompt]
    let perplexity: Perplexity
    var testDescription: String { file }

    static let directory = TestPaths.reference.appendingPathComponent("architectures")

    static var all: [ArchitectureReference] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted().compactMap { name in
            let url = directory.appendingPathComponent(name)
            return try? JSONDecoder().decode(ArchitectureReference.self, from: Data(contentsOf: url))
        }
    }

    func modelPath() throws -> String { try TestPaths.model("architectures/" + file) }
}

@Suite(.serialized) struct ArchitectureReferenceTests {
    /// Teacher-forced (llama.cpp's ids fed back, the prompt as one batch, then one token at a time) and
    /// free-running greedy: every argmax equals llama.cpp's except where llama.cpp's own top-2 gap is
    /// under 0.1 nats and Swiftlet took the runner-up (after which a free-running path may leave the
    /// reference); llama.cpp's two log-probabilities to 2e-3 nats on AVX2 builds (the same arithmetic),
    /// 0.1 otherwise.
    @Test(arguments: ArchitectureReference.all)
    func greedyPathsMatchLlamaCpp(reference r: ArchitectureReference) throws {
        let model = try Transformer(path: try r.modelPath(), threads: 2)
        let tolerance = kernelsUseAVX2 ? 2e-3 : 0.1
        for p in r.prompts {
            let cache = try model.makeCache(context: r.greedy.n_ctx)
            var logits = try model.forward(p.prompt_ids, cache: cache)
            var diverged = false
            var maxDelta = 0.0
            for (i, theirs) in p.generated_ids.enumerated() {
                let lp = logits.withUnsafeBufferPointer { logSoftmax($0) }
                let ours = lp.indices.max { lp[$0] < lp[$1] }!
                let top = p.top2[i]
                if ours != theirs {
                    let nearTie = top.count == 2 && top[0][1] - top[1][1] < 0.1 && ours == Int(top[1][0])
                    #expect(nearTie, """
                        \(r.file) '\(p.prompt.prefix(20))' step \(i): Swiftlet \(ours) (log p \(lp[ours])), \
                        llama.cpp \(theirs) (Swiftlet gives it \(lp[theirs])); llama.cpp's top 2: \(top)
                        """)
                    diverged = true
                }
                for pair in top { maxDelta = max(maxDelta, abs(lp[Int(pair[0])] - pair[1])) }
                if i + 1 < p.generated_ids.count { logits = try model.forward([theirs], cache: cache) }
            }
            let what = "\(r.file) '\(p.prompt.prefix(20))'"
            #expect(maxDelta < tolerance, "\(what): |Δ log p| of llama.cpp's top 2 up to \(maxDelta)")
            print("[architectures] \(what): \(diverged ? "near-tie divergence" : "every argmax equal"), "
                  + "max |Δ log p| \(String(format: "%.5f", maxDelta))")
        }
    }

    /// llama-perplexity's figure: equal to its last printed digit on AVX2 builds, within 0.5% otherwise.
    @Test(arguments: ArchitectureReference.all)
    func perplexityMatchesLlamaCpp(reference r: ArchitectureReference) throws {
        let model = try Transformer(path: try r.modelPath(), threads: 2)
        let idsFile = TestPaths.reference.appendingPathComponent("ppl_gpl3_first20k.smollm2.ids")
        let text = try String(contentsOf: idsFile, encoding: .utf8)
        let ids = text.split(whereSeparator: { $0 == "," || $0 == "\n" }).compactMap { Int($0) }
        let result = try evaluatePerplexity(model: model, tokens: ids, context: r.perplexity.context, bos: nil)
        print("[architectures] \(r.file): perplexity \(result.perplexity) (llama.cpp \(r.perplexity.value))")
        #expect(result.chunks == r.perplexity.chunks)
        if kernelsUseAVX2 {
            #expect(abs(result.perplexity - r.perplexity.value) <= 0.00005 + 1e-9 * r.perplexity.value,
                    "\(r.file): \(result.perplexity) against llama.cpp's \(r.perplexity.value)")
        } else {
            #expect(abs(result.perplexity / r.perplexity.value - 1) < 0.005)
        }
    }
}
