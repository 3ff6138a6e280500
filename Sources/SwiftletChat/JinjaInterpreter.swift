/// Renders a parsed template with Python jinja2's semantics (as Hugging Face configures it:
/// sandboxed and immutable, `loopcontrols` on, jinja2's default `Undefined`).
final class JinjaInterpreter {
    private enum Flow { case normal, breakLoop, continueLoop }

    private var scopes: [[String: JinjaValue]]
    private var output: [JinjaString.Piece] = []
    private var depth = 0
    /// Bounds on hostile templates: nesting of calls and the size of what is rendered.
    static let maximumDepth = 200
    static let maximumOutputBytes = 50_000_000
    /// Deepest nesting of lists, dicts and namespaces a namespace attribute may hold.
    static let maximumValueNesting = 128
    /// Most loop iterations and macro calls one render may make, so that nested loops over large ranges
    /// end with an error instead of running for hours (the size limits on strings and lists bound the
    /// work of each step). A template walking a conversation of thousands of messages, or of hundreds
    /// pairwise, stays below it.
    static let maximumSteps = 100_000
    private var steps = 0
    private var outputBytes = 0

    /// For a capability probe: a string to watch for. ``probeMarkerUsed`` turns true when the template
    /// reads it, as llama.cpp's `stats.used` does (see `ChatTemplateCapabilities`).
    let probeMarker: String?
    private(set) var probeMarkerUsed = false

    init(globals: [String: JinjaValue], probeMarker: String? = nil) {
        scopes = [globals]
        self.probeMarker = probeMarker
    }

    /// Notes a read of `v` (by name, attribute or index) for the probe, and returns it.
    private func watched(_ v: JinjaValue) -> JinjaValue {
        if let probeMarker, case .string(let s) = v, s.text == probeMarker { probeMarkerUsed = true }
        return v
    }

    /// Notes a filter that reads the whole of `v` (llama.cpp marks what `tojson` and `string` write).
    func watchDeep(_ v: JinjaValue) {
        if let probeMarker, v.contains(string: probeMarker) { probeMarkerUsed = true }
    }

    func render(_ nodes: [JinjaNode]) throws(ChatTemplateError) -> [JinjaString.Piece] {
        _ = try execute(nodes)
        return output
    }

    // MARK: Statements

    private func emit(_ s: JinjaString) throws(ChatTemplateError) {
        outputBytes += s.text.utf8.count
        guard outputBytes <= JinjaInterpreter.maximumOutputBytes else { throw .render("the template's output exceeds \(JinjaInterpreter.maximumOutputBytes) bytes") }
        output.append(contentsOf: s.pieces)
    }

