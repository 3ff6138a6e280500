import Foundation
import Swiftlet
import SwiftletTestSupport
import Testing

/// Greedy generation under GBNF grammars and JSON schemas on SmolLM2 against llama.cpp's
/// (Fixtures/reference/grammar: llama-server's `/completion` with `grammar` or `json_schema`,
/// temperature 0): the same prompt tokens must give the same text in the same number of tokens.
@Suite(.serialized) struct GrammarReferenceTests {
    struct Case: Decodable {
        var name: String
        var promptIDs: [Int]
        var grammar: String?
        var nPredict: Int
        var tokens: [Int]
        var text: String
        enum CodingKeys: String, CodingKey {
            case name, grammar, tokens, text
            case promptIDs = "prompt_ids"
            case nPredict = "n_predict"
        }
    }

    static let directory = TestPaths.reference.appendingPathComponent("grammar")

    static func cases() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".json") && $0.first?.isNumber == true }.sorted()
    }

    @Test(arguments: cases())
    func greedyMatchesLlamaCpp(_ file: String) async throws {
        let data = try Data(contentsOf: Self.directory.appendingPathComponent(file))
        let reference = try JSONDecoder().decode(Case.self, from: data)
        let raw = try JSONValue(parsing: data)
        let model = try await FacadeTests.load(context: 1024)
        var options = GenerationOptions(maxTokens: reference.nPredict, sampling: .greedy)
        if let schema = raw["json_schema"] {
            options.jsonSchema = schema
        } else {
            options.grammar = try #require(reference.grammar)
        }
        let (text, summary) = try await FacadeTests.collect(try model.generate(tokens: reference.promptIDs, options: options))
        let generated = reference.tokens.filter { !model.endOfGenerationIDs.contains($0) }
        #expect(text == reference.text, "\(reference.name)")
        #expect(summary.completionTokens == generated.count, "\(reference.name)")
    }
}
