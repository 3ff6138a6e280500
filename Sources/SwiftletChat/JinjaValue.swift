import Foundation

/// A string that remembers which of its parts came from a message's content, so a rendered chat can be
/// tokenized with special tokens parsed in the template's own text only.
struct JinjaString: Equatable {
    struct Piece: Equatable {
        var text: String
        var isContent: Bool
    }
    private(set) var pieces: [Piece]
    let text: String

    init(_ text: String, isContent: Bool = false) {
        self.text = text
        pieces = text.isEmpty ? [] : [Piece(text: text, isContent: isContent)]
    }

    init(pieces: [Piece]) {
        var merged: [Piece] = []
        for p in pieces where !p.text.isEmpty {
            if let last = merged.last, last.isContent == p.isContent {
                merged[merged.count - 1].text += p.text
            } else {
                merged.append(p)
            }
        }
        self.pieces = merged
        text = merged.map(\.text).joined()
    }

    var hasContent: Bool { pieces.contains(where: \.isContent) }

    static func + (a: JinjaString, b: JinjaString) -> JinjaString { JinjaString(pieces: a.pieces + b.pieces) }

    /// A transformed copy: one piece, content if any input piece was.
    func mapped(_ f: (String) -> String) -> JinjaString { JinjaString(f(text), isContent: hasContent) }

    /// Strips characters in `set` from the ends, across pieces, keeping each piece's provenance.
    func stripped(leading: Bool = true, trailing: Bool = true, _ set: (Character) -> Bool) -> JinjaString {
        var ps = pieces
        if leading {
            while let first = ps.first {
                let t = first.text.drop(while: set)
                if t.isEmpty { ps.removeFirst() } else { ps[0].text = String(t); break }
            }
        }
        if trailing {
            while let last = ps.last {
                var t = Substring(last.text)
                while let c = t.last, set(c) { t = t.dropLast() }
                if t.isEmpty { ps.removeLast() } else { ps[ps.count - 1].text = String(t); break }
            }
        }
        return JinjaString(pieces: ps)
    }

    static func == (a: JinjaString, b: JinjaString) -> Bool { a.text == b.text }
}

/// A namespace() object: the one mutable value templates have (`{% set ns.found = true %}`).
final class JinjaNamespace {
    var attributes: JinjaDict
    init(_ attributes: JinjaDict) { self.attributes = attributes }
}

/// A callable value: a macro, a builtin like `range`, or a bound method like `text.strip`.
struct JinjaFunction {
    let name: String
    let call: ([JinjaValue], [(String, JinjaValue)]) throws(ChatTemplateError) -> JinjaValue
}

/// An insertion-ordered dictionary (JSON objects, dict literals, loop objects). Keys are strings, as
/// JSON's are; a dict literal may also use numbers, booleans or none (`{0: 0, 512: 128}`), which are
/// stored under an internal string and keep their value for iteration, printing and lookups.
struct JinjaDict: Equatable {
    private(set) var keys: [String] = []
    private var storage: [String: JinjaValue] = [:]
    /// The key value of each internal string standing for a key that is not a string.
    private var otherKeys: [String: JinjaValue] = [:]

    init() {}
    init(_ pairs: [(String, JinjaValue)]) {
        // Sized once: a loop builds one of these (`loop`) on every iteration.
        keys.reserveCapacity(pairs.count)
        storage.reserveCapacity(pairs.count)
        for (k, v) in pairs { self[k] = v }
    }

    subscript(key: String) -> JinjaValue? {
        get { storage[key] }
        set {
            if storage[key] == nil, newValue != nil { keys.append(key) }
            if newValue == nil { keys.removeAll { $0 == key } }
            storage[key] = newValue
        }
    }

    var count: Int { keys.count }
    var pairs: [(String, JinjaValue)] { keys.map { ($0, storage[$0]!) } }

    /// The internal string of a key: a string itself; another value a string no JSON key holds, equal
    /// for keys Python finds equal (`1`, `1.0` and `True`).
    private static func internalKey(_ key: JinjaValue) -> String {
        switch key {
        case .string(let s): return s.text
        case .none: return "\u{0}None"
        case .boolean, .integer, .double:
            let d = key.number ?? 0
            if d == d.rounded(), abs(d) < 1e18 { return "\u{0}" + String(Int(d)) }
            return "\u{0}" + JinjaValue.pythonFloat(d)
        default: return "\u{0}" + key.pythonRepr()
        }
    }

    /// The key as the template sees it: the string, or the value a literal gave.
    func keyValue(_ key: String) -> JinjaValue { otherKeys[key] ?? .string(key) }

    /// The keys as values, in order.
    var keyValues: [JinjaValue] { keys.map(keyValue) }

    /// Python's `d[key]`: a string finds a string key, another value a key equal to it.
    func lookup(_ key: JinjaValue) -> JinjaValue? { storage[JinjaDict.internalKey(key)] }

    /// Python's `d[key] = value`.
    mutating func set(_ key: JinjaValue, _ value: JinjaValue) {
        let k = JinjaDict.internalKey(key)
        if case .string = key {} else if otherKeys[k] == nil { otherKeys[k] = key }
        self[k] = value
    }

    static func == (a: JinjaDict, b: JinjaDict) -> Bool {
        a.keys.count == b.keys.count && a.keys.allSatisfy { b.storage[$0] == a.storage[$0] }
    }
}

