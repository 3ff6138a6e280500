import Foundation
import SwiftletGrammar
import Testing

/// llama.cpp's own masks (Fixtures/grammar/llama_masks_smollm2.json, see its README): at every step of
/// recorded walks through five grammars, the tokens of a 2,000-token subset of SmolLM2's vocabulary that
/// llama.cpp's grammar sampler allows must be exactly the ones the matcher allows.
@Suite struct LlamaCppMaskTests {
    struct Scenario: Sendable, CustomStringConvertible {
        var grammar: String
        var seed: Int
        var text: String
        var steps: [(token: Int, allowed: [UInt8])]
        var description: String { "\(grammar) seed \(seed)" }
    }

    struct Fixture: Sendable {
        var vocabulary: GrammarVocabulary
        var ids: [Int]
        var scenarios: [Scenario]
    }

    static let fixture: Fixture? = {
        let url = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/grammar/llama_masks_smollm2.json")
        guard let data = try? Data(contentsOf: url),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let size = root["vocabulary_size"] as? Int, let ids = root["ids"] as? [Int],
              let hexPieces = root["pieces"] as? [String], let eog = root["end_of_generation"] as? [Int],
              let scenarios = root["scenarios"] as? [[String: Any]]
        else { return nil }
        // Tokens outside the subset get empty pieces: never allowed, and not compared.
        var pieces = [[UInt8]](repeating: [], count: size)
        for (id, hex) in zip(ids, hexPieces) {
            var bytes: [UInt8] = []
            var index = hex.startIndex
            while index < hex.endIndex {
                let next = hex.index(index, offsetBy: 2)
                bytes.append(UInt8(hex[index..<next], radix: 16) ?? 0)
                index = next
            }
            pieces[id] = bytes
        }
        let parsed = scenarios.compactMap { s -> Scenario? in
            guard let grammar = s["grammar"] as? String, let seed = s["seed"] as? Int, let text = s["text"] as? String,
                  let steps = s["steps"] as? [[String: Any]] else { return nil }
            return Scenario(grammar: grammar, seed: seed, text: text, steps: steps.compactMap { step in
                guard let token = step["token"] as? Int, let bits = step["allowed"] as? String,
                      let bitmap = Data(base64Encoded: bits) else { return nil }
                return (token, [UInt8](bitmap))
            })
        }
        return Fixture(vocabulary: GrammarVocabulary(pieces: pieces, endOfGeneration: Set(eog)), ids: ids,
                       scenarios: parsed)
    }()

    @Test func fixtureLoads() throws {
        let fixture = try #require(Self.fixture)
        #expect(fixture.scenarios.count == 10)
        #expect(fixture.scenarios.allSatisfy { $0.steps.count >= 10 })
    }

    @Test(arguments: 0..<10)
    func masksEqualLlamaCpp(scenarioIndex: Int) throws {
        let fixture = try #require(Self.fixture)
        let scenario = fixture.scenarios[scenarioIndex]
        let vocabulary = fixture.vocabulary
        let grammar = try Grammar(scenario.text) { text in
            fixture.ids.first { vocabulary.pieces[$0] == Array(text.utf8) }
        }
        var matcher = try GrammarMatcher(grammar: grammar, vocabulary: vocabulary)
        for (number, step) in scenario.steps.enumerated() {
            let allowed = matcher.allowedTokens()
            var differing: [Int] = []
            // The single-token check too, every few steps (it is the slow path in a debug build).
            let checkSingle = number % 4 == 0
            for (index, id) in fixture.ids.enumerated() {
                let expected = step.allowed[index / 8] & (1 << (index % 8)) != 0
                if allowed[id] != expected || (checkSingle && matcher.allows(id) != expected) { differing.append(id) }
            }
            #expect(differing.isEmpty, "\(scenario) step \(number): tokens \(differing.prefix(8))")
            if !differing.isEmpty || step.token < 0 { return }
            try matcher.accept(step.token)
        }
    }
}
