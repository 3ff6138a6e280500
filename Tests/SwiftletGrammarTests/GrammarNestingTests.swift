import Foundation
import Testing
import SwiftletGrammar

/// Found by the request fuzzer (Docs/Fuzzing.md): a JSON schema whose object allows additional properties
/// beside one with a name thousands of characters long turns into a grammar of thousands of nested groups
/// (the rule for "any key but these"), and parsing it exhausted the stack. Deep nesting is now an error.
struct GrammarNestingTests {
    @Test func deeplyNestedGroupsAreAnError() {
        let text = "root ::= " + String(repeating: "(", count: 5000) + "\"a\"" + String(repeating: ")", count: 5000)
        #expect {
            _ = try Grammar(text)
        } throws: { error in
            "\(error)".contains("groups nested more than 256 levels deep")
        }
    }

    @Test func nestingAGrammarUsesIsFine() throws {
        let text = "root ::= " + String(repeating: "(", count: 200) + "\"a\"" + String(repeating: ")", count: 200)
        _ = try Grammar(text)
    }

    @Test func schemaWithAVeryLongPropertyNameIsAnErrorNotACrash() throws {
        let name = String(repeating: "k", count: 5000)
        let schema = try JSONValue(parsing: #"{"type": "object", "properties": {"\#(name)": {"type": "integer"}}, "#
                                   + #""additionalProperties": true}"#)
        let gbnf = try JSONSchemaGrammar.gbnf(for: schema)
        #expect(throws: GrammarError.self) { try Grammar(gbnf) }
    }
}
