import SwiftletGrammar
import Testing

/// Strings accepted and rejected, after llama.cpp's tests/test-grammar-integration.cpp.
@Suite struct GrammarMatchingTests {
    private func check(_ grammar: String, pass: [String], fail: [String]) throws {
        for text in pass {
            #expect(try grammarMatches(grammar, text), "should match: \(text.debugDescription)")
        }
        for text in fail {
            #expect(try !grammarMatches(grammar, text), "should not match: \(text.debugDescription)")
        }
    }

    @Test func simpleExpression() throws {
        try check(
            "root ::= expr\nexpr ::= term (\"+\" term)*\nterm ::= number\nnumber ::= [0-9]+",
            pass: ["42", "1+2+3+4+5", "123+456"],
            fail: ["+", "/ 3", "1+2+3+4+5+", "12a45", ""])
    }

    @Test func mediumComplexity() throws {
        let grammar = """
            root ::= expression
            expression ::= term ws (("+"|"-") ws term)*
            term ::= factor ws (("*"|"/") ws factor)*
            factor ::= number | variable | "(" expression ")" | function-call
            number ::= [0-9]+
            variable ::= [a-zA-Z_][a-zA-Z0-9_]*
            function-call ::= variable ws "(" (expression ("," ws expression)*)? ")"
            ws ::= [ \\t\\n\\r]?
            """
        try check(
            grammar,
            pass: [
                "42", "1*2*3*4*5", "x", "x+10", "x1+y2", "(a+b)*(c-d)", "func()", "func(x,y+2)", "a*(b+c)-d/e",
                "f(g(x),h(y,z))", "x + 10", "(a + b) * (c - d)", "func(x, y + 2)", "f(g(x), h(y, z))",
                "123*456*789-123/456+789*123",
            ],
            fail: [
                "+", "/ 3x", "x + + y", "a * / b", "func(,)", "func(x y)", "(a + b", "x + y)", "42 +", "func(",
                "f(g(x), h(y, z)",
            ])
    }

    @Test func anyCharacterCountsCodePoints() throws {
        try check(
            #"root ::= ... "abc" ..."#,
            pass: ["abcabcabc", "aaaabcccc", "🔵🟠✅abc❌🟠🔵"],
            fail: ["aaabcccc", "aaaaabcccc", "aaaabccc", "aaaabccccc", "🔵🟠✅❌abc❌✅🟠🔵", "🔵🟠abc🟠🔵"])
    }