/// A value in a template, with Python's semantics (jinja2 runs on Python objects).
enum JinjaValue: Equatable {
    case undefined(String)
    case none
    case boolean(Bool)
    case integer(Int)
    case double(Double)
    case string(JinjaString)
    case list([JinjaValue])
    case dict(JinjaDict)
    case namespace(JinjaNamespace)
    case function(JinjaFunction)

    static func string(_ s: String, isContent: Bool = false) -> JinjaValue { .string(JinjaString(s, isContent: isContent)) }

    var isUndefined: Bool { if case .undefined = self { return true } else { return false } }

    /// Python truthiness.
    var truthy: Bool {
        switch self {
        case .undefined, .none: false
        case .boolean(let b): b
        case .integer(let i): i != 0
        case .double(let d): d != 0
        case .string(let s): !s.text.isEmpty
        case .list(let l): !l.isEmpty
        case .dict(let d): d.count > 0
        case .namespace, .function: true
        }
    }

    var typeName: String {
        switch self {
        case .undefined: "undefined"
        case .none: "NoneType"
        case .boolean: "bool"
        case .integer: "int"
        case .double: "float"
        case .string: "str"
        case .list: "list"
        case .dict: "dict"
        case .namespace: "Namespace"
        case .function: "function"
        }
    }

    /// `str(x)` as Python prints it; what `{{ x }}` outputs.
    var rendered: JinjaString {
        switch self {
        case .undefined: JinjaString("")
        case .string(let s): s
        default: JinjaString(pythonRepr(topLevel: true))
        }
    }

    /// Python's `repr` (or `str` at top level, where strings print bare).
    func pythonRepr(topLevel: Bool = false) -> String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .boolean(let b): return b ? "True" : "False"
        case .integer(let i): return String(i)
        case .double(let d): return JinjaValue.pythonFloat(d)
        case .string(let s): return topLevel ? s.text : JinjaValue.pythonQuoted(s.text)
        case .list(let l): return "[" + l.map { $0.pythonRepr() }.joined(separator: ", ") + "]"
        case .dict(let d):
            let items = d.pairs.map { d.keyValue($0.0).pythonRepr() + ": " + $0.1.pythonRepr() }
            return "{" + items.joined(separator: ", ") + "}"
        case .namespace: return "<Namespace>"
        case .function(let f): return "<function \(f.name)>"
        }
    }

    static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == d.rounded(), abs(d) < 1e16 { return String(format: "%.1f", d) }
        var s = "\(d)"
        // Swift writes 1e-05 as "1e-05" like Python; it writes 1e+16 as "1e+16" like Python.
        if s.hasSuffix(".0") { s.removeLast(2) }
        return s
    }

    static func pythonQuoted(_ s: String) -> String {
        let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(c) == quote { out += "\\" + String(c) }
                else if c.value < 0x20 || c.value == 0x7F { out += String(format: "\\x%02x", c.value) }
                else { out.unicodeScalars.append(c) }
            }
        }
        out.append(quote)
        return out
    }

    static func == (a: JinjaValue, b: JinjaValue) -> Bool {
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.boolean(let x), .boolean(let y)): return x == y
        case (.string(let x), .string(let y)): return x.text == y.text
        case (.list(let x), .list(let y)): return x == y
        case (.dict(let x), .dict(let y)): return x == y
        case (.namespace(let x), .namespace(let y)): return x === y
        default:
            if let x = a.number, let y = b.number { return x == y }
            return false
        }
    }

    /// How deeply the value nests lists, dicts and namespaces (a scalar is 0), or nil when `excluded` is
    /// reachable from it. `seen` remembers the nesting of each namespace already walked, so a value that
    /// holds one namespace many times costs one walk of it.
    func nesting(excluding excluded: JinjaNamespace, seen: inout [ObjectIdentifier: Int]) -> Int? {
        func deepest(_ values: some Sequence<JinjaValue>, _ seen: inout [ObjectIdentifier: Int]) -> Int? {
            var d = 0
            for v in values {
                guard let n = v.nesting(excluding: excluded, seen: &seen) else { return nil }
                d = Swift.max(d, n)
            }
            return d + 1
        }
        switch self {
        case .list(let l): return deepest(l, &seen)
        case .dict(let d): return deepest(d.pairs.lazy.map(\.1), &seen)
        case .namespace(let ns):
            if ns === excluded { return nil }
            if let known = seen[ObjectIdentifier(ns)] { return known }
            guard let n = deepest(ns.attributes.pairs.lazy.map(\.1), &seen) else { return nil }
            seen[ObjectIdentifier(ns)] = n
            return n
        default: return 0
        }
    }

    /// True when the value is the string `text` or holds it, at any depth.
    func contains(string text: String) -> Bool {
        switch self {
        case .string(let s): s.text == text
        case .list(let l): l.contains { $0.contains(string: text) }
        case .dict(let d): d.pairs.contains { $0.0 == text || $0.1.contains(string: text) }
        case .namespace(let ns): JinjaValue.dict(ns.attributes).contains(string: text)
        default: false
        }
    }

    /// The value as a number when it is one (bool counts, as in Python).
    var number: Double? {
        switch self {
        case .integer(let i): Double(i)
        case .double(let d): d
        case .boolean(let b): b ? 1 : 0
        default: nil
        }
    }
}
