/// A `pattern` regular expression as GBNF, mirroring llama.cpp's `_pattern_to_rule`: the pattern must be
/// anchored (`^...$`) and use only literals, `.`, groups (`(...)`, `(?:...)`), character classes, `|`, and
/// the quantifiers `*`, `+`, `?`, `{m}`, `{m,}`, `{,n}`, `{m,n}`; escapes are those GBNF shares (`\t`,
/// `\n`, `\xHH`, `\uHHHH`, ...) and escaped regex punctuation. llama.cpp falls back to any string (with a
/// warning) for a pattern outside this subset; here that is an error, so no pattern is silently dropped.
extension JSONSchemaConverter {
    /// Why a pattern cannot be converted.
    enum PatternFailure: Error {
        /// A valid regex with no grammar equivalent here.
        case unsupported(String)
        /// Not a valid regex.
        case invalid(String)
    }

    /// Mirrors `_visit_pattern`; errors name the pattern and where it is.
    mutating func visitPattern(_ pattern: String, _ name: String, path: String) throws(GrammarError) -> String {
        do {
            var translator = PatternTranslator(pattern: Array(pattern.utf8), name: name, dotall: dotall)
            return try translator.rule(&self)
        } catch {
            switch error {
            case .unsupported(let reason):
                throw JSONSchemaReader.fail(path, "pattern \(pattern) is not supported (\(reason))")
            case .invalid(let reason):
                throw JSONSchemaReader.fail(path, "invalid pattern \(pattern): \(reason)")
            }
        }
    }
}

/// The state of one pattern's conversion: the bytes, the read position, the group depth and the sub-rules
/// made for repeated groups.
private struct PatternTranslator {
    typealias Failure = JSONSchemaConverter.PatternFailure

    /// A piece of the sequence being read: a literal's text (quoted when written) or a rule expression.
    private struct Piece {
        var text: [UInt8]
        var isLiteral: Bool
    }

    private let bytes: [UInt8]
    private let name: String
    private let dotall: Bool
    private let anchored: Bool
    private var i = 0
    private var depth = 0
    private var subRules: [[UInt8]: String] = [:]
    private static let maximumDepth = 100

    init(pattern: [UInt8], name: String, dotall: Bool) {
        self.name = name
        self.dotall = dotall
        // The anchors are checked in `rule`; the translation reads what lies between them.
        anchored = pattern.count >= 2 && pattern.first == UInt8(ascii: "^") && pattern.last == UInt8(ascii: "$")
        bytes = anchored ? Array(pattern[1..<(pattern.count - 1)]) : []
    }

    private static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    private static func text(_ b: [UInt8]) throws(Failure) -> String {
        guard let s = String(validating: b, as: UTF8.self) else {
            throw .unsupported("a quantifier splits a multi-byte character")
        }
        return s
    }

    private static func asRule(_ piece: Piece) -> [UInt8] {
        piece.isLiteral ? [UInt8(ascii: "\"")] + piece.text + [UInt8(ascii: "\"")] : piece.text
    }

    mutating func rule(_ converter: inout JSONSchemaConverter) throws(Failure) -> String {
        guard anchored else { throw .unsupported("not anchored with '^' and '$'") }
        let body = Self.asRule(try transform(&converter))
        if depth != 0 { throw .invalid("unbalanced parentheses") }
        return converter.addRule(name, "\"\\\"\" (" + (try Self.text(body)) + ") \"\\\"\"")
    }

