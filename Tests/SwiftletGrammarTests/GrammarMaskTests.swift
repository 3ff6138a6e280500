import SwiftletGrammar
import SwiftletSampling
import Testing

/// The trie-walked mask against the single-token check, and llama.cpp's rules for special pieces.
@Suite struct GrammarMaskTests {
    /// A random vocabulary: grammar characters, whole and cut multi-byte characters, invalid bytes (stray
    /// continuations, overlong forms, 0xF8+), NUL bytes, an empty piece and end-of-generation tokens.
    static func randomVocabulary(seed: UInt64, count: Int) -> GrammarVocabulary {
        var rng = SeededRandom(seed: seed)
        let ascii = Array("{}[]\":,. -+0123456789eEabcdfnrtuxyz\\\n\t<>/_".utf8)
        let multibyte: [[UInt8]] = ["é", "ü", "あ", "😀", "€", "\u{7FF}", "\u{FFFF}"].map { Array($0.utf8) }
        let invalid: [[UInt8]] = [[0x80], [0xBF], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xF8], [0xFF],
                                  [0xC3, 0x41], [0x00], [0xF0, 0x80, 0x80, 0x80]]
        var pieces: [[UInt8]] = [[], [0x00, 0x41], Array("</s>".utf8), Array("<|eot|>".utf8)]
        while pieces.count < count {
            var piece: [UInt8] = []
            let parts = Int.random(in: 1...4, using: &rng)
            for _ in 0..<parts {
                let kind = Int.random(in: 0..<20, using: &rng)
                if kind < 13 {
                    piece.append(ascii.randomElement(using: &rng)!)
                } else if kind < 17 {
                    let character = multibyte.randomElement(using: &rng)!
                    // Whole, or its head, or its tail: tokens may cut characters anywhere.
                    let cut = Int.random(in: 0...character.count, using: &rng)
                    piece += Bool.random(using: &rng)
                        ? character[..<max(cut, 1)] : character[min(cut, character.count - 1)...]
                } else if kind < 19 {
                    piece += multibyte.randomElement(using: &rng)!
                } else {
                    piece += invalid.randomElement(using: &rng)!
                }
            }
            pieces.append(piece)
        }
        // Pieces shared by prefixes of others make the trie deep and branchy.
        for i in 0..<(count / 10) {
            pieces.append(pieces[4 + i] + pieces[5 + i])
        }
        return GrammarVocabulary(pieces: pieces, endOfGeneration: [2, 3])
    }

    static let grammars: [String] = [
        Grammar.json,
        #"root ::= ("a" | "é" | [あ-ん] | [^"\\a-z])* "\"" [\u0080-\u07FF]? "😀"?"#,
        #"root ::= . . "x" | [^\x00-\x7F]+ | "€"{2,3}"#,
        "root ::= <[10]> (!<[11]>)* <[11]> \"ok\"",
        #"root ::= "a" !<[12]> "b" | "ab" <[13]> | ([a-c] !<[14]>)+"#,
        #"root ::= [\x01-\x7F]* "\n" | "\u00e9"+"#,
        "root ::= (\"ab\" | \"a\" \"b\"? | [b-d]{1,3})* [\\n]",
    ]

    private func compareAlongRandomWalks(grammar text: String, seed: UInt64) throws {
        let vocabulary = Self.randomVocabulary(seed: seed, count: 600)
        let grammar = try Grammar(text)
        var rng = SeededRandom(seed: seed ^ 0xABCDEF)
        for _ in 0..<6 {
            var matcher = try GrammarMatcher(grammar: grammar, vocabulary: vocabulary)
            for _ in 0..<40 {
                let allowed = matcher.allowedTokens()
                let expected = (0..<vocabulary.count).map { matcher.allows($0) }
                #expect(allowed == expected, "grammar \(text)")
                if allowed != expected {
                    let differing = (0..<vocabulary.count).filter { allowed[$0] != expected[$0] }
                    Issue.record("tokens \(differing.prefix(10).map { (vocabulary.pieces[$0], allowed[$0]) })")
                    return
                }
                // EOG tokens exactly where the grammar can end.
                #expect(allowed[2] == matcher.canEnd && allowed[3] == matcher.canEnd)
                let choices = (0..<vocabulary.count).filter { allowed[$0] && !vocabulary.isEndOfGeneration($0) }
                guard let token = choices.randomElement(using: &rng) else { break }
                do {
                    try matcher.accept(token)
                } catch {
                    // llama.cpp allows some tokens it cannot accept (a token element met in the middle of a
                    // token); the matcher must then refuse them without changing.
                    let again = matcher.allowedTokens()
                    #expect(again == allowed)
                    break
                }
            }
        }
    }

    @Test(arguments: Array(0..<7))
    func trieMaskEqualsSingleTokenChecks(grammarIndex: Int) throws {
        for seed in [UInt64(1), 2, 3] {
            try compareAlongRandomWalks(
                grammar: Self.grammars[grammarIndex], seed: seed &* 7919 &+ UInt64(grammarIndex))
        }
    }

    @Test func endOfGenerationOnlyWhereTheGrammarCanEnd() throws {
        let pieces: [[UInt8]] = [Array("a".utf8), Array("b".utf8), Array("<eos>".utf8)]
        let vocabulary = GrammarVocabulary(pieces: pieces, endOfGeneration: [2])
        var matcher = try GrammarMatcher(grammar: Grammar(#"root ::= "a" "b"?"#), vocabulary: vocabulary)
        #expect(matcher.allowedTokens() == [true, false, false])
        #expect(!matcher.allows(2) && !matcher.canEnd)
        #expect(throws: GrammarError.self) { try matcher.accept(2) }
        try matcher.accept(0)
        #expect(matcher.allowedTokens() == [false, true, true])
        #expect(matcher.canEnd && !matcher.isExhausted)
        try matcher.accept(2)  // the state stays where it was
        try matcher.accept(1)
        #expect(matcher.allowedTokens() == [false, false, true])
        #expect(matcher.isExhausted)
        #expect(throws: GrammarError.self) { try matcher.accept(0) }
    }

    @Test func emptyAndNulPiecesAreNeverAllowed() throws {
        let pieces: [[UInt8]] = [[], [0x00], [0x00, 0x61], [0x61], [0x61, 0x00, 0x7A]]
        let vocabulary = GrammarVocabulary(pieces: pieces, endOfGeneration: [])
        let matcher = try GrammarMatcher(grammar: Grammar(#"root ::= [\x00-\x7F]*"#), vocabulary: vocabulary)
        // A NUL inside a piece ends llama.cpp's decoding: "a\0z" reads as "a".
        #expect(matcher.allowedTokens() == [false, false, false, true, true])
        let strict = try GrammarMatcher(grammar: Grammar(#"root ::= "a" "b""#), vocabulary: vocabulary)
        #expect(strict.allowedTokens() == [false, false, false, true, true])
    }

    @Test func maskSetsLogits() throws {
        let pieces: [[UInt8]] = [Array("a".utf8), Array("b".utf8)]
        let vocabulary = GrammarVocabulary(pieces: pieces, endOfGeneration: [])
        let matcher = try GrammarMatcher(grammar: Grammar(#"root ::= "b""#), vocabulary: vocabulary)
        var logits: [Float] = [1, 2, 3]
        matcher.mask(&logits)
        #expect(logits == [-.infinity, 2, -.infinity])
    }

    @Test func copiesAreIndependent() throws {
        let pieces: [[UInt8]] = [Array("a".utf8), Array("b".utf8)]
        let vocabulary = GrammarVocabulary(pieces: pieces, endOfGeneration: [])
        var first = try GrammarMatcher(grammar: Grammar(#"root ::= ("a" "b")*"#), vocabulary: vocabulary)
        let second = first
        try first.accept(0)
        #expect(first.allowedTokens() == [false, true])
        #expect(second.allowedTokens() == [true, false])
    }
}

/// Characters cut across tokens: llama.cpp's partial UTF-8 state.
@Suite struct GrammarUTF8Tests {
    private let pieces: [[UInt8]] = [
        [0xC3], [0xA9], [0xC3, 0xA9], [0xE2], [0x82, 0xAC], [0xE2, 0x82], [0xAC], [0xC1], [0xC0, 0x80], [0x41],
        [0xF0, 0x9F], [0x98, 0x80], [0xC3, 0xA9, 0xE2],
    ]

    private func matcher(_ grammar: String) throws -> GrammarMatcher {
        try GrammarMatcher(
            grammar: Grammar(grammar), vocabulary: GrammarVocabulary(pieces: pieces, endOfGeneration: []))
    }

    private func allowedIDs(_ matcher: GrammarMatcher) -> [Int] {
        matcher.allowedTokens().enumerated().filter(\.element).map(\.offset)
    }

    @Test func aCharacterSplitOverTwoTokens() throws {
        var m = try matcher(#"root ::= "é" "€""#)
        // Whole "é", its lead byte (it may still become "é"), "é" with the lead byte of "€", and the overlong
        // 0xC0 0x80, which decodes to 0 and so ends llama.cpp's code point list at once.
        #expect(allowedIDs(m) == [0, 2, 8, 12])
        try m.accept(0)
        #expect(allowedIDs(m) == [1])
        try m.accept(1)
        #expect(allowedIDs(m) == [3, 5, 8])
        try m.accept(5)
        #expect(allowedIDs(m) == [6])
        try m.accept(6)
        #expect(m.isExhausted)
    }

    @Test func aLeadByteThatCannotCompleteIsRejected() throws {
        let m = try matcher(#"root ::= "A" | "😀""#)
        // 0xC3 and 0xE2 start characters that are neither; 0xF0 0x9F may still become 😀.
        #expect(allowedIDs(m) == [8, 9, 10])
        var n = m
        try n.accept(10)
        #expect(allowedIDs(n) == [11])
    }

    @Test func overlongAndStrayBytesAreRejected() throws {
        let m = try matcher("root ::= .*")
        // Stray continuations (0xA9, 0x82 0xAC, 0xAC, 0x98 0x80) and overlong 0xC1 are out; 0xC0 0x80
        // decodes to 0, which ends llama.cpp's code point list, so it passes as an empty token would.
        #expect(allowedIDs(m) == [0, 2, 3, 5, 8, 9, 10, 12])
    }

    @Test func negatedClassesAndPartialCharacters() throws {
        // llama.cpp's partial check for a negated class refuses a lead byte whose range holds any excluded
        // character: 0xC3 (U+00C0...U+00FF) is refused by [^é] although it could become "à".
        let m = try matcher(#"root ::= [^é]"#)
        #expect(allowedIDs(m) == [3, 5, 8, 9, 10])
        let n = try matcher(#"root ::= [^\u00C0-\u00FF]"#)
        #expect(allowedIDs(n) == [3, 5, 8, 9, 10])
    }
}
