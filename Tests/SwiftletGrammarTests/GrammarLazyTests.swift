import SwiftletGrammar
import Testing

/// Lazy grammars: free output until a trigger, then the grammar from the trigger on (llama.cpp's
/// `llama_grammar_accept_impl` while `awaiting_trigger`).
@Suite struct GrammarLazyTests {
    static let pieces: [String] = [
        "Hello", " ", "<to", "ol>", "x<tool>", "ab", "</tool>", "<tool>", "!", "z", "<|eot|>", "<tool>a", "1",
    ]
    static let vocabulary = GrammarVocabulary(pieces: pieces.map { Array($0.utf8) }, endOfGeneration: [10])
    static let grammar = #"root ::= "<tool>" [a-z]+ "</tool>""#

    private func id(_ piece: String) -> Int { Self.pieces.firstIndex(of: piece)! }

    private func lazy(_ triggers: [GrammarTrigger]) throws -> GrammarMatcher {
        try GrammarMatcher(grammar: Grammar(Self.grammar), vocabulary: Self.vocabulary, triggers: triggers)
    }

    private func allowedPieces(_ matcher: GrammarMatcher) -> [String] {
        matcher.allowedTokens().enumerated().filter(\.element).map { Self.pieces[$0.offset] }
    }

    @Test func everythingIsAllowedUntilTheTrigger() throws {
        var matcher = try lazy([.word("<tool>")])
        #expect(matcher.isAwaitingTrigger && matcher.canEnd && !matcher.isExhausted)
        #expect(matcher.allowedTokens().allSatisfy { $0 })
        var logits = [Float](repeating: 1, count: Self.pieces.count)
        matcher.mask(&logits)
        #expect(logits.allSatisfy { $0 == 1 })
        try matcher.accept(id("Hello"))
        try matcher.accept(id("!"))
        try matcher.accept(id("<|eot|>"))  // only buffered while waiting
        #expect(matcher.isAwaitingTrigger)
    }

    @Test func aWordSplitOverTokensReplaysFromItsStart() throws {
        var matcher = try lazy([.word("<tool>")])
        try matcher.accept(id("Hello"))
        try matcher.accept(id(" "))
        try matcher.accept(id("<to"))
        #expect(matcher.isAwaitingTrigger)
        try matcher.accept(id("ol>"))
        #expect(!matcher.isAwaitingTrigger)
        #expect(allowedPieces(matcher) == ["ab", "z"])
        try matcher.accept(id("ab"))
        #expect(allowedPieces(matcher) == ["ab", "</tool>", "z"])
        try matcher.accept(id("</tool>"))
        #expect(matcher.isExhausted)
        #expect(allowedPieces(matcher) == ["<|eot|>"])
    }

    @Test func textBeforeTheWordInTheSameTokenIsCutOff() throws {
        var matcher = try lazy([.word("<tool>")])
        try matcher.accept(id("x<tool>"))
        #expect(!matcher.isAwaitingTrigger)
        #expect(allowedPieces(matcher) == ["ab", "z"])
        // A token that carries grammar text past the trigger is replayed whole.
        var other = try lazy([.word("<tool>")])
        try other.accept(id("<tool>a"))
        #expect(allowedPieces(other) == ["ab", "</tool>", "z"])
    }

    @Test func aTriggerTokenIsTheGrammarsFirstToken() throws {
        var matcher = try lazy([.token(id("<tool>"))])
        try matcher.accept(id("x<tool>"))  // the text matters not: only the token triggers
        #expect(matcher.isAwaitingTrigger)
        try matcher.accept(id("<tool>"))
        #expect(!matcher.isAwaitingTrigger)
        #expect(allowedPieces(matcher) == ["ab", "z"])
    }

    @Test func aTriggerTokenThatTheGrammarRefusesThrows() throws {
        var matcher = try lazy([.token(id("!"))])
        #expect(throws: GrammarError.self) { try matcher.accept(id("!")) }
        #expect(matcher.isAwaitingTrigger)  // unchanged
    }

    @Test func aReplayThatTheGrammarRefusesThrowsAndLeavesTheMatcher() throws {
        var matcher = try lazy([.word("ol>")])
        try matcher.accept(id("<to"))
        // The replay is "ol>", which does not start "<tool>".
        #expect(throws: GrammarError.self) { try matcher.accept(id("ol>")) }
        #expect(matcher.isAwaitingTrigger)
    }

    @Test func aWordThatEndsInsideTheGrammarText() throws {
        var matcher = try lazy([.word("<to")])
        try matcher.accept(id("Hello"))
        try matcher.accept(id("<to"))
        #expect(!matcher.isAwaitingTrigger)
        #expect(allowedPieces(matcher) == ["ol>"])
    }

    @Test func theFirstMatchingTriggerInOrderWins() throws {
        // Both words are in "x<tool>"; llama.cpp tries its patterns in order, so "tool" starts the grammar.
        var matcher = try GrammarMatcher(
            grammar: Grammar(#"root ::= "tool>" [a-z]* | "<tool>" "z""#), vocabulary: Self.vocabulary,
            triggers: [.word("tool"), .word("<tool>")])
        try matcher.accept(id("x<tool>"))
        #expect(allowedPieces(matcher) == ["ab", "z", "<|eot|>"])
    }

    @Test func patterns() throws {
        var search = try lazy([.pattern(#"[\s\S]*?(<tool>)[\s\S]*"#)])
        try search.accept(id("Hello"))
        try search.accept(id("x<tool>"))
        #expect(!search.isAwaitingTrigger)
        #expect(allowedPieces(search) == ["ab", "z"])

        // A full-match pattern needs the whole output to match.
        var full = try lazy([.patternFull("<tool>.*")])
        try full.accept(id("Hello"))
        try full.accept(id("<tool>"))
        #expect(full.isAwaitingTrigger)
        var full2 = try lazy([.patternFull("<tool>.*")])
        try full2.accept(id("<tool>a"))
        #expect(!full2.isAwaitingTrigger)
        #expect(allowedPieces(full2) == ["ab", "</tool>", "z"])

        #expect(throws: GrammarError.self) { try lazy([.pattern("(unclosed")]) }
        #expect(throws: GrammarError.self) { try lazy([]) }
    }
}