    /// `get_gbnf_escape_length`: the length of a GBNF escape at `position` (0 when there is none).
    private func escapeLength(at position: Int) -> Int {
        guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\") else { return 0 }
        let hexCount: Int
        switch bytes[position + 1] {
        case UInt8(ascii: "x"): hexCount = 2
        case UInt8(ascii: "u"): hexCount = 4
        case UInt8(ascii: "U"): hexCount = 8
        case UInt8(ascii: "t"), UInt8(ascii: "r"), UInt8(ascii: "n"), UInt8(ascii: "\\"), UInt8(ascii: "\""),
            UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "-"):
            return 2
        default: return 0
        }
        guard position + 2 + hexCount <= bytes.count else { return 0 }
        for h in bytes[(position + 2)..<(position + 2 + hexCount)] {
            guard (h >= 0x30 && h <= 0x39) || (h >= 0x61 && h <= 0x66) || (h >= 0x41 && h <= 0x46) else { return 0 }
        }
        return 2 + hexCount
    }

    private func shown(_ start: Int, _ length: Int) -> String {
        String(decoding: bytes[start..<min(start + length, bytes.count)], as: UTF8.self)
    }

    private static let nonLiteral = Set("|.()[]{}*+?^$".utf8)
    private static let escapedPunctuation = Set("^$.[]()|{}*+?".utf8)

    /// Merges consecutive literals and joins the pieces with spaces (`join_seq`).
    private static func join(_ sequence: [Piece]) -> Piece {
        var merged: [Piece] = []
        for piece in sequence {
            if piece.isLiteral, let last = merged.last, last.isLiteral {
                merged[merged.count - 1].text += piece.text
            } else {
                merged.append(piece)
            }
        }
        var out: [UInt8] = []
        for (n, piece) in merged.enumerated() {
            if n > 0 { out.append(UInt8(ascii: " ")) }
            out += asRule(piece)
        }
        return Piece(text: out, isLiteral: false)
    }

    /// Reads a sequence up to the end or the `)` closing the current group (`transform`).
    private mutating func transform(_ converter: inout JSONSchemaConverter) throws(Failure) -> Piece {
        var sequence: [Piece] = []
        let n = bytes.count
        while i < n {
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "."):
                let dot = converter.addRule("dot", dotall ? "[\\U00000000-\\U0010FFFF]" : "[^\\x0A\\x0D]")
                sequence.append(Piece(text: Self.bytes(dot), isLiteral: false))
                i += 1
            case UInt8(ascii: "("):
                i += 1
                if i < n, bytes[i] == UInt8(ascii: "?") {
                    guard i + 1 < n, bytes[i + 1] == UInt8(ascii: ":") else {
                        throw .unsupported("unsupported group syntax")
                    }
                    i += 2
                }
                depth += 1
                if depth > Self.maximumDepth { throw .unsupported("pattern nesting too deep") }
                let inner = try transform(&converter)
                sequence.append(Piece(text: Self.bytes("(") + Self.asRule(inner) + Self.bytes(")"), isLiteral: false))
            case UInt8(ascii: ")"):
                i += 1
                if depth == 0 { throw .invalid("unbalanced parentheses") }
                depth -= 1
                return Self.join(sequence)
            case UInt8(ascii: "^"), UInt8(ascii: "$"):
                throw .unsupported("anchor inside the pattern")
            case UInt8(ascii: "["):
                var set: [UInt8] = [c]
                i += 1
                while i < n, bytes[i] != UInt8(ascii: "]") {
                    if bytes[i] == UInt8(ascii: "\\") {
                        let length = escapeLength(at: i)
                        if length == 0 { throw .unsupported("unsupported escape in character class: " + shown(i, 2)) }
                        set += bytes[i..<(i + length)]
                        i += length
                    } else {
                        set.append(bytes[i])
                        i += 1
                    }
                }
                if i >= n { throw .invalid("unterminated character class") }
                set.append(UInt8(ascii: "]"))
                i += 1
                sequence.append(Piece(text: set, isLiteral: false))
            case UInt8(ascii: "|"):
                sequence.append(Piece(text: [c], isLiteral: false))
                i += 1
            case UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?"):
                guard let last = sequence.last else { throw .invalid("nothing to repeat") }
                sequence[sequence.count - 1] = Piece(text: Self.asRule(last) + [c], isLiteral: false)
                i += 1
            case UInt8(ascii: "{"):
                try repeatLast(&sequence, &converter)
            default:
                sequence.append(try literal(startingWith: c))
            }
        }
        return Self.join(sequence)
    }

    /// `{m}`, `{m,}`, `{,n}` or `{m,n}` applied to the last piece; a repeated rule expression gets a
    /// sub-rule of its own (`name-1`, `name-2`, ... shared by equal expressions).
    private mutating func repeatLast(
        _ sequence: inout [Piece], _ converter: inout JSONSchemaConverter
    ) throws(Failure) {
        let n = bytes.count
        i += 1
        var inside: [UInt8] = []
        while i < n, bytes[i] != UInt8(ascii: "}") {
            inside.append(bytes[i])
            i += 1
        }
        if i >= n { throw .unsupported("unterminated curly brackets") }
        i += 1
        let parts = inside.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else {
            throw .unsupported("wrong number of values in curly brackets")
        }
        func number(_ part: ArraySlice<UInt8>) throws(Failure) -> Int {
            guard !part.isEmpty, part.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                let value = Int32(String(decoding: part, as: UTF8.self))
            else { throw .unsupported("invalid number in curly brackets") }
            return Int(value)
        }
        var minimum = 0
        var maximum = JSONSchemaRepetition.unbounded
        if parts.count == 1 {
            minimum = try number(parts[0])
            maximum = minimum
        } else {
            if !parts[0].isEmpty { minimum = try number(parts[0]) }
            if !parts[1].isEmpty { maximum = try number(parts[1]) }
        }
        if minimum > maximum { throw .invalid("numbers out of order in curly brackets") }
        guard let last = sequence.last else { throw .invalid("nothing to repeat") }
        var item: [UInt8]
        if last.isLiteral {
            item = [UInt8(ascii: "\"")] + last.text + [UInt8(ascii: "\"")]
        } else if let id = subRules[last.text] {
            item = Self.bytes(id)
        } else {
            subRules[last.text] = ""
            let id = converter.addRule(name + "-" + String(subRules.count), try Self.text(last.text))
            subRules[last.text] = id
            item = Self.bytes(id)
        }
        let repeated = JSONSchemaRepetition.rule(try Self.text(item), minimum: minimum, maximum: maximum)
        sequence[sequence.count - 1] = Piece(text: Self.bytes(repeated), isLiteral: false)
    }

    /// A run of literal characters; before a quantifier, the last character is left to a piece of its own.
    private mutating func literal(startingWith c: UInt8) throws(Failure) -> Piece {
        let n = bytes.count
        var text: [UInt8] = []
        while i < n {
            let b = bytes[i]
            if b == UInt8(ascii: "\\") {
                if i == n - 1 { throw .invalid("trailing backslash") }
                if Self.escapedPunctuation.contains(bytes[i + 1]) {
                    text.append(bytes[i + 1])
                    i += 2
                } else {
                    let length = escapeLength(at: i)
                    if length == 0 { throw .unsupported("unsupported escape: " + shown(i, 2)) }
                    text += bytes[i..<(i + length)]
                    i += length
                }
            } else if b == UInt8(ascii: "\"") {
                text += Self.bytes("\\\"")
                i += 1
            } else if !Self.nonLiteral.contains(b)
                && (i == n - 1 || text.isEmpty || bytes[i + 1] == UInt8(ascii: ".")
                    || !Self.nonLiteral.contains(bytes[i + 1]))
            {
                text.append(b)
                i += 1
            } else {
                break
            }
        }
        if text.isEmpty {
            throw .unsupported("unsupported character: " + String(decoding: [c], as: UTF8.self))
        }
        return Piece(text: text, isLiteral: true)
    }
}
