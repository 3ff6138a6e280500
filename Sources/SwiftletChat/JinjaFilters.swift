import Foundation

extension JinjaBuiltins {
    /// Python's `int(d)` for a finite double: nil for an infinity or NaN (the filter's default), an error
    /// for a value past an Int's range (Python's would be a big integer).
    static func truncated(_ d: Double) throws(ChatTemplateError) -> JinjaValue? {
        guard d.isFinite else { return nil }
        guard let i = Int(exactly: d.rounded(.towardZero)) else {
            throw .render("int: \(JinjaValue.pythonFloat(d)) is out of the integer range")
        }
        return .integer(i)
    }

    /// `value | name(args)`, as jinja2's builtin filters (and Hugging Face's `tojson`) behave.
    static func filter(_ name: String, _ v: JinjaValue, _ args: [JinjaValue], _ kwargs: [(String, JinjaValue)],
                       interpreter: JinjaInterpreter) throws(ChatTemplateError) -> JinjaValue {
        func kw(_ key: String, _ position: Int) -> JinjaValue? {
            kwargs.first(where: { $0.0 == key })?.1 ?? (position < args.count ? args[position] : nil)
        }
        // jinja2's default Undefined prints as "", so string filters take it as "".
        func needString() throws(ChatTemplateError) -> JinjaString { v.rendered }
        func items() throws(ChatTemplateError) -> [JinjaValue] { try interpreter.iterate(v) }
        func attributeOf(_ x: JinjaValue, _ path: String) throws(ChatTemplateError) -> JinjaValue {
            var cur = x
            for part in path.split(separator: ".") {
                if let i = Int(part) { cur = try interpreter.item(cur, .integer(i)) } else { cur = try interpreter.item(cur, .string(String(part))) }
                if cur.isUndefined { return cur }
            }
            return cur
        }
        switch name {
        case "trim":
            let chars: String? = { if case .string(let s)? = kw("chars", 0) { return s.text }; return nil }()
            return .string(try needString().stripped { chars?.contains($0) ?? $0.isWhitespace })
        case "length", "count":
            switch v {
            case .string(let s): return .integer(s.text.count)
            case .list(let l): return .integer(l.count)
            case .dict(let d): return .integer(d.count)
            case .undefined: return .integer(0)
            default: throw .render("object of type '\(v.typeName)' has no len()")
            }
        case "tojson":
            interpreter.watchDeep(v)
            // Hugging Face's filter: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
            var style = JinjaJSON.Style()
            switch kw("indent", 1) {
            case nil, .none?: break
            case .integer(let n)?: style = JinjaJSON.Style(indent: String(repeating: " ", count: max(0, min(n, 1000))))
            case .boolean(let b)?: style = JinjaJSON.Style(indent: b ? " " : "")
            case .string(let s)?: style = JinjaJSON.Style(indent: s.text)
            case let other?: throw .render("tojson: indent must be an integer or a string, not '\(other.typeName)'")
            }
            switch kw("separators", 2) {
            case nil, .none?: break
            case .list(let l)? where l.count == 2:
                guard case .string(let item) = l[0], case .string(let key) = l[1] else {
                    throw .render("tojson: separators must be two strings")
                }
                (style.itemSeparator, style.keySeparator) = (item.text, key.text)
            default: throw .render("tojson: separators must be a pair of strings")
            }
            style.sortKeys = kw("sort_keys", 3)?.truthy ?? false
            style.ensureASCII = kw("ensure_ascii", 0)?.truthy ?? false
            return .string(try JinjaJSON.dumps(v, style: style))
        case "upper": return .string(try needString().mapped { $0.uppercased() })
        case "lower": return .string(try needString().mapped { $0.lowercased() })
        case "title": return .string(try needString().mapped(jinjaTitle))
        case "capitalize": return .string(try needString().mapped(capitalize))
        case "default", "d":
            let fallback = kw("default_value", 0) ?? .string("")
            let boolean = kw("boolean", 1)?.truthy ?? false
            if v.isUndefined || (boolean && !v.truthy) { return fallback }
            return v
        case "join":
            var list = try items()
            if case .string(let attr)? = kw("attribute", 1) { list = try list.map { x throws(ChatTemplateError) in try attributeOf(x, attr.text) } }
            let sep: JinjaString = { if case .string(let s)? = kw("d", 0) { return s }; return JinjaString("") }()
            return .string(try JinjaBuiltins.join(list, sep))
        case "replace":
            guard case .string(let a)? = kw("old", 0), case .string(let b)? = kw("new", 1) else { throw .render("replace takes two strings") }
            var count = -1
            if case .integer(let c)? = kw("count", 2) { count = c }
            let text = try needString()
            try JinjaBuiltins.checkReplaceSize(text.text, a.text, b.text)
            return .string(text.mapped { pythonReplace($0, a.text, b.text, count) })
        case "first":
            let l = try items()
            return l.first ?? .undefined("first")
        case "last":
            let l = try items()
            return l.last ?? .undefined("last")
        case "list": return .list(try items())
        case "string":
            interpreter.watchDeep(v)
            return .string(v.rendered)
        case "safe", "e", "escape", "forceescape":
            if name == "safe" { return v }
            return .string(try needString().mapped {
                $0.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                    .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&#34;")
                    .replacingOccurrences(of: "'", with: "&#39;")
            })
        case "int":
            let def = kw("default", 0) ?? .integer(0)
            switch v {
            case .integer: return v
            case .double(let d): return try truncated(d) ?? def
            case .boolean(let b): return .integer(b ? 1 : 0)
            case .string(let s):
                let t = s.text.trimmingCharacters(in: .whitespaces)
                if let i = Int(t) { return .integer(i) }
                if let d = Double(t) { return try truncated(d) ?? def }
                return def
            default: return def
            }
        case "float":
            let def = kw("default", 0) ?? .double(0)
            switch v {
            case .integer(let i): return .double(Double(i))
            case .double: return v
            case .boolean(let b): return .double(b ? 1 : 0)
            case .string(let s): return Double(s.text.trimmingCharacters(in: .whitespaces)).map(JinjaValue.double) ?? def
            default: return def
            }
        case "abs":
            switch v {
            case .integer(let i): return .integer(abs(i))
            case .double(let d): return .double(abs(d))
            default: throw .render("bad operand type for abs(): '\(v.typeName)'")
            }
        case "round":
            guard let x = v.number else { throw .render("round needs a number") }
            var precision = 0
            if case .integer(let p)? = kw("precision", 0) { precision = p }
            let method: String = { if case .string(let m)? = kw("method", 1) { return m.text }; return "common" }()
            let scale = pow(10.0, Double(precision))
            let rule: FloatingPointRoundingRule = method == "ceil" ? .up : (method == "floor" ? .down : .toNearestOrEven)
            return .double((x * scale).rounded(rule) / scale)
        case "items":
            switch v {
            case .dict(let d): return .list(d.pairs.map { .list([d.keyValue($0.0), $0.1]) })
            case .undefined: return .list([])
            default: throw .render("items needs a mapping")
            }
        case "dictsort":
            guard case .dict(let d) = v else { throw .render("dictsort needs a mapping") }
            let byValue: Bool = { if case .string(let s)? = kw("by", 1) { return s.text == "value" }; return false }()
            let reverse = kw("reverse", 2)?.truthy ?? false
            // jinja2 compares string keys (or values) ignoring case unless case_sensitive.
            let caseSensitive = kw("case_sensitive", 0)?.truthy ?? false
            func folded(_ x: JinjaValue) -> JinjaValue {
                if !caseSensitive, case .string(let s) = x { return .string(s.text.lowercased()) }
                return x
            }
            var pairs = d.pairs.map { (d.keyValue($0.0), $0.1) }
            var failure: ChatTemplateError?
            pairs.sort { a, b in
                do {
                    let c = byValue ? try compare(folded(a.1), folded(b.1)) : try compare(folded(a.0), folded(b.0))
                    return reverse ? c > 0 : c < 0
                } catch { failure = error as? ChatTemplateError; return false }
            }
            if let failure { throw failure }
            return .list(pairs.map { .list([$0.0, $0.1]) })
        case "selectattr", "rejectattr":
            guard case .string(let attr)? = args.first else { throw .render("\(name) needs an attribute name") }
            let select = name == "selectattr"
            var out: [JinjaValue] = []
            for x in try items() {
                let a = try attributeOf(x, attr.text)
                let ok: Bool
                if args.count > 1, case .string(let test) = args[1] {
                    ok = try JinjaBuiltins.test(test.text, a, Array(args.dropFirst(2)))
                } else {
                    ok = a.truthy
                }
                if ok == select { out.append(x) }
            }
            return .list(out)
        case "select", "reject":
            let select = name == "select"
            var out: [JinjaValue] = []
            for x in try items() {
                let ok: Bool
                if case .string(let test)? = args.first {
                    ok = try JinjaBuiltins.test(test.text, x, Array(args.dropFirst()))
                } else {
                    ok = x.truthy
                }
                if ok == select { out.append(x) }
            }
            return .list(out)
        case "map":
            if case .string(let attr)? = kwargs.first(where: { $0.0 == "attribute" })?.1 {
                let def = kwargs.first(where: { $0.0 == "default" })?.1
                return .list(try items().map { x throws(ChatTemplateError) in
                    let a = try attributeOf(x, attr.text)
                    return a.isUndefined ? (def ?? a) : a
                })
            }
            guard case .string(let f)? = args.first else { throw .render("map needs a filter name or attribute=") }
            return .list(try items().map { x throws(ChatTemplateError) in
                try filter(f.text, x, Array(args.dropFirst()), [], interpreter: interpreter)
            })
        case "unique":
            var out: [JinjaValue] = []
            for x in try items() where !out.contains(x) { out.append(x) }
            return .list(out)
        case "reverse":
            if case .string(let s) = v { return .string(s.mapped { String($0.reversed()) }) }
            return .list(try items().reversed())
        case "sort":
            let reverse = kw("reverse", 0)?.truthy ?? false
            let attr: String? = { if case .string(let s)? = kw("attribute", 2) { return s.text }; return nil }()
            var list = try items()
            var failure: ChatTemplateError?
            list.sort { a, b in
                do {
                    let x = try attr.map { try attributeOf(a, $0) } ?? a, y = try attr.map { try attributeOf(b, $0) } ?? b
                    let c = try compare(x, y)
                    return reverse ? c > 0 : c < 0
                } catch { failure = error as? ChatTemplateError; return false }
            }
            if let failure { throw failure }
            return .list(list)
        case "sum":
            var total = JinjaValue.integer(0)
            for x in try items() { total = try binary("+", total, x) }
            return total
        case "min", "max":
            let l = try items()
            guard var best = l.first else { return .undefined(name) }
            for x in l.dropFirst() {
                let c = try compare(x, best)
                if c != 0, (c < 0) == (name == "min") { best = x }
            }
            return best
        case "indent":
            var width = 4
            // Python's `" " * width`: nothing for a negative width; capped as tojson's indent is.
            if case .integer(let w)? = kw("width", 0) { width = max(0, min(w, 1000)) }
            let indentString: String = { if case .string(let s)? = kw("width", 0) { return s.text }; return String(repeating: " ", count: width) }()
            let first = kw("first", 1)?.truthy ?? false
            let blank = kw("blank", 2)?.truthy ?? false
            return .string(try needString().mapped { text in
                var lines = text.components(separatedBy: "\n")
                for i in lines.indices where i > 0 || first {
                    if blank || !lines[i].isEmpty { lines[i] = indentString + lines[i] }
                }
                return lines.joined(separator: "\n")
            })
        case "wordcount":
            return .integer(try needString().text.split(whereSeparator: { $0.isWhitespace }).count)
        case "batch":
            guard case .integer(let size)? = args.first, size > 0 else { throw .render("batch needs a positive size") }
            let l = try items()
            return .list(stride(from: 0, to: l.count, by: size).map { .list(Array(l[$0..<min($0 + size, l.count)])) })
        case "center":
            var width = 80
            if case .integer(let w)? = args.first { width = w }
            let s = try needString().text
            let pad = width > s.count ? width - s.count : 0, left = pad / 2
            try JinjaBuiltins.checkStringSize(s.utf8.count, plus: pad, times: 1)
            return .string(String(repeating: " ", count: left) + s + String(repeating: " ", count: pad - left))
        default:
            throw .render("no filter named '\(name)'")
        }
    }
}
