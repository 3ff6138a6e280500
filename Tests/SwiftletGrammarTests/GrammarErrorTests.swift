import SwiftletGrammar
import Testing

@Test func errorsNameTheirPosition() {
    #expect(GrammarError("expected ::=", line: 2, column: 7).description == "expected ::= (line 2, column 7)")
}
