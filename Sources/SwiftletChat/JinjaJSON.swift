import Foundation

/// JSON in and out of template values, in Python's `json` module's manner: object keys keep their
/// order, and `dumps` writes what Hugging Face's `tojson` filter writes (`ensure_ascii=False`).
enum JinjaJSON {
    /// Parses JSON text; strings under a "content" key (and the "text" of a content part) are marked as
    /// message content.
    static func parse(_ text: String) throws(ChatTemplateError) -> JinjaValue {
        var p = Parser(bytes: Array(text.utf8))
        p.skipSpace()
        let v = try p.value(contentKey: false, depth: 0)
        p.skipSpace()
        guard p.i == p.bytes.count else { throw .render("invalid JSON: trailing characters at byte \(p.i)") }
        return v
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
                if !t.contains("."), !t.contains("e"), !t.contains("E"), let v = Int(t) { return .integer(v) }
                if let v = Double(t), !t.isEmpty { return .double(v) }
                throw fail("unexpected character")
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
                    default: out.append(e)
                    }
                    continue
                }
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

    /// `json.dumps(value, ensure_ascii=False, indent=indent)`.
    static func dumps(_ v: JinjaValue, indent: Int?, level: Int = 0) throws(ChatTemplateError) -> String {
        let itemSeparator = indent == nil ? ", " : ","
        func newline(_ l: Int) -> String { indent.map { "\n" + String(repeating: " ", count: $0 * l) } ?? "" }
        switch v {
        case .none: return "null"
        case .boolean(let b): return b ? "true" : "false"
        case .integer(let i): return String(i)
        case .double(let d):
            if d.isNaN { return "NaN" }
            if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
            return JinjaValue.pythonFloat(d)
        case .string(let s): return quote(s.text)
        case .list(let a):
            if a.isEmpty { return "[]" }
            var parts: [String] = []
            for x in a { parts.append(try dumps(x, indent: indent, level: level + 1)) }
            return "[" + newline(level + 1) + parts.joined(separator: itemSeparator + newline(level + 1)) + newline(level) + "]"
        case .dict(let d):
            if d.count == 0 { return "{}" }
            var parts: [String] = []
            for (k, x) in d.pairs { parts.append(quote(k) + ": " + (try dumps(x, indent: indent, level: level + 1))) }
            return "{" + newline(level + 1) + parts.joined(separator: itemSeparator + newline(level + 1)) + newline(level) + "}"
        case .namespace(let n): return try dumps(.dict(n.attributes), indent: indent, level: level)
        case .undefined: throw .render("Object of type Undefined is not JSON serializable")
        case .function: throw .render("Object of type function is not JSON serializable")
        }
    }

    static func quote(_ s: String) -> String {
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
                if c.value < 0x20 { out += String(format: "\\u%04x", c.value) } else { out.unicodeScalars.append(c) }
            }
        }
        return out + "\""
    }
}
