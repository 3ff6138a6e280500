import Foundation
import Testing
import SwiftletTestSupport
import SwiftletGGUF
import SwiftletModel
import SwiftletKernels

/// llama-perplexity -c 512 on Fixtures/reference/ppl_text_gpl3_first20k.txt, its figures in
/// Fixtures/reference/perplexity.json (the README there says how they were made). The text's token ids are fixtures made by an independent
/// tokenizer that matches llama-tokenize (Tests/python/reference_tokenize.py), so this checks the
/// forward pass and the procedure alone.
///
/// An AVX2 build takes llama.cpp's AVX2 build's order of operations (Docs/Numerics.md) and must give its
/// figures to their last printed digit; a portable build, within 0.5%.
@Suite(.serialized) struct PerplexityReferenceTests {
    func expectMatches(_ perplexity: Double, _ reference: Double, _ what: String) {
        if kernelsUseAVX2 {
            #expect(abs(perplexity - reference) <= 0.00005 + 1e-9, "\(what): \(perplexity) against llama.cpp's \(reference)")
        } else {
            #expect(abs(perplexity / reference - 1) < 0.005, "\(what): \(perplexity) against llama.cpp's \(reference)")
        }
    }

    func ids(_ name: String) throws -> [Int] {
        let text = try String(contentsOf: TestPaths.reference.appendingPathComponent(name), encoding: .utf8)
        return text.split(whereSeparator: { $0 == "," || $0 == "\n" }).compactMap { Int($0) }
    }

    /// llama-perplexity's figure for `file` (a model file name) from perplexity.json.
    static func reference(_ file: String) throws -> Double {
        struct Figures: Decodable { let chunks: Int; let perplexity: [String: Double] }
        let url = TestPaths.reference.appendingPathComponent("perplexity.json")
        let figures = try JSONDecoder().decode(Figures.self, from: Data(contentsOf: url))
        guard let value = figures.perplexity[file] else { throw MissingFigure(file: file) }
        return value
    }

    struct MissingFigure: Error, CustomStringConvertible {
        let file: String
        var description: String { "perplexity.json has no figure for \(file)" }
    }

    @Test func smollm2() throws {
        let model = try Transformer(path: try TestPaths.model(TestPaths.smollm2), threads: 2)
        let r = try evaluatePerplexity(model: model, tokens: try ids("ppl_gpl3_first20k.smollm2.ids"), context: 512, bos: nil)
        let reference = try Self.reference(TestPaths.smollm2)
        print("[perplexity] SmolLM2 Q4_1: \(r.perplexity) (llama.cpp \(reference)) over \(r.chunks) chunks")
        #expect(r.chunks == 8)
        expectMatches(r.perplexity, reference, "SmolLM2 Q4_1")
    }

    @Test func gemma3() throws {
        let model = try Transformer(path: try TestPaths.model(TestPaths.gemma3), threads: 2)
        let r = try evaluatePerplexity(model: model, tokens: try ids("ppl_gpl3_first20k.gemma3.ids"), context: 512, bos: 2)
        let reference = try Self.reference(TestPaths.gemma3)
        print("[perplexity] Gemma 3 Q4_K_M: \(r.perplexity) (llama.cpp \(reference)) over \(r.chunks) chunks")
        #expect(r.chunks == 8)
        expectMatches(r.perplexity, reference, "Gemma 3 Q4_K_M")
    }

    /// Swiftlet's own requantization of the Q4_1 file to Q8_0, F16 and Q4_0 (`swiftlet quantize`) against
    /// llama.cpp's perplexities of its requantized files (`llama-quantize --allow-requantize`): the same
    /// figures, so the same weights.
    @Test(arguments: [("Q8_0", "smollm2-135m-q8_0.gguf"), ("F16", "smollm2-135m-f16.gguf"),
                      ("Q4_0", "smollm2-135m-q4_0.gguf")])
    func smollm2Requantized(type: String, llamaCppFile: String) throws {
        let reference = try Self.reference(llamaCppFile)
        let source = try GGUFFile(path: try TestPaths.model(TestPaths.smollm2))
        let target: GGMLType = type == "F16" ? .f16 : (type == "Q4_0" ? .q4_0 : .q8_0)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-smollm2-\(type).gguf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Requantize.convert(source, to: target).write(to: path)
        let file = try GGUFFile(path: path)
        #expect(file.tensors.filter { $0.shape.count == 2 && $0.name != "token_embd.weight" }.allSatisfy { $0.type == target })
        #expect(file.metadata["general.file_type"]?.int == Requantize.fileTypes[target])
        let model = try Transformer(file: file, threads: 2)
        let r = try evaluatePerplexity(model: model, tokens: try ids("ppl_gpl3_first20k.smollm2.ids"), context: 512, bos: nil)
        print("[perplexity] SmolLM2 requantized to \(type): \(r.perplexity) (llama.cpp \(reference))")
        expectMatches(r.perplexity, reference, "SmolLM2 requantized to \(type)")
    }
}