    private func execute(_ nodes: [JinjaNode]) throws(ChatTemplateError) -> Flow {
        for node in nodes {
            let flow = try execute(node)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func execute(_ node: JinjaNode) throws(ChatTemplateError) -> Flow {
        switch node {
        case .text(let t):
            try emit(JinjaString(t))
        case .output(let e):
            try emit(try evaluate(e).rendered)
        case .ifBlock(let branches, let otherwise):
            for (condition, body) in branches where try evaluate(condition).truthy {
                return try execute(body)
            }
            return try execute(otherwise)
        case .forLoop(let targets, let iterableExpr, let filter, let body, let otherwise):
            return try runLoop(targets: targets, iterable: try evaluate(iterableExpr), filter: filter, body: body, otherwise: otherwise)
        case .set(let target, let valueExpr):
            try assign(target, try evaluate(valueExpr))
        case .setBlock(let target, let body):
            try assign(target, .string(try capture(body)))
        case .macro(let name, let parameters, let body):
            scopes[scopes.count - 1][name] = .function(makeMacro(name: name, parameters: parameters, body: body))
        case .callBlock(let callExpr, let body):
            // `caller()` inside the called macro renders the block.
            let captured = scopes
            let caller = JinjaFunction(name: "caller") { [unowned self] _, _ throws(ChatTemplateError) in
                let saved = self.scopes
                self.scopes = captured
                defer { self.scopes = saved }
                return .string(try self.capture(body))
            }
            scopes.append(["caller": .function(caller)])
            defer { scopes.removeLast() }
            try emit(try evaluate(callExpr).rendered)
        case .filterBlock(let filters, let body):
            var value = JinjaValue.string(try capture(body))
            for (name, args, kwargs) in filters {
                value = try applyFilter(name, value, try args.map { a throws(ChatTemplateError) in try evaluate(a) },
                                        try evaluateKeywords(kwargs))
            }
            try emit(value.rendered)
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        }
        return .normal
    }

    /// Renders `body` into a string instead of the output.
    private func capture(_ body: [JinjaNode]) throws(ChatTemplateError) -> JinjaString {
        let saved = output
        output = []
        defer { output = saved }
        _ = try execute(body)
        return JinjaString(pieces: output)
    }

    private func assign(_ target: JinjaTarget, _ value: JinjaValue) throws(ChatTemplateError) {
        switch target {
        case .name(let n):
            scopes[scopes.count - 1][n] = value
        case .attribute(let object, let attribute):
            guard case .namespace(let ns) = lookup(object) else {
                throw .render("cannot assign attribute '\(attribute)' on '\(object)': only a namespace() can be changed")
            }
            // The one mutation templates have is also the one way to build a cycle (a namespace holding
            // itself, which would leak and send printing into endless recursion) or to nest a value deeper
            // on every pass of a loop: both are refused here.
            var seen: [ObjectIdentifier: Int] = [:]
            guard let nesting = value.nesting(excluding: ns, seen: &seen) else {
                throw .render("cannot assign '\(object).\(attribute)': the value holds the namespace itself")
            }
            guard nesting < JinjaInterpreter.maximumValueNesting else {
                throw .render("cannot assign '\(object).\(attribute)': the value nests lists, dicts and namespaces "
                              + "more than \(JinjaInterpreter.maximumValueNesting) levels deep")
            }
            ns.attributes[attribute] = value
        case .tuple(let names):
            let items = try iterate(value)
            guard items.count == names.count else {
                throw .render("cannot unpack \(items.count) values into \(names.count) names")
            }
            for (n, v) in zip(names, items) { scopes[scopes.count - 1][n] = v }
        }
    }

    /// Counts one loop iteration or macro call against ``maximumSteps``.
    private func step() throws(ChatTemplateError) {
        steps += 1
        guard steps <= JinjaInterpreter.maximumSteps else {
            throw .render("the template ran more than \(JinjaInterpreter.maximumSteps) loop iterations and macro calls")
        }
    }

    private func runLoop(targets: [String], iterable: JinjaValue, filter: JinjaExpr?, body: [JinjaNode],
                         otherwise: [JinjaNode]) throws(ChatTemplateError) -> Flow {
        var items = try iterate(iterable)
        func bind(_ item: JinjaValue) throws(ChatTemplateError) {
            if targets.count == 1 {
                scopes[scopes.count - 1][targets[0]] = item
            } else {
                let parts = try iterate(item)
                guard parts.count == targets.count else { throw .render("cannot unpack \(parts.count) values into \(targets.count) names") }
                for (n, v) in zip(targets, parts) { scopes[scopes.count - 1][n] = v }
            }
        }
        scopes.append([:])
        defer { scopes.removeLast() }
        if let filter {
            var kept: [JinjaValue] = []
            for item in items {
                try step()
                try bind(item)
                if try evaluate(filter).truthy { kept.append(item) }
            }
            items = kept
        }
        if items.isEmpty {
            _ = try execute(otherwise)
            return .normal
        }
        let n = items.count
        for (i, item) in items.enumerated() {
            try step()
            try bind(item)
            var loop = JinjaDict([
                ("index", .integer(i + 1)), ("index0", .integer(i)), ("revindex", .integer(n - i)),
                ("revindex0", .integer(n - i - 1)), ("first", .boolean(i == 0)), ("last", .boolean(i == n - 1)),
                ("length", .integer(n)), ("depth", .integer(1)), ("depth0", .integer(0)),
                ("previtem", i > 0 ? items[i - 1] : .undefined("previtem")),
                ("nextitem", i + 1 < n ? items[i + 1] : .undefined("nextitem")),
            ])
            loop["cycle"] = .function(JinjaFunction(name: "cycle") { args, _ throws(ChatTemplateError) in
                guard !args.isEmpty else { throw .render("no items for cycling given") }
                return args[i % args.count]
            })
            scopes[scopes.count - 1]["loop"] = .dict(loop)
            let flow = try execute(body)
            if flow == .breakLoop { break }
        }
        return .normal
    }

    private func makeMacro(name: String, parameters: [(String, JinjaExpr?)], body: [JinjaNode]) -> JinjaFunction {
        JinjaFunction(name: name) { [unowned self] args, kwargs throws(ChatTemplateError) in
            var frame: [String: JinjaValue] = [:]
            var extra: [JinjaValue] = []
            for (i, a) in args.enumerated() {
                if i < parameters.count { frame[parameters[i].0] = a } else { extra.append(a) }
            }
            var extraKeywords = JinjaDict()
            for (k, v) in kwargs {
                if parameters.contains(where: { $0.0 == k }) { frame[k] = v } else { extraKeywords[k] = v }
            }
            for (p, def) in parameters where frame[p] == nil {
                frame[p] = try def.map { d throws(ChatTemplateError) in try self.evaluate(d) } ?? .undefined(p)
            }
            frame["varargs"] = .list(extra)
            frame["kwargs"] = .dict(extraKeywords)
            if let caller = self.lookupOptional("caller") { frame["caller"] = caller }
            try self.step()
            self.depth += 1
            defer { self.depth -= 1 }
            guard self.depth < JinjaInterpreter.maximumDepth else { throw .render("macro calls nested too deeply") }
            // A macro sees the template's top level and its own arguments, not its caller's locals.
            let saved = self.scopes
            self.scopes = [self.scopes[0], frame]
            defer { self.scopes = saved }
            return .string(try self.capture(body))
        }
    }

    // MARK: Expressions

    private func lookupOptional(_ name: String) -> JinjaValue? {
        for scope in scopes.reversed() { if let v = scope[name] { return v } }
        return nil
    }

    private func lookup(_ name: String) -> JinjaValue {
        lookupOptional(name) ?? JinjaBuiltins.global(name) ?? .undefined(name)
    }

    func evaluateKeywords(_ kwargs: [(String, JinjaExpr)]) throws(ChatTemplateError) -> [(String, JinjaValue)] {
        var out: [(String, JinjaValue)] = []
        for (k, e) in kwargs { out.append((k, try evaluate(e))) }
        return out
    }

    func evaluate(_ e: JinjaExpr) throws(ChatTemplateError) -> JinjaValue {
        depth += 1
        defer { depth -= 1 }
        guard depth < JinjaInterpreter.maximumDepth * 4 else { throw .render("expression nested too deeply") }
        switch e {
        case .literal(let v): return v
        case .name(let n, _): return probeMarker == nil ? lookup(n) : watched(lookup(n))
        case .list(let items):
            var out: [JinjaValue] = []
            for i in items { out.append(try evaluate(i)) }
            return .list(out)
        case .tuple(let items):
            var out: [JinjaValue] = []
            for i in items { out.append(try evaluate(i)) }
            return .list(out)
        case .dict(let pairs):
            var d = JinjaDict()
            for (k, v) in pairs {
                let key = try evaluate(k)
                switch key {
                case .list, .dict, .namespace, .function, .undefined:
                    throw .render("unhashable type: '\(key.typeName)'")
                default: d.set(key, try evaluate(v))
                }
            }
            return .dict(d)
        case .attribute(let base, let name, _):
            return watched(try attribute(try evaluate(base), name))
        case .subscript(let base, let index, _):
            return watched(try item(try evaluate(base), try evaluate(index)))
        case .slice(let base, let a, let b, let c):
            func opt(_ x: JinjaExpr?) throws(ChatTemplateError) -> Int? {
                guard let x else { return nil }
                let v = try evaluate(x)
                if case .none = v { return nil }
                guard case .integer(let i) = v else { throw .render("slice indices must be integers") }
                return i
            }
            return try JinjaBuiltins.slice(try evaluate(base), try opt(a), try opt(b), try opt(c))
        case .call(let callee, let args, let kwargs, _):
            let f = try evaluate(callee)
            var values: [JinjaValue] = []
            for a in args { values.append(try evaluate(a)) }
            let keywords = try evaluateKeywords(kwargs)
            guard case .function(let fn) = f else {
                if case .undefined(let n) = f { throw .render("'\(n)' is undefined") }
                throw .render("'\(f.typeName)' object is not callable")
            }
            return try fn.call(values, keywords)
        case .filter(let base, let name, let args, let kwargs, _):
            let v = try evaluate(base)
            var values: [JinjaValue] = []
            for a in args { values.append(try evaluate(a)) }
            return try applyFilter(name, v, values, try evaluateKeywords(kwargs))
        case .test(let base, let name, let args, let negated, _):
            let v = try evaluate(base)
            var values: [JinjaValue] = []
            for a in args { values.append(try evaluate(a)) }
            let r = try JinjaBuiltins.test(name, v, values)
            return .boolean(negated ? !r : r)
        case .unary(let op, let x):
            let v = try evaluate(x)
            switch (op, v) {
            case ("-", .integer(let i)): return .integer(-i)
            case ("-", .double(let d)): return .double(-d)
            case ("-", .boolean(let b)): return .integer(b ? -1 : 0)
            case ("+", .integer), ("+", .double): return v
            default: throw .render("bad operand type for unary \(op): '\(v.typeName)'")
            }
        case .binary(let op, let l, let r, _):
            return try JinjaBuiltins.binary(op, try evaluate(l), try evaluate(r))
        case .and(let l, let r):
            let a = try evaluate(l)
            return a.truthy ? try evaluate(r) : a
        case .or(let l, let r):
            let a = try evaluate(l)
            return a.truthy ? a : try evaluate(r)
        case .not(let x):
            return .boolean(!(try evaluate(x).truthy))
        case .conditional(let condition, let then, let otherwise):
            if try evaluate(condition).truthy { return try evaluate(then) }
            return try otherwise.map { o throws(ChatTemplateError) in try evaluate(o) } ?? .undefined("conditional expression")
        }
    }

    func applyFilter(_ name: String, _ v: JinjaValue, _ args: [JinjaValue], _ kwargs: [(String, JinjaValue)]) throws(ChatTemplateError) -> JinjaValue {
        try JinjaBuiltins.filter(name, v, args, kwargs, interpreter: self)
    }

    func attribute(_ base: JinjaValue, _ name: String) throws(ChatTemplateError) -> JinjaValue {
        switch base {
        case .undefined(let n): throw .render("'\(n)' is undefined")
        case .dict(let d):
            if JinjaBuiltins.dictMethods.contains(name) { return JinjaBuiltins.method(base, name) ?? .undefined(name) }
            return d[name] ?? .undefined(name)
        case .namespace(let ns): return ns.attributes[name] ?? .undefined(name)
        default:
            return JinjaBuiltins.method(base, name) ?? .undefined(name)
        }
    }

    func item(_ base: JinjaValue, _ index: JinjaValue) throws(ChatTemplateError) -> JinjaValue {
        switch (base, index) {
        case (.undefined(let n), _): throw .render("'\(n)' is undefined")
        case (.list(let l), _):
            guard let i = index.number.map(Int.init), index.typeName != "float" else { return .undefined("[]") }
            let k = i < 0 ? l.count + i : i
            return l.indices.contains(k) ? l[k] : .undefined("list index")
        case (.string(let s), _):
            guard case .integer(let i) = index else { return .undefined("[]") }
            let chars = Array(s.text)
            let k = i < 0 ? chars.count + i : i
            return chars.indices.contains(k) ? .string(String(chars[k]), isContent: s.hasContent) : .undefined("string index")
        case (.dict, .string(let key)):
            return try attributeOrUndefined(base, key.text)
        case (.namespace(let ns), .string(let key)):
            return ns.attributes[key.text] ?? .undefined(key.text)
        case (.dict(let d), _):
            return d.lookup(index) ?? .undefined(index.rendered.text)
        default:
            return .undefined("[]")
        }
    }

    private func attributeOrUndefined(_ base: JinjaValue, _ key: String) throws(ChatTemplateError) -> JinjaValue {
        if case .dict(let d) = base { return d[key] ?? .undefined(key) }
        return .undefined(key)
    }

    func iterate(_ v: JinjaValue) throws(ChatTemplateError) -> [JinjaValue] {
        switch v {
        case .undefined: return []
        case .list(let l): return l
        case .dict(let d): return d.keyValues
        case .string(let s): return s.text.map { .string(String($0), isContent: s.hasContent) }
        case .namespace(let ns): return ns.attributes.keys.map { .string($0) }
        default: throw .render("'\(v.typeName)' object is not iterable")
        }
    }
}
