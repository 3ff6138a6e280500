/// A parsed template: statements and expressions of the Jinja subset chat templates use.
indirect enum JinjaNode {
    case text(String)
    case output(JinjaExpr)
    case forLoop(targets: [String], iterable: JinjaExpr, filter: JinjaExpr?, body: [JinjaNode], otherwise: [JinjaNode])
    case ifBlock(branches: [(JinjaExpr, [JinjaNode])], otherwise: [JinjaNode])
    case set(target: JinjaTarget, value: JinjaExpr)
    case setBlock(target: JinjaTarget, body: [JinjaNode])
    case macro(name: String, parameters: [(String, JinjaExpr?)], body: [JinjaNode])
    case callBlock(call: JinjaExpr, body: [JinjaNode])
    case filterBlock(filters: [(String, [JinjaExpr], [(String, JinjaExpr)])], body: [JinjaNode])
    case breakLoop
    case continueLoop
}

/// What a `set` assigns to: a name, a namespace attribute, or several names from a sequence.
enum JinjaTarget {
    case name(String)
    case attribute(String, String)
    case tuple([String])
}

indirect enum JinjaExpr {
    case literal(JinjaValue)
    case name(String, offset: Int)
    case list([JinjaExpr])
    case tuple([JinjaExpr])
    case dict([(JinjaExpr, JinjaExpr)])
    case attribute(JinjaExpr, String, offset: Int)
    case `subscript`(JinjaExpr, JinjaExpr, offset: Int)
    case slice(JinjaExpr, JinjaExpr?, JinjaExpr?, JinjaExpr?)
    case call(JinjaExpr, [JinjaExpr], [(String, JinjaExpr)], offset: Int)
    case filter(JinjaExpr, String, [JinjaExpr], [(String, JinjaExpr)], offset: Int)
    case test(JinjaExpr, String, [JinjaExpr], negated: Bool, offset: Int)
    case unary(String, JinjaExpr)
    case binary(String, JinjaExpr, JinjaExpr, offset: Int)
    case and(JinjaExpr, JinjaExpr)
    case or(JinjaExpr, JinjaExpr)
    case not(JinjaExpr)
    case conditional(condition: JinjaExpr, then: JinjaExpr, otherwise: JinjaExpr?)
}
