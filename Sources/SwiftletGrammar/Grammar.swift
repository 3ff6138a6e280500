/// A parsed GBNF grammar, as llama.cpp's `llama_grammar_parser` builds it and `llama_grammar_init_impl`
/// checks it.
///
/// GBNF: rules `name ::= ...` (names of letters, digits and `-`), alternatives `|`, groups `( )` (which may
/// span lines), repetitions `* + ? {m} {m,} {m,n}` (expanded into rules as llama.cpp does, at most 2000),
/// string literals and character classes (`[a-z]`, `[^...]`) with the escapes `\n \r \t \\ \" \[ \] \-
/// \xHH \uHHHH \UHHHHHHHH`, `.` for any character, `#` comments, and tokens: `<[id]>`, `!<[id]>` (any
/// other token) and `<text>` / `!<text>`, where `text` (with its angle brackets) must be one token of
/// the vocabulary.
///
/// ```swift
/// let grammar = try Grammar(#"root ::= "yes" | "no""#)
/// ```
public struct Grammar: Sendable, CustomStringConvertible {
    /// The rules by id; each ends with an ``Element/Kind/end`` element.
    public let rules: [[Element]]
    /// Every symbol's id: rule names and the names generated for groups and repetitions (`name_N`).
    public let symbolIDs: [String: Int]
    /// The id of the start rule.
    public let rootRule: Int

    /// All rules laid end to end; a grammar position (an element of a stack) is an index here.
    let elements: [Element]
    /// Where each rule starts in `elements`.
    let ruleStarts: [Int32]
    /// The stacks before any input (llama.cpp's initial `stacks`), each advanced to a terminal or empty.
    let initialStacks: [[Int32]]
    /// The memo of stack sets and transitions, shared by every matcher of this grammar (and its copies).
    let automaton: GrammarAutomaton

    /// Parses and checks a grammar.
    ///
    /// - Parameters:
    ///   - text: The GBNF text.
    ///   - root: The start rule.
    ///   - tokenID: Looks up a `<text>` token: the id of the single token that `text` (angle brackets
    ///     included, special tokens recognized) tokenizes to, or nil when it is not exactly one token.
    ///     Without it, only `<[id]>` tokens parse.
    /// - Throws: ``GrammarError`` with the line and column of a syntax error or undefined rule; for a
    ///   missing root rule or a left-recursive rule (which llama.cpp rejects too).
    public init(_ text: String, root: String = "root", tokenID: ((String) -> Int?)? = nil) throws(GrammarError) {
        var parser = GrammarParser(text: text, tokenID: tokenID)
        try parser.parse()
        if parser.rules.isEmpty {
            throw GrammarError("the grammar has no rules")
        }
        guard let rootID = parser.symbolIDs[root] else {
            throw GrammarError("the grammar has no '\(root)' rule")
        }
        var ids: [String: Int] = [:]
        var names: [Int: String] = [:]
        for (name, id) in parser.symbolIDs {
            ids[name] = Int(id)
            names[Int(id)] = name
        }
        if let recursive = Self.leftRecursiveRule(parser.rules) {
            let name = names[recursive] ?? String(recursive)
            if let offset = parser.definition[UInt32(recursive)] {
                throw parser.error("rule '\(name)' is left-recursive", at: offset)
            }
            throw GrammarError("rule '\(name)' is left-recursive")
        }
        self.rules = parser.rules
        self.symbolIDs = ids
        self.rootRule = Int(rootID)
        var elements: [Element] = []
        var starts: [Int32] = []
        for rule in parser.rules {
            starts.append(Int32(elements.count))
            elements.append(contentsOf: rule)
        }
        self.elements = elements
        self.ruleStarts = starts
        self.initialStacks = GrammarStacks.initialStacks(elements: elements, ruleStarts: starts, root: Int(rootID))
        self.automaton = GrammarAutomaton(GrammarStacks(elements: elements, ruleStarts: starts))
    }

    /// The rules in llama.cpp's `llama_grammar_parser::print` form, one line per rule id.
    public var description: String {
        var names: [Int: String] = [:]
        for (name, id) in symbolIDs { names[id] = name }
        var out = ""
        for (id, rule) in rules.enumerated() {
            out += (names[id] ?? String(id)) + " ::= "
            for (i, element) in rule.enumerated() where element.kind != .end {
                switch element.kind {
                case .end: break
                case .alternative: out += "| "
                case .ruleReference: out += (names[Int(element.value)] ?? String(element.value)) + " "
                case .character: out += "[" + Self.printable(element.value)
                case .notCharacter: out += "[^" + Self.printable(element.value)
                case .characterRangeUpper: out += "-" + Self.printable(element.value)
                case .characterAlternative: out += Self.printable(element.value)
                case .anyCharacter: out += "."
                case .token: out += "<[\(element.value)]> "
                case .notToken: out += "!<[\(element.value)]> "
                }
                if element.isCharacterElement && i + 1 < rule.count {
                    switch rule[i + 1].kind {
                    case .characterAlternative, .characterRangeUpper, .anyCharacter: break
                    default: out += "] "
                    }
                }
            }
            out += "\n"
        }
        return out
    }

    /// llama.cpp's `print_grammar_char`.
    private static func printable(_ c: UInt32) -> String {
        if c >= 0x20 && c <= 0x7F, let scalar = Unicode.Scalar(c) { return String(Character(scalar)) }
        let hex = String(c, radix: 16, uppercase: true)
        return "<U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex + ">"
    }
}
