import Foundation

/// The globals, operators, filters, tests and methods templates use, with Python's behaviour.
enum JinjaBuiltins {
    // MARK: Globals

    static func global(_ name: String) -> JinjaValue? {
        switch name {
        case "range":
            return .function(JinjaFunction(name: "range") { args, _ throws(ChatTemplateError) in
                let ints = try args.map { a throws(ChatTemplateError) -> Int in
                    guard case .integer(let i) = a else { throw .render("range() takes integers, got '\(a.typeName)'") }
                    return i
                }
                let (start, stop, step): (Int, Int, Int)
                switch ints.count {
                case 1: (start, stop, step) = (0, ints[0], 1)
                case 2: (start, stop, step) = (ints[0], ints[1], 1)
                case 3: (start, stop, step) = (ints[0], ints[1], ints[2])
                default: throw .render("range() takes 1 to 3 arguments")
                }
                guard step != 0 else { throw .render("range() arg 3 must not be zero") }
                // The distance to cover, in the direction of the step, fits a UInt even when the
                // difference of the two Ints does not (range(-2**63 + 1, 2**63 - 1)).
                let distance: UInt = step > 0 ? (stop > start ? UInt(bitPattern: stop &- start) : 0)
                    : (start > stop ? UInt(bitPattern: start &- stop) : 0)
                let count = distance == 0 ? 0 : (distance - 1) / step.magnitude + 1
                guard count <= JinjaBuiltins.maximumListCount else {
                    throw .render("range() of \(count) numbers is more than \(JinjaBuiltins.maximumListCount)")
                }
                // Every element lies between start and stop, so the wrapping arithmetic is exact.
                return .list((0..<Int(count)).map { .integer(start &+ $0 &* step) })
            })
        case "namespace":
            return .function(JinjaFunction(name: "namespace") { args, kwargs throws(ChatTemplateError) in
                var d = JinjaDict()
                for a in args { if case .dict(let x) = a { for (k, v) in x.pairs { d.set(x.keyValue(k), v) } } }
                for (k, v) in kwargs { d[k] = v }
                return .namespace(JinjaNamespace(d))
            })
        case "dict":
            return .function(JinjaFunction(name: "dict") { args, kwargs throws(ChatTemplateError) in
                var d = JinjaDict()
                for a in args { if case .dict(let x) = a { for (k, v) in x.pairs { d.set(x.keyValue(k), v) } } }
                for (k, v) in kwargs { d[k] = v }
                return .dict(d)
            })
        case "raise_exception":
            return .function(JinjaFunction(name: "raise_exception") { args, _ throws(ChatTemplateError) in
                throw .raised(args.first?.rendered.text ?? "")
            })
        default:
            return nil
        }
    }

    // MARK: Operators

    static func binary(_ op: String, _ a: JinjaValue, _ b: JinjaValue) throws(ChatTemplateError) -> JinjaValue {
        switch op {
        case "==": return .boolean(a == b)
        case "!=": return .boolean(a != b)
        case "<", ">", "<=", ">=":
            let c = try compare(a, b)
            switch op {
            case "<": return .boolean(c < 0)
            case ">": return .boolean(c > 0)
            case "<=": return .boolean(c <= 0)
            default: return .boolean(c >= 0)
            }
        case "in":
            switch b {
            case .string(let s):
                guard case .string(let x) = a else { throw .render("'in <string>' requires string as left operand, not \(a.typeName)") }
                return .boolean(x.text.isEmpty || s.text.contains(x.text))
            case .list(let l): return .boolean(l.contains(a))
            case .dict(let d): return .boolean(d.lookup(a) != nil)
            case .namespace(let ns): return .boolean(ns.attributes[a.rendered.text] != nil)
            case .undefined: return .boolean(false)
            default: throw .render("argument of type '\(b.typeName)' is not iterable")
            }
        case "~":
            let x = a.rendered, y = b.rendered
            try checkStringSize(x.text.utf8.count, plus: y.text.utf8.count, times: 1)
            return .string(x + y)
        case "+":
            switch (a, b) {
            case (.string(let x), .string(let y)):
                try checkStringSize(x.text.utf8.count, plus: y.text.utf8.count, times: 1)
                return .string(x + y)
            case (.list(let x), .list(let y)):
                try checkListCount(x.count, plus: y.count, times: 1)
                return .list(x + y)
            default: return try arithmetic(op, a, b)
            }
        case "*":
            switch (a, b) {
            case (.string(let s), .integer(let n)), (.integer(let n), .string(let s)):
                try checkStringSize(s.text.utf8.count, plus: 0, times: n)
                return .string(s.mapped { String(repeating: $0, count: max(0, n)) })
            case (.list(let l), .integer(let n)), (.integer(let n), .list(let l)):
                try checkListCount(l.count, plus: 0, times: n)
                return .list(Array(repeating: l, count: max(0, n)).flatMap { $0 })
            default: return try arithmetic(op, a, b)
            }
        default:
            return try arithmetic(op, a, b)
        }
    }

