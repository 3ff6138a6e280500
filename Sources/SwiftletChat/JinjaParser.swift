/// Parses the lexer's chunks into a tree of ``JinjaNode``s (recursive descent, Jinja's precedence).
struct JinjaParser {
    private let lexer: JinjaLexer
    private let chunks: [JinjaLexer.Chunk]
    private var position = 0
    // The tokens of the tag or output being parsed.
    private var tokens: [JinjaLexer.Token] = []
    private var cursor = 0
    private var tagOffset = 0
    /// How deeply the blocks and expressions being parsed nest: the parser recurses once per level, so a
    /// template of thousands of `(` or `{% if %}` would otherwise exhaust the stack.
    private var nesting = 0
    static let maximumNesting = 100

    init(_ lexer: JinjaLexer) throws(ChatTemplateError) {
        self.lexer = lexer
        chunks = try lexer.chunks()
    }

    mutating func parseTemplate() throws(ChatTemplateError) -> [JinjaNode] {
        let (nodes, end) = try parseBody(until: [])
        if let end { throw lexer.error("unexpected '\(end)'", at: tagOffset) }
        return nodes
    }

    /// Parses nodes until a statement whose keyword is in `enders`; returns them and that keyword
    /// (its tag's remaining tokens are left for the caller).
    private mutating func parseBody(until enders: Set<String>) throws(ChatTemplateError) -> ([JinjaNode], String?) {
        try enter()
        defer { nesting -= 1 }
        var nodes: [JinjaNode] = []
        while position < chunks.count {
            let chunk = chunks[position]
            position += 1
            switch chunk {
            case .text(let t):
                nodes.append(.text(t))
            case .output(let toks, let at):
                begin(toks, at: at)
                let e = try parseExpression()
                try expectEnd()
                nodes.append(.output(e))
            case .statement(let toks, let at):
                begin(toks, at: at)
                guard case .name(let keyword)? = peek?.kind else { throw lexer.error("expected a statement keyword", at: at) }
                if enders.contains(keyword) {
                    cursor += 1
                    return (nodes, keyword)
                }
                cursor += 1
                nodes.append(try parseStatement(keyword))
            }
        }
        if !enders.isEmpty {
            throw lexer.error("unexpected end of template: expected one of \(enders.sorted().joined(separator: ", "))", at: lexer.source.count)
        }
        return (nodes, nil)
    }

    /// Counts one more level of nesting, refusing more than ``maximumNesting``.
    private mutating func enter() throws(ChatTemplateError) {
        nesting += 1
        guard nesting <= JinjaParser.maximumNesting else {
            throw lexer.error("blocks or expressions nested more than \(JinjaParser.maximumNesting) levels deep",
                              at: offset)
        }
    }

    private mutating func begin(_ toks: [JinjaLexer.Token], at: Int) {
        tokens = toks; cursor = 0; tagOffset = at
    }

    private var peek: JinjaLexer.Token? { cursor < tokens.count ? tokens[cursor] : nil }
    private var offset: Int { peek?.offset ?? tagOffset }

    private func isOp(_ s: String) -> Bool { peek?.kind == .op(s) }
    private func isName(_ s: String) -> Bool { peek?.kind == .name(s) }

    private mutating func expectOp(_ s: String) throws(ChatTemplateError) {
        guard isOp(s) else { throw lexer.error("expected '\(s)'", at: offset) }
        cursor += 1
    }

    private mutating func expectName(_ s: String) throws(ChatTemplateError) {
        guard isName(s) else { throw lexer.error("expected '\(s)'", at: offset) }
        cursor += 1
    }

    private mutating func identifier() throws(ChatTemplateError) -> String {
        guard case .name(let n)? = peek?.kind else { throw lexer.error("expected a name", at: offset) }
        cursor += 1
        return n
    }

    private func expectEnd() throws(ChatTemplateError) {
        if let t = peek { throw lexer.error("unexpected token at the end of the tag", at: t.offset) }
    }

    // MARK: Statements

