/// The GBNF parser: llama.cpp's `llama_grammar_parser` (src/llama-grammar.cpp), step for step, so that a text
/// gives the same rules, the same symbol ids and the same repetition expansion.
///
/// The text is read as UTF-8 bytes; like the C parser, which reads a C string, it stops at a NUL byte.
/// Every error carries the 1-based line and column of the byte where llama.cpp reports it.
struct GrammarParser {
    /// llama.cpp's `MAX_REPETITION_THRESHOLD`.
    static let maxRepetitionThreshold: UInt64 = 2000

    private let source: [UInt8]
    private let tokenID: ((String) -> Int?)?

    /// Symbol name → id, as `llama_grammar_parser::symbol_ids` (a name's id is the count of names at its
    /// first use; generated names are `base_N`).
    private(set) var symbolIDs: [String: UInt32] = [:]
    /// Rules by id; an id with no definition keeps an empty rule.
    private(set) var rules: [[Grammar.Element]] = []
    /// Where each symbol is first referenced and where it is defined (byte offsets), for error positions.
    private var firstReference: [UInt32: Int] = [:]
    /// Groups `( … )` open around the current position. The parser recurses once per group, as
    /// llama.cpp's does, so a grammar of thousands of nested groups (a JSON schema's excluded-keys rule
    /// for a property name thousands of characters long makes one) would otherwise exhaust the stack.
    private var groupDepth = 0
    static let maximumGroupDepth = 256
    private(set) var definition: [UInt32: Int] = [:]

    init(text: String, tokenID: ((String) -> Int?)?) {
        var bytes = Array(text.utf8)
        if let nul = bytes.firstIndex(of: 0) { bytes.removeSubrange(nul...) }
        self.source = bytes
        self.tokenID = tokenID
    }

    // MARK: - Positions and errors

    /// The byte at `index`, or 0 past the end (the C string's terminator).
    private func byte(_ index: Int) -> UInt8 {
        index < source.count ? source[index] : 0
    }

    /// 1-based line and column (in code points) of a byte offset.
    func location(of offset: Int) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        var index = 0
        let end = min(offset, source.count)
        while index < end {
            let b = source[index]
            if b == 0x0A || (b == 0x0D && byte(index + 1) != 0x0A) {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 && b != 0x0D {
                column += 1
            }
            index += 1
        }
        return (line, column)
    }

    func error(_ message: String, at offset: Int) -> GrammarError {
        let (line, column) = location(of: offset)
        return GrammarError(message, line: line, column: column)
    }

    // MARK: - Lexical helpers (llama.cpp's static helpers)

    private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// llama.cpp's `is_word_char`: letters, digits and `-`.
    private static func isWordChar(_ c: UInt8) -> Bool {
        (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || c == 0x2D || isDigit(c)
    }

    /// llama.cpp's `parse_space`: blanks and `#` comments, newlines too when `newlineOK`.
    private func parseSpace(_ start: Int, newlineOK: Bool) -> Int {
        var pos = start
        while true {
            let c = byte(pos)
            if c == 0x20 || c == 0x09 || (newlineOK && (c == 0x0D || c == 0x0A)) {
                pos += 1
            } else if c == 0x23 {
                while byte(pos) != 0 && byte(pos) != 0x0D && byte(pos) != 0x0A { pos += 1 }
            } else {
                return pos
            }
        }
    }

    /// llama.cpp's `parse_name`.
    private func parseName(_ start: Int) throws(GrammarError) -> Int {
        var pos = start
        while Self.isWordChar(byte(pos)) { pos += 1 }
        if pos == start { throw error("expecting a rule name", at: start) }
        return pos
    }

    /// llama.cpp's `parse_int`.
    private func parseInt(_ start: Int) throws(GrammarError) -> Int {
        var pos = start
        while Self.isDigit(byte(pos)) { pos += 1 }
        if pos == start { throw error("expecting an integer", at: start) }
        return pos
    }

    private func text(_ range: Range<Int>) -> String {
        String(decoding: source[range], as: UTF8.self)
    }

    /// The decimal number in `range`, or an error where it does not fit 64 bits (C++'s `stoull` throws there).
    private func number(_ range: Range<Int>) throws(GrammarError) -> UInt64 {
        guard let value = UInt64(text(range)) else { throw error("number out of range", at: range.lowerBound) }
        return value
    }

    /// llama.cpp's `parse_hex`: exactly `size` hex digits.
    private func parseHex(_ start: Int, size: Int) throws(GrammarError) -> (UInt32, Int) {
        var pos = start
        var value: UInt32 = 0
        while pos < start + size && byte(pos) != 0 {
            let c = byte(pos)
            let digit: UInt32
            switch c {
            case 0x61...0x66: digit = UInt32(c - 0x61 + 10)
            case 0x41...0x46: digit = UInt32(c - 0x41 + 10)
            case 0x30...0x39: digit = UInt32(c - 0x30)
            default:
                throw error("expecting \(size) hex digits", at: start)
            }
            value = value << 4 + digit
            pos += 1
        }
        if pos != start + size { throw error("expecting \(size) hex digits", at: start) }
        return (value, pos)
    }

    /// llama.cpp's first `decode_utf8` (whole code points of the grammar text).
    private func decodeCodePoint(_ start: Int) -> (UInt32, Int) {
        let lengths: [Int] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4]
        let first = byte(start)
        let length = lengths[Int(first >> 4)]
        var value = UInt32(first) & ((1 << (8 - UInt32(length))) - 1)
        var pos = start + 1
        while pos < start + length && byte(pos) != 0 {
            value = (value << 6) + (UInt32(byte(pos)) & 0x3F)
            pos += 1
        }
        return (value, pos)
    }