    /// Most elements a list built by `range`, `+` or `*` may have.
    static let maximumListCount = 1_000_000
    /// Most bytes a string built by `+` or `*` may have: what a whole render may write.
    static let maximumStringBytes = JinjaInterpreter.maximumOutputBytes

    /// Refuses a string of `(a + b) * times` bytes past ``maximumStringBytes`` before it is built.
    static func checkStringSize(_ a: Int, plus b: Int, times: Int) throws(ChatTemplateError) {
        let (bytes, overflow) = (a + b).multipliedReportingOverflow(by: max(0, times))
        guard !overflow, bytes <= maximumStringBytes else {
            throw .render("the string would be longer than \(maximumStringBytes) bytes")
        }
    }

    /// Refuses a list of `(a + b) * times` elements past ``maximumListCount`` before it is built.
    static func checkListCount(_ a: Int, plus b: Int, times: Int) throws(ChatTemplateError) {
        let (count, overflow) = (a + b).multipliedReportingOverflow(by: max(0, times))
        guard !overflow, count <= maximumListCount else {
            throw .render("the list would have more than \(maximumListCount) elements")
        }
    }

    private static func arithmetic(_ op: String, _ a: JinjaValue, _ b: JinjaValue) throws(ChatTemplateError) -> JinjaValue {
        func bad() -> ChatTemplateError {
            if case .undefined(let n) = a { return .render("'\(n)' is undefined") }
            if case .undefined(let n) = b { return .render("'\(n)' is undefined") }
            return .render("unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'")
        }
        let bothInts: (Int, Int)? = {
            switch (a, b) {
            case (.integer(let x), .integer(let y)): return (x, y)
            case (.integer(let x), .boolean(let y)): return (x, y ? 1 : 0)
            case (.boolean(let x), .integer(let y)): return (x ? 1 : 0, y)
            case (.boolean(let x), .boolean(let y)): return (x ? 1 : 0, y ? 1 : 0)
            default: return nil
            }
        }()
        if let (x, y) = bothInts {
            switch op {
            case "+": return .integer(x &+ y)
            case "-": return .integer(x &- y)
            case "*": return .integer(x &* y)
            case "/":
                guard y != 0 else { throw .render("division by zero") }
                return .double(Double(x) / Double(y))
            case "//":
                guard y != 0 else { throw .render("integer division or modulo by zero") }
                // Python's floor division, exactly; -2**63 // -1 is the one quotient an Int cannot hold.
                let (q, overflow) = x.dividedReportingOverflow(by: y)
                guard !overflow else { throw .render("integer overflow in \(x) // \(y)") }
                return .integer(x % y != 0 && (x < 0) != (y < 0) ? q - 1 : q)
            case "%":
                guard y != 0 else { throw .render("integer division or modulo by zero") }
                let r = x.remainderReportingOverflow(dividingBy: y).partialValue
                return .integer(r != 0 && (r < 0) != (y < 0) ? r + y : r)
            case "**":
                guard y >= 0 else { return .double(pow(Double(x), Double(y))) }
                guard let p = integerPower(x, y) else { throw .render("integer overflow in \(x) ** \(y)") }
                return .integer(p)
            default: throw bad()
            }
        }
        guard let x = a.number, let y = b.number else { throw bad() }
        switch op {
        case "+": return .double(x + y)
        case "-": return .double(x - y)
        case "*": return .double(x * y)
        case "/":
            guard y != 0 else { throw .render("float division by zero") }
            return .double(x / y)
        case "//":
            guard y != 0 else { throw .render("float floor division by zero") }
            return .double((x / y).rounded(.down))
        case "%":
            guard y != 0 else { throw .render("float modulo") }
            let r = x.truncatingRemainder(dividingBy: y)
            return .double(r != 0 && (r < 0) != (y < 0) ? r + y : r)
        case "**": return .double(pow(x, y))
        default: throw bad()
        }
    }

