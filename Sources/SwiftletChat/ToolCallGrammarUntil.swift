import SwiftletGrammar

/// GBNF for "any text up to and including the first `delimiter`" — what llama.cpp's PEG parser turns
/// `p.until(delimiter) + delimiter` into for a grammar (the `until-N` rules of chat-peg-parser's
/// `build_grammar`), used here for the reasoning a non-lazy tool-call grammar lets through first.
///
/// The rules are the states of the Knuth–Morris–Pratt automaton of `delimiter`: state `i` has matched the
/// delimiter's first `i` characters; each character leads to the state of the longest prefix that the
/// text then ends with, and the rules end when the whole delimiter is read.
enum ToolCallGrammarUntil {
    /// Adds the rules to `builder` under `name`-0, `name`-1, … and returns the first one's name.
    static func add(_ delimiter: String, name: String,
                    to builder: inout GrammarBuilder) throws(GrammarError) -> String {
        let d = Array(delimiter.unicodeScalars)
        guard !d.isEmpty else { throw GrammarError("an empty delimiter cannot end a rule") }
        var alphabet: [Unicode.Scalar] = []
        for c in d where !alphabet.contains(c) { alphabet.append(c) }
        let names = (0..<d.count).map { "\(name)-\($0)" }
        let negated = "[^" + alphabet.map(classCharacter).joined() + "]"
        for i in 0..<d.count {
            var alternatives: [String] = []
            for c in alphabet {
                let next = step(d, state: i, c)
                let literal = GrammarBuilder.literal(String(Character(c)))
                alternatives.append(next == d.count ? literal : literal + " " + names[next])
            }
            alternatives.append(negated + " " + names[0])
            let added = builder.addRule(names[i], alternatives.joined(separator: " | "))
            guard added == names[i] else {
                throw GrammarError("the grammar already has a different rule named \(names[i])")
            }
        }
        return names[0]
    }

    /// The automaton's next state from `state` on `c`.
    private static func step(_ d: [Unicode.Scalar], state: Int, _ c: Unicode.Scalar) -> Int {
        // The longest k such that d[0..<k] ends the text d[0..<state] + c.
        let text = Array(d[0..<state]) + [c]
        var k = min(text.count, d.count)
        while k > 0 {
            if Array(text.suffix(k)) == Array(d[0..<k]) { return k }
            k -= 1
        }
        return 0
    }

    /// A character as written inside a GBNF character class.
    private static func classCharacter(_ c: Unicode.Scalar) -> String {
        switch c {
        case "\\": return "\\\\"
        case "]": return "\\]"
        case "[": return "\\["
        case "^": return "\\^"
        case "-": return "\\-"
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        default:
            if c.value < 0x20 {
                let hex = String(c.value, radix: 16)
                return "\\x" + String(repeating: "0", count: 2 - hex.count) + hex
            }
            return String(Character(c))
        }
    }
}