    private mutating func parseStatement(_ keyword: String) throws(ChatTemplateError) -> JinjaNode {
        switch keyword {
        case "for":
            var targets = [try identifier()]
            while isOp(",") { cursor += 1; targets.append(try identifier()) }
            try expectName("in")
            let iterable = try parseExpression(allowConditional: false)
            var filter: JinjaExpr?
            if isName("if") { cursor += 1; filter = try parseExpression(allowConditional: false) }
            if isName("recursive") { throw lexer.error("recursive loops are not supported", at: offset) }
            try expectEnd()
            let (body, end) = try parseBody(until: ["endfor", "else"])
            var otherwise: [JinjaNode] = []
            if end == "else" {
                try expectEnd()
                (otherwise, _) = try parseBody(until: ["endfor"])
            }
            try expectEnd()
            return .forLoop(targets: targets, iterable: iterable, filter: filter, body: body, otherwise: otherwise)
        case "if":
            var branches: [(JinjaExpr, [JinjaNode])] = []
            var condition = try parseExpression()
            try expectEnd()
            while true {
                let (body, end) = try parseBody(until: ["elif", "else", "endif"])
                branches.append((condition, body))
                if end == "elif" {
                    condition = try parseExpression()
                    try expectEnd()
                    continue
                }
                var otherwise: [JinjaNode] = []
                if end == "else" {
                    try expectEnd()
                    (otherwise, _) = try parseBody(until: ["endif"])
                }
                try expectEnd()
                return .ifBlock(branches: branches, otherwise: otherwise)
            }
        case "set":
            let target = try parseTarget()
            if isOp("=") {
                cursor += 1
                let value = try parseExpression()
                try expectEnd()
                return .set(target: target, value: value)
            }
            try expectEnd()
            let (body, _) = try parseBody(until: ["endset"])
            try expectEnd()
            return .setBlock(target: target, body: body)
        case "macro":
            let name = try identifier()
            try expectOp("(")
            var parameters: [(String, JinjaExpr?)] = []
            while !isOp(")") {
                let p = try identifier()
                var def: JinjaExpr?
                if isOp("=") { cursor += 1; def = try parseExpression() }
                parameters.append((p, def))
                if !isOp(")") { try expectOp(",") }
            }
            cursor += 1
            try expectEnd()
            let (body, _) = try parseBody(until: ["endmacro"])
            return .macro(name: name, parameters: parameters, body: body)
        case "call":
            let call = try parseExpression()
            try expectEnd()
            let (body, _) = try parseBody(until: ["endcall"])
            return .callBlock(call: call, body: body)
        case "filter":
            var filters: [(String, [JinjaExpr], [(String, JinjaExpr)])] = []
            repeat {
                if isOp("|") { cursor += 1 }
                let name = try identifier()
                var args: [JinjaExpr] = [], kwargs: [(String, JinjaExpr)] = []
                if isOp("(") { (args, kwargs) = try parseArguments() }
                filters.append((name, args, kwargs))
            } while isOp("|")
            try expectEnd()
            let (body, _) = try parseBody(until: ["endfilter"])
            return .filterBlock(filters: filters, body: body)
        case "break":
            try expectEnd()
            return .breakLoop
        case "continue":
            try expectEnd()
            return .continueLoop
        case "generation", "endgeneration":
            // Hugging Face's marker for assistant-token masks: renders nothing.
            try expectEnd()
            return .text("")
        default:
            throw lexer.error("unknown statement '\(keyword)'", at: tagOffset)
        }
    }

    private mutating func parseTarget() throws(ChatTemplateError) -> JinjaTarget {
        let first = try identifier()
        if isOp(".") {
            cursor += 1
            return .attribute(first, try identifier())
        }
        if isOp(",") {
            var names = [first]
            while isOp(",") { cursor += 1; names.append(try identifier()) }
            return .tuple(names)
        }
        return .name(first)
    }

    // MARK: Expressions

    mutating func parseExpression(allowConditional: Bool = true) throws(ChatTemplateError) -> JinjaExpr {
        try enter()
        defer { nesting -= 1 }
        let e = try parseOr()
        if allowConditional && isName("if") {
            cursor += 1
            let condition = try parseOr()
            var otherwise: JinjaExpr?
            if isName("else") { cursor += 1; otherwise = try parseExpression() }
            return .conditional(condition: condition, then: e, otherwise: otherwise)
        }
        return e
    }