    /// `base ** exponent` by squaring, or nil when it does not fit an Int (Python's would be a big integer).
    static func integerPower(_ base: Int, _ exponent: Int) -> Int? {
        var result = 1, square = base, e = exponent
        while e > 0 {
            if e & 1 == 1 {
                let (r, overflow) = result.multipliedReportingOverflow(by: square)
                guard !overflow else { return nil }
                result = r
            }
            e >>= 1
            if e > 0 {
                let (s, overflow) = square.multipliedReportingOverflow(by: square)
                // A square too large matters only if a later bit multiplies it in: then the result overflows.
                guard !overflow else { return nil }
                square = s
            }
        }
        return result
    }

    static func compare(_ a: JinjaValue, _ b: JinjaValue) throws(ChatTemplateError) -> Int {
        if let x = a.number, let y = b.number { return x < y ? -1 : (x > y ? 1 : 0) }
        if case .string(let x) = a, case .string(let y) = b {
            // Python compares strings by code point.
            let xs = Array(x.text.unicodeScalars).map(\.value), ys = Array(y.text.unicodeScalars).map(\.value)
            return xs.lexicographicallyPrecedes(ys) ? -1 : (xs == ys ? 0 : 1)
        }
        if case .list(let x) = a, case .list(let y) = b {
            for (p, q) in zip(x, y) { let c = try compare(p, q); if c != 0 { return c } }
            return x.count < y.count ? -1 : (x.count > y.count ? 1 : 0)
        }
        throw .render("'<' not supported between instances of '\(a.typeName)' and '\(b.typeName)'")
    }

    static func slice(_ v: JinjaValue, _ start: Int?, _ stop: Int?, _ step: Int?) throws(ChatTemplateError) -> JinjaValue {
        let step = step ?? 1
        guard step != 0 else { throw .render("slice step cannot be zero") }
        func indices(_ n: Int) -> [Int] {
            func clamp(_ i: Int?, _ def: Int, lo: Int, hi: Int) -> Int {
                guard var i else { return def }
                if i < 0 { i += n }
                return min(max(i, lo), hi)
            }
            if step > 0 {
                let s = clamp(start, 0, lo: 0, hi: n), e = clamp(stop, n, lo: 0, hi: n)
                return Array(stride(from: s, to: e, by: step))
            }
            let s = clamp(start, n - 1, lo: -1, hi: n - 1), e = clamp(stop, -1, lo: -1, hi: n - 1)
            return Array(stride(from: s, to: e, by: step))
        }
        switch v {
        case .list(let l): return .list(indices(l.count).map { l[$0] })
        case .string(let s):
            let chars = Array(s.text)
            return .string(String(indices(chars.count).map { chars[$0] }), isContent: s.hasContent)
        case .undefined(let n): throw .render("'\(n)' is undefined")
        default: throw .render("'\(v.typeName)' object is not subscriptable")
        }
    }

    // MARK: Tests

