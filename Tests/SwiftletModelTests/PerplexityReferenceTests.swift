import Foundation
import Testing
import SwiftletTestSupport
import SwiftletModel

/// llama-perplexity -c 512 on shared/reference/ppl_text_gpl3_first20k.txt (README there): SmolLM2
/// Q4_1 18.3800, Gemma 3 Q4_K_M 14.9498. The text's token ids are fixtures made by an independent
/// tokenizer that matches llama-tokenize (Tests/python/reference_tokenize.py), so this checks the
/// forward pass and the procedure alone.
@Suite(.serialized) struct PerplexityReferenceTests {
    func ids(_ name: String) throws -> [Int] {
        let text = try String(contentsOf: TestPaths.fixtures.appendingPathComponent("reference/\(name)"), encoding: .utf8)
        return text.split(whereSeparator: { $0 == "," || $0 == "\n" }).compactMap { Int($0) }
    }

    @Test func smollm2() throws {
        let model = try Model(path: try TestPaths.model(TestPaths.smollm2), threads: 2)
        let r = try evaluatePerplexity(model: model, tokens: try ids("ppl_gpl3_first20k.smollm2.ids"), context: 512, bos: nil)
        print("[perplexity] SmolLM2 Q4_1: \(r.perplexity) (llama.cpp 18.3800) over \(r.chunks) chunks")
        #expect(r.chunks == 8)
        #expect(abs(r.perplexity / 18.3800 - 1) < 0.005)
    }

    @Test func gemma3() throws {
        let model = try Model(path: try TestPaths.model(TestPaths.gemma3), threads: 2)
        let r = try evaluatePerplexity(model: model, tokens: try ids("ppl_gpl3_first20k.gemma3.ids"), context: 512, bos: 2)
        print("[perplexity] Gemma 3 Q4_K_M: \(r.perplexity) (llama.cpp 14.9498) over \(r.chunks) chunks")
        #expect(r.chunks == 8)
        #expect(abs(r.perplexity / 14.9498 - 1) < 0.005)
    }
}
