import SwiftletGrammar

/// Input for a grammar: text, fed one code point per token, or a token id.
enum Item: Sendable {
    case text(String)
    case token(Int)
}

/// A vocabulary for string tests: ids 0..<64 are special tokens (`<tokN>`, 2 ends generation), and every
/// Unicode scalar used in `texts` is one token.
struct ScalarVocabulary {
    static let endOfGeneration = 2
    let vocabulary: GrammarVocabulary
    let ids: [Unicode.Scalar: Int]

    init(_ texts: [String]) {
        var pieces: [[UInt8]] = (0..<64).map { Array("<tok\($0)>".utf8) }
        var ids: [Unicode.Scalar: Int] = [:]
        for text in texts {
            for scalar in text.unicodeScalars where ids[scalar] == nil {
                ids[scalar] = pieces.count
                pieces.append(Array(String(scalar).utf8))
            }
        }
        self.ids = ids
        self.vocabulary = GrammarVocabulary(pieces: pieces, endOfGeneration: [Self.endOfGeneration])
    }

    func tokens(_ items: [Item]) -> [Int] {
        items.flatMap { item -> [Int] in
            switch item {
            case .text(let text): text.unicodeScalars.map { ids[$0]! }
            case .token(let id): [id]
            }
        }
    }
}

/// Whether `grammar` accepts the whole input: every token accepted (llama.cpp's test-grammar-integration
/// `match_string`), then the grammar able to end.
func grammarMatches(_ grammar: String, _ items: [Item]) throws -> Bool {
    let texts = items.compactMap { item -> String? in
        if case .text(let text) = item { return text }
        return nil
    }
    let scalars = ScalarVocabulary(texts)
    var matcher = try GrammarMatcher(grammar: Grammar(grammar), vocabulary: scalars.vocabulary)
    for token in scalars.tokens(items) {
        do {
            try matcher.accept(token)
        } catch {
            return false
        }
    }
    return matcher.canEnd
}

func grammarMatches(_ grammar: String, _ text: String) throws -> Bool {
    try grammarMatches(grammar, [.text(text)])
}