    static func test(_ name: String, _ v: JinjaValue, _ args: [JinjaValue]) throws(ChatTemplateError) -> Bool {
        switch name {
        case "defined": return !v.isUndefined
        case "undefined": return v.isUndefined
        case "none": if case .none = v { return true }; return false
        case "string": if case .string = v { return true }; return false
        case "number": return v.number != nil
        case "integer": if case .integer = v { return true }; return false
        case "float": if case .double = v { return true }; return false
        case "boolean": if case .boolean = v { return true }; return false
        case "true": return v == .boolean(true) && v.typeName == "bool"
        case "false": return v == .boolean(false) && v.typeName == "bool"
        case "mapping": if case .dict = v { return true }; return false
        case "sequence", "iterable":
            // jinja2's Undefined iterates as empty and has a length, so it passes both.
            switch v { case .list, .string, .dict, .undefined: return true; default: return false }
        case "callable":
            switch v { case .function, .undefined: return true; default: return false }
        case "odd", "even", "divisibleby":
            guard case .integer(let i) = v else { throw .render("\(name) test needs an integer") }
            if name == "odd" { return i % 2 != 0 }
            if name == "even" { return i % 2 == 0 }
            guard case .integer(let d)? = args.first, d != 0 else { throw .render("divisibleby needs a non-zero integer") }
            return i % d == 0
        case "eq", "equalto", "==": return v == (args.first ?? .none)
        case "ne", "!=": return v != (args.first ?? .none)
        case "lt", "lessthan", "<": return try compare(v, args.first ?? .none) < 0
        case "gt", "greaterthan", ">": return try compare(v, args.first ?? .none) > 0
        case "le", "<=": return try compare(v, args.first ?? .none) <= 0
        case "ge", ">=": return try compare(v, args.first ?? .none) >= 0
        case "in": return try binary("in", v, args.first ?? .list([])).truthy
        case "sameas":
            let o = args.first ?? .none
            switch (v, o) {
            case (.none, .none): return true
            case (.boolean(let a), .boolean(let b)): return a == b
            default: return false
            }
        case "lower", "upper":
            // Python's str(value).islower() / isupper(): some cased character, none of the other case.
            let text = v.rendered.text
            let cased = text.contains { $0.isLowercase || $0.isUppercase }
            let other: (Character) -> Bool = name == "lower" ? { $0.isUppercase } : { $0.isLowercase }
            return cased && !text.contains(where: other)
        default: throw .render("no test named '\(name)'")
        }
    }

    // MARK: Methods (Python's str, dict and list methods templates call)

    /// The names of Python's dict methods. jinja2 looks an attribute up on the object before its items,
    /// so `schema.items` is the method even when the schema has an "items" key; the sandbox leaves the
    /// methods that change a dict undefined.
    static let dictMethods: Set<String> = ["items", "keys", "values", "get", "copy", "fromkeys", "clear", "pop",
                                           "popitem", "setdefault", "update"]