    @Test func quantifiers() throws {
        let longA = String(repeating: "a", count: 62)
        try check(#"root ::= "a"*"#, pass: ["", "a", "aaaaa", longA], fail: ["b", "ab", "aab", "ba", longA + "b"])
        try check(#"root ::= "a"+"#, pass: ["a", "aaaaa", longA], fail: ["", "b", "ab", "aab", "ba"])
        try check(#"root ::= "a"?"#, pass: ["", "a"], fail: ["b", "ab", "aa", "ba"])
        try check(
            "root ::= cons+ vowel* cons? (vowel cons)*\nvowel ::= [aeiouy]\ncons ::= [bcdfghjklmnpqrstvwxyz]",
            pass: ["yes", "no", "noyes", "crwth", "four", "bryyyy"],
            fail: ["yess", "yesno", "forty", "catyyy"])
        try check("root ::= [ab]{4}", pass: ["aaaa", "bbbb", "abab"], fail: ["a", "b", "aaaaa"])
        try check("root ::= [ab]{4,}", pass: ["aaaa", "aaaaab", "bbbb", "ababab"], fail: ["", "aba"])
        try check("root ::= [ab]{0,4}", pass: ["", "a", "aa", "aaa", "aaab"], fail: ["aaaaa"])
        try check(
            #"root ::= ("0x" [A-F0-9]{2} " "?){3,5}"#,
            pass: ["0xFF 0x12 0xAB", "0xFF 0x12 0xAB 0x00 0x00"],
            fail: ["", "0xFF", "0xFF 0x12", "0xFF 0x12 0xAB 0x00 0x00 0x00"])
        try check("root ::= ( [x]* )*", pass: ["", "x", "xx"], fail: ["y", "yy"])
        try check(#"root ::= "a"{0}"#, pass: [""], fail: ["a"])
        try check(#"root ::= "ab"{2,3} "c""#, pass: ["ababc", "abababc"], fail: ["abc", "ababababc", "abab"])
    }

    @Test func classesAndEscapes() throws {
        try check(#"root ::= [^a-c\n]+"#, pass: ["xyz", "é😀", "d"], fail: ["a", "xb", "x\n", ""])
        try check(#"root ::= [\x41-\x43]"#, pass: ["A", "B", "C"], fail: ["D", "@"])
        try check(#"root ::= "\u00e9\U0001F600""#, pass: ["é😀"], fail: ["e😀", "é"])
        try check(#"root ::= [-a]+ | [a-]"#, pass: ["-", "a-a"], fail: ["b"])
        try check(#"root ::= "\"" [\[\]\\]* "\"""#, pass: ["\"[]\\\"", "\"\""], fail: ["\"a\""])
        try check("root ::= [あ-ん]+", pass: ["ひらがな"], fail: ["カタカナ"])
    }

    @Test func tokens() throws {
        let grammar = "root ::= <[10]> content <[11]>\ncontent ::= (!<[11]>)*"
        let pass: [[Item]] = [
            [.token(10), .text("hello world"), .token(11)],
            [.token(10), .text("text with "), .token(12), .text(" other tokens "), .token(13), .token(11)],
            [.token(10), .token(11)],
            [.token(10), .token(12), .token(13), .token(14), .token(15), .token(11)],
        ]
        let fail: [[Item]] = [
            [.token(10), .text("missing end token")],
            [.token(10)],
            [.text("missing start token"), .token(11)],
            [.token(10), .token(11), .token(11)],
            [.token(11), .text("wrong order"), .token(10)],
        ]
        for items in pass { #expect(try grammarMatches(grammar, items)) }
        for items in fail { #expect(try !grammarMatches(grammar, items)) }
    }

    @Test func tokensAndReasoning() throws {
        let grammar = """
            root ::= reasoning+ content tool-call*
            reasoning ::= <[10]> (!<[11]>)* <[11]>
            content ::= <[20]> (!<[21]>)* <[21]>
            tool-call ::= <[12]> name <[13]> args <[14]>
            name ::= (!<[13]>)+
            args ::= (!<[14]>)*
            """
        #expect(try grammarMatches(grammar, [
            .token(10), .text("I am thinking"), .token(11), .token(20), .text("hello world!"), .token(21),
            .token(12), .text("search"), .token(13), .text("query=test"), .token(14),
        ]))
        #expect(try grammarMatches(grammar, [.token(10), .token(11), .token(20), .text("content"), .token(21)]))
        #expect(try !grammarMatches(grammar, [.token(20), .text("content only"), .token(21)]))
        #expect(try !grammarMatches(grammar, [
            .token(10), .token(11), .token(20), .token(21), .token(12), .text("incomplete tool"),
        ]))
        #expect(try !grammarMatches(grammar, [.token(10), .token(11), .token(11), .token(20), .token(21)]))
    }

    @Test func namedTokensUseTheVocabularyLookup() throws {
        let pieces: [[UInt8]] = [Array("<think>".utf8), Array("</think>".utf8), Array("a".utf8), Array("b".utf8)]
        let vocabulary = GrammarVocabulary(pieces: pieces, endOfGeneration: [])
        let lookup: (String) -> Int? = { text in pieces.firstIndex(of: Array(text.utf8)) }
        let grammar = try Grammar("root ::= <think> (!</think>)* </think> \"b\"", tokenID: lookup)
        var matcher = try GrammarMatcher(grammar: grammar, vocabulary: vocabulary)
        #expect(matcher.allowedTokens() == [true, false, false, false])
        try matcher.accept(0)
        #expect(matcher.allowedTokens() == [true, true, true, true])
        try matcher.accept(2)
        try matcher.accept(0)
        try matcher.accept(1)
        #expect(matcher.allowedTokens() == [false, false, false, true])
        try matcher.accept(3)
        #expect(matcher.isExhausted)
    }

    @Test func jsonGrammar() throws {
        try check(
            Grammar.json,
            pass: [
                "{}", #"{"a":1}"#, #"{ "a" : [1, 2.5, -3, 1E5, true, false, null, {"b": "c\n\u00e9"}] }"#,
                "{\n  \"key\": \"value\"\n}", #"{"x":0.25e-3}"#, #"{"s":"\\\"\b\f\n\r\t\u0041"}"#,
                #"{"n":1234567890123456}"#,
            ],
            fail: [
                "[]", "1", #""s""#, #"{"a"}"#, #"{"a":01}"#, #"{"a":1,}"#, #"{'a':1}"#, "{\"a\":\"\u{1}\"}",
                #"{"a":1e10}"#, #"{"n":12345678901234567}"#, #"{"a":"\/"}"#, "{} {}",
            ])
    }

    @Test func jsonGrammarEndsWithAtMostOneNewlineOfIndentation() throws {
        #expect(try grammarMatches(Grammar.json, "{}\n" + String(repeating: " ", count: 20)))
        #expect(try !grammarMatches(Grammar.json, "{}\n" + String(repeating: " ", count: 21)))
        #expect(try !grammarMatches(Grammar.json, "{}  "))
    }

    @Test func textAcceptance() throws {
        let vocabulary = GrammarVocabulary(pieces: [Array("x".utf8)], endOfGeneration: [])
        var matcher = try GrammarMatcher(grammar: Grammar(#"root ::= "hé" [0-9]+"#), vocabulary: vocabulary)
        try matcher.accept(bytes: [0x68, 0xC3])  // "h" and half of "é"
        try matcher.accept(bytes: [0xA9])
        #expect(!matcher.canEnd)
        try matcher.accept(text: "12")
        #expect(matcher.canEnd)
        #expect(!matcher.isExhausted)
        let before = matcher
        #expect(throws: GrammarError.self) { try matcher.accept(text: "x") }
        #expect(matcher.allowedTokens() == before.allowedTokens())
        try matcher.accept(text: "3")
    }
}