    private mutating func parseOr() throws(ChatTemplateError) -> JinjaExpr {
        var e = try parseAnd()
        while isName("or") { cursor += 1; e = .or(e, try parseAnd()) }
        return e
    }

    private mutating func parseAnd() throws(ChatTemplateError) -> JinjaExpr {
        var e = try parseNot()
        while isName("and") { cursor += 1; e = .and(e, try parseNot()) }
        return e
    }

    private mutating func parseNot() throws(ChatTemplateError) -> JinjaExpr {
        if isName("not") {
            cursor += 1
            try enter()
            defer { nesting -= 1 }
            return .not(try parseNot())
        }
        return try parseCompare()
    }

    private mutating func parseCompare() throws(ChatTemplateError) -> JinjaExpr {
        var e = try parseMath1()
        while true {
            let at = offset
            if case .op(let o)? = peek?.kind, ["==", "!=", "<", ">", "<=", ">="].contains(o) {
                cursor += 1
                e = .binary(o, e, try parseMath1(), offset: at)
            } else if isName("in") {
                cursor += 1
                e = .binary("in", e, try parseMath1(), offset: at)
            } else if isName("not"), cursor + 1 < tokens.count, tokens[cursor + 1].kind == .name("in") {
                cursor += 2
                e = .not(.binary("in", e, try parseMath1(), offset: at))
            } else {
                return e
            }
        }
    }

    private mutating func parseMath1() throws(ChatTemplateError) -> JinjaExpr {
        var e = try parseConcat()
        while case .op(let o)? = peek?.kind, o == "+" || o == "-" {
            let at = offset
            cursor += 1
            e = .binary(o, e, try parseConcat(), offset: at)
        }
        return e
    }

    private mutating func parseConcat() throws(ChatTemplateError) -> JinjaExpr {
        var e = try parseMath2()
        while isOp("~") {
            let at = offset
            cursor += 1
            e = .binary("~", e, try parseMath2(), offset: at)
        }
        return e
    }

    private mutating func parseMath2() throws(ChatTemplateError) -> JinjaExpr {
        var e = try parsePow()
        while case .op(let o)? = peek?.kind, ["*", "/", "//", "%"].contains(o) {
            let at = offset
            cursor += 1
            e = .binary(o, e, try parsePow(), offset: at)
        }
        return e
    }

    private mutating func parsePow() throws(ChatTemplateError) -> JinjaExpr {
        var e = try parseUnary()
        while isOp("**") {
            let at = offset
            cursor += 1
            e = .binary("**", e, try parseUnary(), offset: at)
        }
        return e
    }

    private mutating func parseUnary(withFilter: Bool = true) throws(ChatTemplateError) -> JinjaExpr {
        var e: JinjaExpr
        if isOp("-") || isOp("+") {
            let o = isOp("-") ? "-" : "+"
            cursor += 1
            try enter()
            defer { nesting -= 1 }
            e = .unary(o, try parseUnary(withFilter: false))
        } else {
            e = try parsePostfix(try parsePrimary())
        }
        return withFilter ? try parseFilters(e) : e
    }

    private mutating func parsePrimary() throws(ChatTemplateError) -> JinjaExpr {
        guard let t = peek else { throw lexer.error("expected an expression", at: tagOffset) }
        cursor += 1
        switch t.kind {
        case .string(var s):
            // Adjacent string literals concatenate, as in Python.
            while case .string(let more)? = peek?.kind { s += more; cursor += 1 }
            return .literal(.string(JinjaString(s)))
        case .integer(let v): return .literal(.integer(v))
        case .float(let v): return .literal(.double(v))
        case .name(let n):
            switch n {
            case "true", "True": return .literal(.boolean(true))
            case "false", "False": return .literal(.boolean(false))
            case "none", "None": return .literal(.none)
            default: return .name(n, offset: t.offset)
            }
        case .op("("):
            if isOp(")") { cursor += 1; return .tuple([]) }
            let first = try parseExpression()
            if isOp(",") {
                var items = [first]
                while isOp(",") {
                    cursor += 1
                    if isOp(")") { break }
                    items.append(try parseExpression())
                }
                try expectOp(")")
                return .tuple(items)
            }
            try expectOp(")")
            return first
        case .op("["):
            var items: [JinjaExpr] = []
            while !isOp("]") {
                items.append(try parseExpression())
                if !isOp("]") { try expectOp(",") }
            }
            cursor += 1
            return .list(items)
        case .op("{"):
            var pairs: [(JinjaExpr, JinjaExpr)] = []
            while !isOp("}") {
                let k = try parseExpression()
                try expectOp(":")
                pairs.append((k, try parseExpression()))
                if !isOp("}") { try expectOp(",") }
            }
            cursor += 1
            return .dict(pairs)
        default:
            throw lexer.error("unexpected token", at: t.offset)
        }
    }