    static func method(_ base: JinjaValue, _ name: String) -> JinjaValue? {
        func fn(_ body: @escaping ([JinjaValue], [(String, JinjaValue)]) throws(ChatTemplateError) -> JinjaValue) -> JinjaValue {
            .function(JinjaFunction(name: name, call: body))
        }
        func str(_ args: [JinjaValue], _ i: Int) -> String? {
            if i < args.count, case .string(let s) = args[i] { return s.text }
            return nil
        }
        switch base {
        case .string(let s):
            let t = s.text
            switch name {
            case "strip", "lstrip", "rstrip":
                return fn { args, _ in
                    let chars = str(args, 0)
                    let set: (Character) -> Bool = chars.map { c in { c.contains($0) } } ?? { $0.isWhitespace }
                    return .string(s.stripped(leading: name != "rstrip", trailing: name != "lstrip", set))
                }
            case "upper": return fn { _, _ in .string(s.mapped { $0.uppercased() }) }
            case "lower": return fn { _, _ in .string(s.mapped { $0.lowercased() }) }
            case "title": return fn { _, _ in .string(s.mapped(titleCase)) }
            case "capitalize": return fn { _, _ in .string(s.mapped(capitalize)) }
            case "startswith", "endswith":
                return fn { args, _ throws(ChatTemplateError) in
                    var candidates: [String] = []
                    if case .list(let l)? = args.first { candidates = l.compactMap { if case .string(let x) = $0 { x.text } else { nil } } }
                    else if let p = str(args, 0) { candidates = [p] }
                    else { throw .render("\(name) takes a string") }
                    return .boolean(candidates.contains { name == "startswith" ? t.hasPrefix($0) : t.hasSuffix($0) })
                }
            case "split", "rsplit":
                return fn { args, kwargs in
                    let sep = str(args, 0) ?? kwargs.first(where: { $0.0 == "sep" }).flatMap { if case .string(let x) = $0.1 { x.text } else { nil } }
                    var maxSplit = -1
                    if args.count > 1, case .integer(let m) = args[1] { maxSplit = m }
                    return .list(pythonSplit(t, sep, maxSplit, fromRight: name == "rsplit").map { .string($0, isContent: s.hasContent) })
                }
            case "replace":
                return fn { args, _ throws(ChatTemplateError) in
                    guard let a = str(args, 0), let b = str(args, 1) else { throw .render("replace takes two strings") }
                    var count = -1
                    if args.count > 2, case .integer(let c) = args[2] { count = c }
                    try checkReplaceSize(t, a, b)
                    return .string(s.mapped { pythonReplace($0, a, b, count) })
                }
            case "find", "count", "index":
                return fn { args, _ throws(ChatTemplateError) in
                    guard let sub = str(args, 0) else { throw .render("\(name) takes a string") }
                    if name == "count" { return .integer(sub.isEmpty ? t.count + 1 : t.components(separatedBy: sub).count - 1) }
                    guard let r = t.range(of: sub) else {
                        if name == "index" { throw .render("substring not found") }
                        return .integer(-1)
                    }
                    return .integer(t.distance(from: t.startIndex, to: r.lowerBound))
                }
            case "join":
                return fn { args, _ throws(ChatTemplateError) in
                    guard case .list(let l)? = args.first else { throw .render("join takes a list") }
                    return .string(try join(l, JinjaString(t)))
                }
            case "isdigit": return fn { _, _ in .boolean(!t.isEmpty && t.allSatisfy(\.isNumber)) }
            case "isspace": return fn { _, _ in .boolean(!t.isEmpty && t.allSatisfy(\.isWhitespace)) }
            case "format":
                return fn { args, _ in
                    var out = t, i = 0
                    while let r = out.range(of: "{}"), i < args.count { out.replaceSubrange(r, with: args[i].rendered.text); i += 1 }
                    return .string(out, isContent: s.hasContent)
                }
            default: return nil
            }
        case .dict(let d):
            switch name {
            case "items": return fn { _, _ in .list(d.pairs.map { .list([d.keyValue($0.0), $0.1]) }) }
            case "keys": return fn { _, _ in .list(d.keyValues) }
            case "copy": return fn { _, _ in base }
            case "values": return fn { _, _ in .list(d.pairs.map(\.1)) }
            case "get":
                return fn { args, _ in
                    guard let k = args.first else { return .none }
                    return d.lookup(k) ?? (args.count > 1 ? args[1] : .none)
                }
            default: return nil
            }
        case .list:
            switch name {
            case "append", "pop", "insert", "extend", "remove", "clear", "sort", "reverse":
                return fn { _, _ throws(ChatTemplateError) in throw .render("access to '\(name)' on a list is not allowed in a sandboxed template (it would change the list)") }
            case "index":
                return fn { args, _ throws(ChatTemplateError) in
                    guard case .list(let l) = base, let x = args.first, let i = l.firstIndex(of: x) else { throw .render("value is not in list") }
                    return .integer(i)
                }
            case "count":
                return fn { args, _ in
                    guard case .list(let l) = base, let x = args.first else { return .integer(0) }
                    return .integer(l.filter { $0 == x }.count)
                }
            default: return nil
            }
        default:
            return nil
        }
    }

