import Foundation

/// JSON in and out of template values, in Python's `json` module's manner: object keys keep their
/// order, and `dumps` writes what Hugging Face's `tojson` filter writes (`ensure_ascii=False`).
enum JinjaJSON {
    /// Parses JSON text; strings under a "content" key (and the "text" of a content part) are marked as
    /// message content, or every string when `markingAllStrings` (tools, tool-call arguments: text that
    /// came from the caller, not from the template).
    static func parse(_ text: String, markingAllStrings: Bool = false) throws(ChatTemplateError) -> JinjaValue {
        var p = Parser(bytes: Array(text.utf8))
        p.skipSpace()
        let v = try p.value(contentKey: markingAllStrings, depth: 0)
        p.skipSpace()
        guard p.i == p.bytes.count else { throw .render("invalid JSON: trailing characters at byte \(p.i)") }
        return v
    }

    /// The members of a JSON object, each value as the exact text it was written with, in order
    /// (a repeated key keeps its last value, as Python's `json.loads` does).
    static func objectMembers(_ text: String) throws(ChatTemplateError) -> [(String, String)] {
        var p = Parser(bytes: Array(text.utf8))
        p.skipSpace()
        guard p.i < p.bytes.count, p.bytes[p.i] == UInt8(ascii: "{") else { throw p.fail("expected an object") }
        p.i += 1
        var members: [(String, String)] = []
        p.skipSpace()
        if p.i < p.bytes.count, p.bytes[p.i] == UInt8(ascii: "}") {
            p.i += 1
        } else {
            while true {
                p.skipSpace()
                guard p.i < p.bytes.count, p.bytes[p.i] == UInt8(ascii: "\"") else { throw p.fail("expected a key") }
                let key = try p.string()
                p.skipSpace()
                guard p.i < p.bytes.count, p.bytes[p.i] == UInt8(ascii: ":") else { throw p.fail("expected ':'") }
                p.i += 1
                p.skipSpace()
                let start = p.i
                _ = try p.value(contentKey: false, depth: 1)
                members.removeAll { $0.0 == key }
                members.append((key, String(decoding: p.bytes[start..<p.i], as: UTF8.self)))
                p.skipSpace()
                guard p.i < p.bytes.count else { throw p.fail("unexpected end") }
                if p.bytes[p.i] == UInt8(ascii: ",") { p.i += 1; continue }
                if p.bytes[p.i] == UInt8(ascii: "}") { p.i += 1; break }
                throw p.fail("expected ',' or '}'")
            }
        }
        p.skipSpace()
        guard p.i == p.bytes.count else { throw .render("invalid JSON: trailing characters at byte \(p.i)") }
        return members
    }

    private struct Parser {
        let bytes: [UInt8]
        var i = 0

        mutating func skipSpace() {
            while i < bytes.count, [32, 9, 10, 13].contains(bytes[i]) { i += 1 }
        }

        func fail(_ m: String) -> ChatTemplateError { .render("invalid JSON at byte \(i): \(m)") }

