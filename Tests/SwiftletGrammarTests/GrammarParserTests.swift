import SwiftletGrammar
import Testing

private typealias E = Grammar.Element

private func c(_ s: Unicode.Scalar) -> UInt32 { s.value }

/// Rules and symbol ids as llama.cpp's tests/test-grammar-parser.cpp expects them.
@Suite struct GrammarParserTests {
    @Test func literalsAndClasses() throws {
        let g = try Grammar(#"root  ::= "a" | [bdx-z] | [^1-3]"#)
        #expect(g.symbolIDs == ["root": 0])
        #expect(g.rules == [[
            E(.character, c("a")), E(.alternative),
            E(.character, c("b")), E(.characterAlternative, c("d")), E(.characterAlternative, c("x")),
            E(.characterRangeUpper, c("z")), E(.alternative),
            E(.notCharacter, c("1")), E(.characterRangeUpper, c("3")), E(.end),
        ]])
    }

    @Test func plusOnARule() throws {
        let g = try Grammar("root  ::= a+\na     ::= \"a\"\n")
        #expect(g.symbolIDs == ["root": 0, "a": 1, "root_2": 2])
        #expect(g.rules == [
            [E(.ruleReference, 1), E(.ruleReference, 2), E(.end)],
            [E(.character, c("a")), E(.end)],
            [E(.ruleReference, 1), E(.ruleReference, 2), E(.alternative), E(.end)],
        ])
    }

    @Test func starAndOptionalOnALiteral() throws {
        let star = try Grammar(#"root ::= "a"*"#)
        #expect(star.rules == [
            [E(.ruleReference, 1), E(.end)],
            [E(.character, c("a")), E(.ruleReference, 1), E(.alternative), E(.end)],
        ])
        let optional = try Grammar(#"root ::= "a"?"#)
        #expect(optional.rules == [
            [E(.ruleReference, 1), E(.end)],
            [E(.character, c("a")), E(.alternative), E(.end)],
        ])
    }

    @Test func boundedRepetitions() throws {
        let exact = try Grammar(#"root  ::= "a"{ 4}"#)
        #expect(exact.rules == [Array(repeating: E(.character, c("a")), count: 4) + [E(.end)]])

        let atLeast = try Grammar(#"root ::= "a"{2,}"#)
        #expect(atLeast.rules == [
            [E(.character, c("a")), E(.character, c("a")), E(.ruleReference, 1), E(.end)],
            [E(.character, c("a")), E(.ruleReference, 1), E(.alternative), E(.end)],
        ])

        let range = try Grammar(#"root ::= "a"{2,4}"#)
        #expect(range.symbolIDs == ["root": 0, "root_1": 1, "root_2": 2])
        #expect(range.rules == [
            [E(.character, c("a")), E(.character, c("a")), E(.ruleReference, 2), E(.end)],
            [E(.character, c("a")), E(.alternative), E(.end)],
            [E(.character, c("a")), E(.ruleReference, 1), E(.alternative), E(.end)],
        ])

        // A maximum above 2000 is read as no maximum, as in llama.cpp.
        let big = try Grammar(#"root ::= "a"{3,5000}"#)
        #expect(big.rules == [
            [E(.character, c("a")), E(.character, c("a")), E(.character, c("a")), E(.ruleReference, 1), E(.end)],
            [E(.character, c("a")), E(.ruleReference, 1), E(.alternative), E(.end)],
        ])
    }

    @Test func groupsAndGeneratedNames() throws {
        let g = try Grammar("""
            root  ::= (expr "=" term "\\n")+
            expr  ::= term ([-+*/] term)*
            term  ::= [0-9]+
            """)
        #expect(g.symbolIDs == [
            "root": 0, "root_1": 1, "expr": 2, "term": 3, "root_4": 4, "expr_5": 5, "expr_6": 6, "term_7": 7,
        ])
        #expect(g.rules[1] == [
            E(.ruleReference, 2), E(.character, c("=")), E(.ruleReference, 3), E(.character, 10), E(.end),
        ])
        #expect(g.rules[5] == [
            E(.character, c("-")), E(.characterAlternative, c("+")), E(.characterAlternative, c("*")),
            E(.characterAlternative, c("/")), E(.ruleReference, 3), E(.end),
        ])
        #expect(g.rules[7] == [
            E(.character, c("0")), E(.characterRangeUpper, c("9")), E(.ruleReference, 7), E(.alternative),
            E(.end),
        ])
    }

    @Test func escapesAndUnicode() throws {
        let g = try Grammar(#"root ::= "\n\r\t\\\"\[\]\-\x41\u00e9\U0001F600" [\x00-\x1F] "é😀""#)
        let values = g.rules[0].map(\.value)
        #expect(values == [10, 13, 9, 92, 34, 91, 93, 45, 0x41, 0xE9, 0x1F600, 0, 0x1F, 0xE9, 0x1F600, 0])
    }

    @Test func anyCharacterCommentsAndNewlinesInGroups() throws {
        let g = try Grammar("""
            # a comment line
            root ::= ( "a"   # comment inside
                     | .
                     )  # trailing
            """)
        #expect(g.rules[1] == [E(.character, c("a")), E(.alternative), E(.anyCharacter), E(.end)])
        // An alternative may continue on the next line after `|`.
        let h = try Grammar("root ::= \"a\" |\n  \"b\"\n")
        #expect(h.rules[0] == [E(.character, c("a")), E(.alternative), E(.character, c("b")), E(.end)])
    }

    @Test func tokens() throws {
        let g = try Grammar("root ::= <[10]> !<[11]> <think> !<|end|>") { text in
            ["<think>": 7, "<|end|>": 8][text]
        }
        #expect(g.rules[0] == [E(.token, 10), E(.notToken, 11), E(.token, 7), E(.notToken, 8), E(.end)])
        #expect(throws: GrammarError.self) { try Grammar("root ::= <think>") }
        #expect(throws: GrammarError.self) { try Grammar("root ::= <nope>") { _ in nil } }
        #expect(throws: GrammarError.self) { try Grammar("root ::= <[99999999999]>") }
    }

    @Test func emptyLiteralsAndClassesAddNothing() throws {
        let g = try Grammar(#"root ::= "" [] "a""#)
        #expect(g.rules[0] == [E(.character, c("a")), E(.end)])
        #expect(throws: GrammarError.self) { try Grammar(#"root ::= ""*"#) }
    }

    @Test func laterDefinitionReplacesEarlier() throws {
        let g = try Grammar("root ::= \"a\"\nroot ::= \"b\"\n")
        #expect(g.rules == [[E(.character, c("b")), E(.end)]])
    }

    @Test func descriptionPrintsLikeLlamaCpp() throws {
        let g = try Grammar(#"root ::= [a-z0-9] "x" | other"# + "\nother ::= [^\"] . <[5]>\n")
        #expect(g.description == """
            root ::= [a-z0-9] [x] | other 
            other ::= [^".] <[5]> 

            """)
    }

    @Test func customRoot() throws {
        let g = try Grammar(#"foobar ::= "foobar""#, root: "foobar")
        #expect(g.rootRule == 0)
        #expect(throws: GrammarError("the grammar has no 'root' rule")) { try Grammar(#"foobar ::= "x""#) }
        #expect(throws: GrammarError("the grammar has no 'nonexistent' rule")) {
            try Grammar(#"root ::= "x""#, root: "nonexistent")
        }
    }

    @Test func jsonGrammarParses() throws {
        let g = try Grammar(Grammar.json)
        #expect(g.symbolIDs["root"] == g.rootRule)
    }
}

/// Errors carry llama.cpp's verdict and a position.
@Suite struct GrammarParserErrorTests {
    private func failure(_ text: String, root: String = "root") -> GrammarError? {
        do {
            _ = try Grammar(text, root: root)
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: [
        // (grammar, message prefix, line, column)
        ("root ::= foo\n", "undefined rule 'foo'", 1, 10),
        ("root ::= \"a\"\nrest ::= \"b\" nope\n", "undefined rule 'nope'", 2, 14),
        ("root ::= \"abc\n", "unterminated string literal", 1, 10),
        ("root ::= [abc\n", "unterminated character class", 1, 10),
        ("root ::= \"\\q\"", "unknown escape", 1, 11),
        ("root ::= \"\\x4\"", "expecting 2 hex digits", 1, 13),
        ("root ::= \"\\u12g4\"", "expecting 4 hex digits", 1, 13),
        ("root ::= \"a\" )", "unexpected character ')'", 1, 14),
        ("root ::= \"é\" ;", "unexpected character ';'", 1, 14),
        ("root = \"a\"", "expecting ::=", 1, 6),
        ("root ::= (\"a\"", "unclosed '('", 1, 10),
        ("root ::= (\"a\" ]", "expecting ')'", 1, 15),
        ("root ::= *", "expecting an item before the repetition operator", 1, 10),
        ("root ::= \"a\"{,10}", "expecting an integer", 1, 14),
        ("root ::= \"a\"{5000}", "more than 2000 repetitions", 1, 13),
        ("root ::= \"a\"{3,1}", "the maximum repetition count is below the minimum", 1, 13),
        ("root ::= \"a\"{2", "expecting ',' or '}'", 1, 15),
        ("root ::= \"a\"{2,3", "expecting '}'", 1, 17),
        ("root ::= <[12>", "expecting ']'", 1, 14),
        ("root ::= !\"a\"", "expecting '<'", 1, 11),
        ("\n\n  root ::= \"a\"\n  x\n", "expecting ::=", 4, 4),
        ("root ::= \"a\"\r\n-bad ::= \"b\" @", "unexpected character '@'", 2, 14),
    ])
    func syntaxErrorsHaveAPosition(text: String, message: String, line: Int, column: Int) {
        let error = failure(text)
        #expect(error?.message.hasPrefix(message) == true, "\(String(describing: error))")
        #expect(error?.line == line)
        #expect(error?.column == column)
    }

    @Test func nestedRepetitionsBeyondTheThresholdFail() {
        #expect(failure("root ::= (((((([^x]*){0,99}){0,99}){0,99}){0,99}){0,99}){0,99}") != nil)
        #expect(failure("root ::= \"a\"{5000,6000}") != nil)
    }

    @Test(arguments: [
        #"root ::= "a" | root "a""#,
        "root ::= asdf\nasdf ::= \"a\" | asdf \"a\"",
        "root ::= asdf\nasdf ::= \"a\" | foo \"b\"\nfoo ::= \"c\" | asdf \"d\" | \"e\"",
        "root ::= asdf\nasdf ::= \"a\" | foo \"b\"\nfoo ::= \"c\" | empty asdf \"d\" | \"e\"\nempty ::= \"blah\" | ",
        "root ::= x\nx ::= y? \"a\" | x \"b\"\ny ::= \"c\"",
    ])
    func leftRecursionIsRejected(text: String) {
        let error = failure(text)
        #expect(error?.message.contains("left-recursive") == true, "\(String(describing: error))")
        #expect(error?.line != nil)
    }

    @Test func leftRecursionThroughARuleThatOnlyReferencesAnEmptyRuleIsNotSeen() throws {
        // llama.cpp counts a rule as possibly empty only when an alternative is empty as written.
        _ = try Grammar("root ::= a root | \"x\"\na ::= b\nb ::= \"\"\n")
        _ = try Grammar("root ::= ( [x]* )*")
        _ = try Grammar(#"root ::= ("a"?)*"#)
    }

    @Test func emptyGrammar() {
        #expect(failure("") == GrammarError("the grammar has no rules"))
        #expect(failure("# only a comment\n") == GrammarError("the grammar has no rules"))
    }
}