    /// llama.cpp's `parse_char`: one literal or class character, escapes included.
    private func parseChar(_ start: Int) throws(GrammarError) -> (UInt32, Int) {
        let c = byte(start)
        if c == 0x5C {
            switch byte(start + 1) {
            case UInt8(ascii: "x"): return try parseHex(start + 2, size: 2)
            case UInt8(ascii: "u"): return try parseHex(start + 2, size: 4)
            case UInt8(ascii: "U"): return try parseHex(start + 2, size: 8)
            case UInt8(ascii: "t"): return (0x09, start + 2)
            case UInt8(ascii: "r"): return (0x0D, start + 2)
            case UInt8(ascii: "n"): return (0x0A, start + 2)
            case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "-"):
                return (UInt32(byte(start + 1)), start + 2)
            default:
                throw error("unknown escape", at: start)
            }
        } else if c != 0 {
            return decodeCodePoint(start)
        }
        throw error("unexpected end of input", at: start)
    }

    /// llama.cpp's `parse_token`: `<[id]>`, or `<text>` looked up in the vocabulary (it must be one token).
    private func parseToken(_ start: Int) throws(GrammarError) -> (UInt32, Int) {
        var pos = start
        if byte(pos) != UInt8(ascii: "<") { throw error("expecting '<'", at: pos) }
        pos += 1
        if byte(pos) == UInt8(ascii: "[") {
            pos += 1
            let intEnd = try parseInt(pos)
            let id = try number(pos..<intEnd)
            if id > UInt64(UInt32.max) { throw error("token id is too big", at: pos) }
            pos = intEnd
            if byte(pos) != UInt8(ascii: "]") { throw error("expecting ']'", at: pos) }
            pos += 1
            if byte(pos) != UInt8(ascii: ">") { throw error("expecting '>'", at: pos) }
            return (UInt32(id), pos + 1)
        }
        guard let tokenID else { throw error("no vocabulary to look up a token", at: start) }
        while byte(pos) != 0 && byte(pos) != UInt8(ascii: ">") { pos += 1 }
        if byte(pos) != UInt8(ascii: ">") { throw error("expecting '>'", at: pos) }
        pos += 1
        let name = text(start..<pos)
        guard let id = tokenID(name), id >= 0, id <= Int(UInt32.max) else {
            throw error("invalid token '\(name)': it is not exactly one token of the vocabulary", at: start)
        }
        return (UInt32(id), pos)
    }

    // MARK: - Symbols and rules

    /// llama.cpp's `get_symbol_id`.
    private mutating func symbolID(_ range: Range<Int>) -> UInt32 {
        let name = text(range)
        if let id = symbolIDs[name] { return id }
        let id = UInt32(symbolIDs.count)
        symbolIDs[name] = id
        return id
    }

    /// llama.cpp's `generate_symbol_id`: `base_N` with N the count of symbols (it may replace a name).
    private mutating func generateSymbolID(_ base: String, at offset: Int) -> UInt32 {
        let id = UInt32(symbolIDs.count)
        symbolIDs[base + "_" + String(id)] = id
        definition[id] = offset
        return id
    }

    /// llama.cpp's `add_rule`.
    private mutating func addRule(_ id: UInt32, _ rule: [Grammar.Element]) {
        if rules.count <= Int(id) {
            rules.append(contentsOf: repeatElement([], count: Int(id) + 1 - rules.count))
        }
        rules[Int(id)] = rule
    }

    /// llama.cpp's `parse_alternates`.
    private mutating func parseAlternates(
        _ start: Int, ruleName: String, ruleID: UInt32, nested: Bool
    ) throws(GrammarError) -> Int {
        var rule: [Grammar.Element] = []
        var pos = try parseSequence(start, ruleName: ruleName, rule: &rule, nested: nested)
        while byte(pos) == UInt8(ascii: "|") {
            rule.append(Grammar.Element(.alternative))
            pos = parseSpace(pos + 1, newlineOK: true)
            pos = try parseSequence(pos, ruleName: ruleName, rule: &rule, nested: nested)
        }
        rule.append(Grammar.Element(.end))
        addRule(ruleID, rule)
        return pos
    }

    /// The repetition rewrite of llama.cpp's `parse_sequence` (`handle_repetitions`):
    /// `S{m,n}` → S repeated m times, then n-m nested optional rules `S'(x) ::= S S'(x-1) |`;
    /// `S{m,}` → S repeated m times, then `S' ::= S S' |`. `maxTimes == nil` means no maximum.
    private mutating func handleRepetitions(
        minTimes: UInt64, maxTimes: UInt64?, rule: inout [Grammar.Element], lastSymbolStart: Int,
        previousRuleCount: inout UInt64, ruleName: String, at offset: Int
    ) throws(GrammarError) {
        if lastSymbolStart == rule.count {
            throw error("expecting an item before the repetition operator", at: offset)
        }
        if let maxTimes, maxTimes < minTimes {
            // llama.cpp loops (nearly) forever on a maximum below the minimum.
            throw error("the maximum repetition count is below the minimum", at: offset)
        }
        let previous = Array(rule[lastSymbolStart...])
        var totalRules: UInt64 = 1
        if let maxTimes, maxTimes > 0 {
            totalRules = maxTimes
        } else if minTimes > 0 {
            totalRules = minTimes
        }
        let (product, overflow) = previousRuleCount.multipliedReportingOverflow(by: totalRules)
        if overflow || product > Self.maxRepetitionThreshold {
            throw error(
                "the repeated rules times the repetition count exceed \(Self.maxRepetitionThreshold)", at: offset)
        }
        if minTimes == 0 {
            rule.removeSubrange(lastSymbolStart...)
        } else if minTimes > 1 {
            for _ in 1..<minTimes { rule.append(contentsOf: previous) }
        }
        var lastRecursiveRuleID: UInt32 = 0
        let optionalCount: UInt64 = maxTimes.map { $0 - minTimes } ?? 1
        var i: UInt64 = 0
        while i < optionalCount {
            var recursiveRule = previous
            let recursiveRuleID = generateSymbolID(ruleName, at: offset)
            if i > 0 || maxTimes == nil {
                recursiveRule.append(
                    Grammar.Element(.ruleReference, maxTimes == nil ? recursiveRuleID : lastRecursiveRuleID))
            }
            recursiveRule.append(Grammar.Element(.alternative))
            recursiveRule.append(Grammar.Element(.end))
            addRule(recursiveRuleID, recursiveRule)
            lastRecursiveRuleID = recursiveRuleID
            i += 1
        }
        if optionalCount > 0 {
            rule.append(Grammar.Element(.ruleReference, lastRecursiveRuleID))
        }
        previousRuleCount = product
    }

    /// llama.cpp's `parse_sequence`.
    private mutating func parseSequence(
        _ start: Int, ruleName: String, rule: inout [Grammar.Element], nested: Bool
    ) throws(GrammarError) -> Int {
        var lastSymbolStart = rule.count
        var pos = start
        var previousRuleCount: UInt64 = 1

        while byte(pos) != 0 {
            let c = byte(pos)
            if c == UInt8(ascii: "\"") {  // literal string
                let open = pos
                pos += 1
                lastSymbolStart = rule.count
                previousRuleCount = 1
                while byte(pos) != UInt8(ascii: "\"") {
                    if byte(pos) == 0 { throw error("unterminated string literal", at: open) }
                    let (value, next) = try parseChar(pos)
                    pos = next
                    rule.append(Grammar.Element(.character, value))
                }
                pos = parseSpace(pos + 1, newlineOK: nested)
            } else if c == UInt8(ascii: "[") {  // character class
                let open = pos
                pos += 1
                var startKind = Grammar.Element.Kind.character
                if byte(pos) == UInt8(ascii: "^") {
                    pos += 1
                    startKind = .notCharacter
                }
                lastSymbolStart = rule.count
                previousRuleCount = 1
                while byte(pos) != UInt8(ascii: "]") {
                    if byte(pos) == 0 { throw error("unterminated character class", at: open) }
                    let (value, next) = try parseChar(pos)
                    pos = next
                    let kind = lastSymbolStart < rule.count ? Grammar.Element.Kind.characterAlternative : startKind
                    rule.append(Grammar.Element(kind, value))
                    if byte(pos) == UInt8(ascii: "-") && byte(pos + 1) != UInt8(ascii: "]") {
                        if byte(pos + 1) == 0 { throw error("unterminated character class", at: open) }
                        let (upper, after) = try parseChar(pos + 1)
                        pos = after
                        rule.append(Grammar.Element(.characterRangeUpper, upper))
                    }
                }
                pos = parseSpace(pos + 1, newlineOK: nested)
            } else if c == UInt8(ascii: "<") || c == UInt8(ascii: "!") {  // token
                var kind = Grammar.Element.Kind.token
                if c == UInt8(ascii: "!") {
                    kind = .notToken
                    pos += 1
                }
                let (id, end) = try parseToken(pos)
                lastSymbolStart = rule.count
                previousRuleCount = 1
                rule.append(Grammar.Element(kind, id))
                pos = parseSpace(end, newlineOK: nested)
            } else if Self.isWordChar(c) {  // rule reference
                let nameEnd = try parseName(pos)
                let id = symbolID(pos..<nameEnd)
                if firstReference[id] == nil { firstReference[id] = pos }
                pos = parseSpace(nameEnd, newlineOK: nested)
                lastSymbolStart = rule.count
                previousRuleCount = 1
                rule.append(Grammar.Element(.ruleReference, id))
            } else if c == UInt8(ascii: "(") {  // grouping
                let open = pos
                pos = parseSpace(pos + 1, newlineOK: true)
                let countBefore = symbolIDs.count
                let subRuleID = generateSymbolID(ruleName, at: open)
                groupDepth += 1
                guard groupDepth <= GrammarParser.maximumGroupDepth else {
                    throw error("groups nested more than \(GrammarParser.maximumGroupDepth) levels deep", at: open)
                }
                pos = try parseAlternates(pos, ruleName: ruleName, ruleID: subRuleID, nested: true)
                groupDepth -= 1
                previousRuleCount = UInt64(max(1, symbolIDs.count - countBefore))
                lastSymbolStart = rule.count
                rule.append(Grammar.Element(.ruleReference, subRuleID))
                if byte(pos) != UInt8(ascii: ")") {
                    throw error(byte(pos) == 0 ? "unclosed '('" : "expecting ')'", at: byte(pos) == 0 ? open : pos)
                }
                pos = parseSpace(pos + 1, newlineOK: nested)
            } else if c == UInt8(ascii: ".") {  // any character
                lastSymbolStart = rule.count
                previousRuleCount = 1
                rule.append(Grammar.Element(.anyCharacter))
                pos = parseSpace(pos + 1, newlineOK: nested)
            } else if c == UInt8(ascii: "*") || c == UInt8(ascii: "+") || c == UInt8(ascii: "?") {
                let operatorOffset = pos
                pos = parseSpace(pos + 1, newlineOK: nested)
                try handleRepetitions(
                    minTimes: c == UInt8(ascii: "+") ? 1 : 0, maxTimes: c == UInt8(ascii: "?") ? 1 : nil,
                    rule: &rule, lastSymbolStart: lastSymbolStart, previousRuleCount: &previousRuleCount,
                    ruleName: ruleName, at: operatorOffset)
            } else if c == UInt8(ascii: "{") {
                let operatorOffset = pos
                pos = parseSpace(pos + 1, newlineOK: nested)
                if !Self.isDigit(byte(pos)) { throw error("expecting an integer", at: pos) }
                let minEnd = try parseInt(pos)
                let minTimes = try number(pos..<minEnd)
                pos = parseSpace(minEnd, newlineOK: nested)
                var maxTimes: UInt64? = nil
                if byte(pos) == UInt8(ascii: "}") {
                    maxTimes = minTimes
                    pos = parseSpace(pos + 1, newlineOK: nested)
                } else if byte(pos) == UInt8(ascii: ",") {
                    pos = parseSpace(pos + 1, newlineOK: nested)
                    if Self.isDigit(byte(pos)) {
                        let maxEnd = try parseInt(pos)
                        maxTimes = try number(pos..<maxEnd)
                        pos = parseSpace(maxEnd, newlineOK: nested)
                    }
                    if byte(pos) != UInt8(ascii: "}") { throw error("expecting '}'", at: pos) }
                    pos = parseSpace(pos + 1, newlineOK: nested)
                } else {
                    throw error("expecting ',' or '}'", at: pos)
                }
                if minTimes > Self.maxRepetitionThreshold {
                    throw error("more than \(Self.maxRepetitionThreshold) repetitions", at: operatorOffset)
                }
                // llama.cpp reads a maximum above the threshold as no maximum.
                if let m = maxTimes, m > Self.maxRepetitionThreshold { maxTimes = nil }
                try handleRepetitions(
                    minTimes: minTimes, maxTimes: maxTimes, rule: &rule, lastSymbolStart: lastSymbolStart,
                    previousRuleCount: &previousRuleCount, ruleName: ruleName, at: operatorOffset)
            } else {
                break
            }
        }
        return pos
    }

    /// llama.cpp's `parse_rule`: `name ::= alternates` and the end of its line.
    private mutating func parseRule(_ start: Int) throws(GrammarError) -> Int {
        let nameEnd = try parseName(start)
        var pos = parseSpace(nameEnd, newlineOK: false)
        let id = symbolID(start..<nameEnd)
        definition[id] = start
        let name = text(start..<nameEnd)
        let colon = UInt8(ascii: ":")
        guard byte(pos) == colon && byte(pos + 1) == colon && byte(pos + 2) == UInt8(ascii: "=") else {
            throw error("expecting ::=", at: pos)
        }
        pos = parseSpace(pos + 3, newlineOK: true)
        pos = try parseAlternates(pos, ruleName: name, ruleID: id, nested: false)
        if byte(pos) == 0x0D {
            pos += byte(pos + 1) == 0x0A ? 2 : 1
        } else if byte(pos) == 0x0A {
            pos += 1
        } else if byte(pos) != 0 {
            throw error("unexpected character '\(text(pos..<decodeCodePoint(pos).1))'", at: pos)
        }
        return parseSpace(pos, newlineOK: true)
    }

    /// llama.cpp's `llama_grammar_parser::parse`: every rule, then a check that every referenced rule is defined.
    mutating func parse() throws(GrammarError) {
        var pos = parseSpace(0, newlineOK: true)
        while byte(pos) != 0 {
            pos = try parseRule(pos)
        }
        var names: [UInt32: String] = [:]
        for (name, id) in symbolIDs { names[id] = name }
        func undefined(_ id: UInt32) -> GrammarError {
            let name = names[id] ?? String(id)
            return error("undefined rule '\(name)'", at: firstReference[id] ?? 0)
        }
        for (index, rule) in rules.enumerated() {
            if rule.isEmpty { throw undefined(UInt32(index)) }
            for element in rule where element.kind == .ruleReference {
                if Int(element.value) >= rules.count || rules[Int(element.value)].isEmpty {
                    throw undefined(element.value)
                }
            }
        }
    }
}