    /// Python's `separator.join(items)`, each item rendered; the pieces are gathered and merged once, so
    /// the cost is linear in the result, which may not pass ``maximumStringBytes``.
    static func join(_ items: [JinjaValue], _ separator: JinjaString) throws(ChatTemplateError) -> JinjaString {
        var pieces: [JinjaString.Piece] = []
        var bytes = 0
        for (i, v) in items.enumerated() {
            let s = v.rendered
            bytes += s.text.utf8.count + (i > 0 ? separator.text.utf8.count : 0)
            try checkStringSize(bytes, plus: 0, times: 1)
            if i > 0 { pieces += separator.pieces }
            pieces += s.pieces
        }
        return JinjaString(pieces: pieces)
    }

    /// Refuses a `replace` whose result could pass ``maximumStringBytes``: every occurrence of `old` (one
    /// between each character when it is empty) replaced by `new`.
    static func checkReplaceSize(_ text: String, _ old: String, _ new: String) throws(ChatTemplateError) {
        let n = text.utf8.count, added = new.utf8.count - old.utf8.count
        guard added > 0 else { return }
        let occurrences = old.isEmpty ? text.count + 1 : n / old.utf8.count
        try checkStringSize(n, plus: 0, times: 1)
        let (extra, overflow) = occurrences.multipliedReportingOverflow(by: added)
        try checkStringSize(n, plus: overflow ? Int.max / 2 : min(extra, Int.max / 2), times: 1)
    }

    static func titleCase(_ s: String) -> String {
        var out = "", previousCased = false
        for c in s {
            out += previousCased ? c.lowercased() : c.uppercased()
            previousCased = c.isLetter
        }
        return out
    }

    /// jinja2's `title` filter (unlike Python's `str.title`): a word begins after whitespace or one of
    /// `-({[<`, and each word is capitalized.
    static func jinjaTitle(_ s: String) -> String {
        var out = "", atWordStart = true
        for c in s {
            if c.isWhitespace || "-({[<".contains(c) {
                out.append(c)
                atWordStart = true
            } else {
                out += atWordStart ? c.uppercased() : c.lowercased()
                atWordStart = false
            }
        }
        return out
    }

    static func capitalize(_ s: String) -> String {
        guard let f = s.first else { return s }
        return f.uppercased() + s.dropFirst().lowercased()
    }

    static func pythonSplit(_ s: String, _ sep: String?, _ maxSplit: Int, fromRight: Bool) -> [String] {
        guard let sep, !sep.isEmpty else {
            let words = s.split(whereSeparator: \.isWhitespace).map(String.init)
            guard maxSplit >= 0, words.count > maxSplit + 1 else { return words }
            // Rare: maxsplit with whitespace splitting; keep the rest as it was written.
            if fromRight { return words }
            var rest = Substring(s).drop(while: \.isWhitespace)
            var out: [String] = []
            for _ in 0..<maxSplit {
                let w = rest.prefix(while: { !$0.isWhitespace })
                out.append(String(w))
                rest = rest.dropFirst(w.count).drop(while: \.isWhitespace)
            }
            out.append(String(rest))
            return out
        }
        var parts = s.components(separatedBy: sep)
        if maxSplit >= 0, parts.count > maxSplit + 1 {
            if fromRight {
                let keep = parts.suffix(maxSplit)
                parts = [parts.dropLast(maxSplit).joined(separator: sep)] + keep
            } else {
                parts = Array(parts.prefix(maxSplit)) + [parts.dropFirst(maxSplit).joined(separator: sep)]
            }
        }
        return parts
    }

    static func pythonReplace(_ s: String, _ a: String, _ b: String, _ count: Int) -> String {
        guard count >= 0 else {
            if a.isEmpty { return b + s.map { String($0) + b }.joined() }
            return s.replacingOccurrences(of: a, with: b)
        }
        var out = s, done = 0, searchStart = out.startIndex
        while done < count, let r = out.range(of: a, range: searchStart..<out.endIndex), !a.isEmpty {
            out.replaceSubrange(r, with: b)
            searchStart = out.index(r.lowerBound, offsetBy: b.count)
            done += 1
        }
        return out
    }
}