    private mutating func parsePostfix(_ base: JinjaExpr) throws(ChatTemplateError) -> JinjaExpr {
        var e = base
        while true {
            let at = offset
            if isOp(".") {
                cursor += 1
                if case .integer(let i)? = peek?.kind {
                    cursor += 1
                    e = .subscript(e, .literal(.integer(i)), offset: at)
                } else {
                    e = .attribute(e, try identifier(), offset: at)
                }
            } else if isOp("[") {
                cursor += 1
                e = try parseSubscript(e, at: at)
            } else if isOp("(") {
                let (args, kwargs) = try parseArguments()
                e = .call(e, args, kwargs, offset: at)
            } else {
                return e
            }
        }
    }

    private mutating func parseSubscript(_ base: JinjaExpr, at: Int) throws(ChatTemplateError) -> JinjaExpr {
        var parts: [JinjaExpr?] = [nil]
        var isSlice = false
        while !isOp("]") {
            if isOp(":") {
                cursor += 1
                isSlice = true
                parts.append(nil)
                continue
            }
            guard parts[parts.count - 1] == nil else { throw lexer.error("expected ']'", at: offset) }
            parts[parts.count - 1] = try parseExpression()
        }
        cursor += 1
        if !isSlice {
            guard let index = parts[0] else { throw lexer.error("empty subscript", at: at) }
            return .subscript(base, index, offset: at)
        }
        guard parts.count <= 3 else { throw lexer.error("too many ':' in a slice", at: at) }
        while parts.count < 3 { parts.append(nil) }
        return .slice(base, parts[0], parts[1], parts[2])
    }

    private mutating func parseArguments() throws(ChatTemplateError) -> ([JinjaExpr], [(String, JinjaExpr)]) {
        try expectOp("(")
        var args: [JinjaExpr] = [], kwargs: [(String, JinjaExpr)] = []
        while !isOp(")") {
            if case .name(let n)? = peek?.kind, cursor + 1 < tokens.count, tokens[cursor + 1].kind == .op("=") {
                cursor += 2
                kwargs.append((n, try parseExpression()))
            } else {
                args.append(try parseExpression())
            }
            if !isOp(")") { try expectOp(",") }
        }
        cursor += 1
        return (args, kwargs)
    }

    private mutating func parseFilters(_ base: JinjaExpr) throws(ChatTemplateError) -> JinjaExpr {
        var e = base
        while true {
            let at = offset
            if isOp("|") {
                cursor += 1
                let name = try identifier()
                var args: [JinjaExpr] = [], kwargs: [(String, JinjaExpr)] = []
                if isOp("(") { (args, kwargs) = try parseArguments() }
                e = .filter(e, name, args, kwargs, offset: at)
            } else if isName("is") {
                cursor += 1
                var negated = false
                if isName("not") { cursor += 1; negated = true }
                var name = try identifier()
                // `is none`/`is true` arrive as names; so do tests named like operators.
                if name == "None" { name = "none" }
                var args: [JinjaExpr] = []
                if isOp("(") {
                    let (a, _) = try parseArguments()
                    args = a
                } else if let t = peek?.kind, startsArgument(t) {
                    args = [try parsePostfix(try parsePrimary())]
                }
                e = .test(e, name, args, negated: negated, offset: at)
            } else {
                return e
            }
        }
    }

    private func startsArgument(_ kind: JinjaLexer.TokenKind) -> Bool {
        switch kind {
        case .string, .integer, .float: return true
        case .name(let n): return !["else", "or", "and", "if", "in", "is", "not"].contains(n)
        case .op(let o): return o == "[" || o == "{"
        }
    }
}
