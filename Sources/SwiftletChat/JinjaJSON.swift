import Foundation
import SwiftletGrammar

/// JSON in and out of template values, in Python's `json` module's manner: object keys keep their
/// order, and `dumps` writes what Hugging Face's `tojson` filter writes (`ensure_ascii=False`).
enum JinjaJSON {
    /// Parses JSON text (with ``JSONValue``'s parser); strings under a "content" key (and the "text" of a
    /// content part) are marked as message content, or every string when `markingAllStrings` (tools,
    /// tool-call arguments: text that came from the caller, not from the template). Numbers become
    /// integers or floats as Python's `json.loads` makes them.
    static func parse(_ text: String, markingAllStrings: Bool = false) throws(ChatTemplateError) -> JinjaValue {
        do {
            return value(try JSONValue(parsing: text), content: markingAllStrings)
        } catch {
            throw .render(error.message)
        }
    }

    /// The members of a JSON object, each value as JSON text, in order (a repeated key keeps its last
    /// value, as Python's `json.loads` does).
    static func objectMembers(_ text: String) throws(ChatTemplateError) -> [(String, String)] {
        let parsed: JSONValue
        do { parsed = try JSONValue(parsing: text) } catch { throw .render(error.message) }
        guard let members = parsed.object else { throw .render("invalid JSON: expected an object") }
        return members.map { ($0.key, $0.value.jsonText) }
    }

    private static func value(_ json: JSONValue, content: Bool) -> JinjaValue {
        switch json {
        case .null: return .none
        case .bool(let b): return .boolean(b)
        case .string(let s): return .string(s, isContent: content)
        case .number(let t):
            if !t.contains("."), !t.contains("e"), !t.contains("E"), let v = Int(t) { return .integer(v) }
            return .double(Double(t) ?? .nan)
        case .array(let items): return .list(items.map { value($0, content: content) })
        case .object(let members):
            var d = JinjaDict()
            for (k, v) in members { d[k] = value(v, content: content || k == "content" || k == "text") }
            return .dict(d)
        }
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
        JSONValue.quoted(s, ensureASCII: ensureASCII)
    }
}