        mutating func value(contentKey: Bool, depth: Int) throws(ChatTemplateError) -> JinjaValue {
            guard depth < 200 else { throw fail("nested too deeply") }
            guard i < bytes.count else { throw fail("unexpected end") }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                var d = JinjaDict()
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .dict(d) }
                while true {
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                    let k = try string()
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                    i += 1
                    skipSpace()
                    d[k] = try value(contentKey: contentKey || k == "content" || k == "text", depth: depth + 1)
                    skipSpace()
                    guard i < bytes.count else { throw fail("unexpected end") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "}") { i += 1; return .dict(d) }
                    throw fail("expected ',' or '}'")
                }
            case UInt8(ascii: "["):
                i += 1
                var a: [JinjaValue] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .list(a) }
                while true {
                    skipSpace()
                    a.append(try value(contentKey: contentKey, depth: depth + 1))
                    skipSpace()
                    guard i < bytes.count else { throw fail("unexpected end") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "]") { i += 1; return .list(a) }
                    throw fail("expected ',' or ']'")
                }
            case UInt8(ascii: "\""):
                return .string(try string(), isContent: contentKey)
            case UInt8(ascii: "t"): try literal("true"); return .boolean(true)
            case UInt8(ascii: "f"): try literal("false"); return .boolean(false)
            case UInt8(ascii: "n"): try literal("null"); return .none
            default:
                let start = i
                while i < bytes.count, "+-0123456789.eE".utf8.contains(bytes[i]) { i += 1 }
                let t = String(decoding: bytes[start..<i], as: UTF8.self)
                guard JinjaJSON.isNumber(bytes[start..<i]) else {
                    i = start
                    throw fail(t.isEmpty ? "unexpected character" : "bad number '\(t)'")
                }
                if !t.contains("."), !t.contains("e"), !t.contains("E"), let v = Int(t) { return .integer(v) }
                if let v = Double(t) { return .double(v) }
                throw fail("bad number '\(t)'")
            }
        }

        mutating func literal(_ word: String) throws(ChatTemplateError) {
            let w = Array(word.utf8)
            guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else { throw fail("unexpected character") }
            i += w.count
        }

        mutating func string() throws(ChatTemplateError) -> String {
            i += 1
            var out: [UInt8] = []
            while true {
                guard i < bytes.count else { throw fail("unterminated string") }
                let c = bytes[i]
                if c == UInt8(ascii: "\"") { i += 1; break }
                if c == UInt8(ascii: "\\") {
                    guard i + 1 < bytes.count else { throw fail("bad escape") }
                    let e = bytes[i + 1]
                    i += 2
                    switch e {
                    case UInt8(ascii: "n"): out.append(10)
                    case UInt8(ascii: "t"): out.append(9)
                    case UInt8(ascii: "r"): out.append(13)
                    case UInt8(ascii: "b"): out.append(8)
                    case UInt8(ascii: "f"): out.append(12)
                    case UInt8(ascii: "u"):
                        var code = try hex4()
                        if code >= 0xD800, code < 0xDC00, i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                            i += 2
                            let low = try hex4()
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        out.append(contentsOf: Array(String(UnicodeScalar(code).map(Character.init) ?? "\u{FFFD}").utf8))
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    default: i -= 2; throw fail("bad escape")
                    }
                    continue
                }
                // JSON (and Python's json.loads) forbids raw control characters in strings.
                guard c >= 0x20 else { throw fail("control character in a string") }
                out.append(c)
                i += 1
            }
            return String(decoding: out, as: UTF8.self)
        }

        mutating func hex4() throws(ChatTemplateError) -> UInt32 {
            guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16) else {
                throw fail("bad \\u escape")
            }
            i += 4
            return v
        }
    }

    /// The text of a JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    static func isNumber(_ b: ArraySlice<UInt8>) -> Bool {
        var i = b.startIndex
        func digits() -> Int {
            let s = i
            while i < b.endIndex, (48...57).contains(b[i]) { i += 1 }
            return i - s
        }
        if i < b.endIndex, b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.endIndex else { return false }
        if b[i] == UInt8(ascii: "0") { i += 1 } else if digits() == 0 { return false }
        if i < b.endIndex, b[i] == UInt8(ascii: ".") {
            i += 1
            if digits() == 0 { return false }
        }
        if i < b.endIndex, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.endIndex, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            if digits() == 0 { return false }
        }
        return i == b.endIndex
    }

    /// How `dumps` writes: Python's `json.dumps` arguments.
    struct Style {
        /// `indent`: nil writes one line; otherwise a newline before each item, indented by this string
        /// per level (`indent=4` is four spaces, `indent=0` none).
        var indent: String?
        /// `separators`: between items and between a key and its value. Python's default is `(", ", ": ")`,
        /// and `(",", ": ")` when indenting.
        var itemSeparator: String
        var keySeparator: String
        /// `sort_keys`.
        var sortKeys = false
        /// `ensure_ascii`: non-ASCII characters written as `\uXXXX` escapes (HF's `tojson` passes False).
        var ensureASCII = false

        init(indent: String? = nil, separators: (String, String)? = nil, sortKeys: Bool = false,
             ensureASCII: Bool = false) {
            self.indent = indent
            (itemSeparator, keySeparator) = separators ?? (indent == nil ? ", " : ",", ": ")
            self.sortKeys = sortKeys
            self.ensureASCII = ensureASCII
        }
    }

    /// `json.dumps(value, ensure_ascii=False, indent=indent)`.
    static func dumps(_ v: JinjaValue, indent: Int?) throws(ChatTemplateError) -> String {
        try dumps(v, style: Style(indent: indent.map { String(repeating: " ", count: max(0, $0)) }))
    }

    /// `json.dumps` with the given arguments.
    static func dumps(_ v: JinjaValue, style: Style, level: Int = 0) throws(ChatTemplateError) -> String {
        guard level < 200 else { throw .render("the value is nested too deeply to write as JSON") }
        func newline(_ l: Int) -> String {
            style.indent.map { "\n" + String(repeating: $0, count: l) } ?? ""
        }
        let separator = style.itemSeparator + newline(level + 1)
        switch v {
        case .none: return "null"
        case .boolean(let b): return b ? "true" : "false"
        case .integer(let i): return String(i)
        case .double(let d):
            if d.isNaN { return "NaN" }
            if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
            return JinjaValue.pythonFloat(d)
        case .string(let s): return quote(s.text, ensureASCII: style.ensureASCII)
        case .list(let a):
            if a.isEmpty { return "[]" }
            var parts: [String] = []
            for x in a { parts.append(try dumps(x, style: style, level: level + 1)) }
            return "[" + newline(level + 1) + parts.joined(separator: separator) + newline(level) + "]"
        case .dict(let d):
            if d.count == 0 { return "{}" }
            // Python writes a key that is not a string as JSON text of it ("1", "true", "null").
            var pairs: [(String, JinjaValue)] = []
            for (k, x) in d.pairs {
                switch d.keyValue(k) {
                case .string: pairs.append((k, x))
                case let other: pairs.append((try dumps(other, style: style), x))
                }
            }
            if style.sortKeys {
                pairs.sort { $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) }
            }
            var parts: [String] = []
            for (k, x) in pairs {
                let value = try dumps(x, style: style, level: level + 1)
                parts.append(quote(k, ensureASCII: style.ensureASCII) + style.keySeparator + value)
            }
            return "{" + newline(level + 1) + parts.joined(separator: separator) + newline(level) + "}"
        case .namespace(let n): return try dumps(.dict(n.attributes), style: style, level: level)
        case .undefined: throw .render("Object of type Undefined is not JSON serializable")
        case .function: throw .render("Object of type function is not JSON serializable")
        }
    }

    static func quote(_ s: String, ensureASCII: Bool = false) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 || (ensureASCII && c.value > 0x7E) {
                    // Python's ensure_ascii escapes all but printable ASCII; above the BMP, a surrogate pair.
                    for unit in String(c).utf16 { out += String(format: "\\u%04x", unit) }
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }
}
