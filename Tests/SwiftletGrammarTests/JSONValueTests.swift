import SwiftletGrammar
import Testing

@Suite struct JSONValueTests {
    @Test func keepsKeyOrderAndNumberText() throws {
        let v = try JSONValue(parsing: #"{"b": 1, "a": [true, null, 1.50, "x\u00e9\n"], "c": {}}"#)
        #expect(v.object?.map(\.key) == ["b", "a", "c"])
        #expect(v.jsonText == #"{"b":1,"a":[true,null,1.50,"xé\n"],"c":{}}"#)
        #expect(v["b"]?.int == 1)
    }

    @Test func surrogatePairsDecode() throws {
        #expect(try JSONValue(parsing: #""\ud83d\ude00""#).string == "😀")
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "\"\\ud800\"", "tru", "1 2", "\"\u{01}\""])
    func rejectsBadText(_ text: String) {
        #expect(throws: GrammarError.self) { try JSONValue(parsing: text) }
    }

    @Test func refusesDeepNesting() {
        #expect(throws: GrammarError.self) { try JSONValue(parsing: String(repeating: "[", count: 600)) }
    }
}
