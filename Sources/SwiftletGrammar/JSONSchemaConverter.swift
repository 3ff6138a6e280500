/// Turns read schema nodes into GBNF rules, mirroring llama.cpp's `common_chat_schema_converter`
/// (common/json-schema-to-grammar.cpp) step by step: the same rule names, the same rule texts, rules added
/// in the same order (which decides the numbered names of clashing rules), and the grammar printed with its
/// rules sorted by name. The language and the text both match llama.cpp's.
struct JSONSchemaConverter: Sendable {
    /// Whether `.` in a pattern matches newlines too (llama.cpp's `common_grammar_options::dotall`).
    var dotall: Bool
    private(set) var rules: [String: String] = ["space": JSONSchemaPrimitives.space]
    private var refsBeingResolved: Set<String> = []

    init(dotall: Bool = false) {
        self.dotall = dotall
    }

    /// The grammar: every rule as `name ::= body`, one a line, sorted by name (byte order, as the
    /// `std::map` llama.cpp keeps them in).
    var gbnf: String {
        rules.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
            .map { "\($0.key) ::= \($0.value)\n" }.joined()
    }

    /// A rule name with every run of characters other than ASCII letters, digits and `-` made one `-`.
    static func ruleName(_ name: String) -> String {
        var out = ""
        var inRun = false
        for scalar in name.unicodeScalars {
            let valid = scalar.isASCII
                && (("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                    || scalar == "-")
            if valid {
                out.unicodeScalars.append(scalar)
                inRun = false
            } else if !inRun {
                out += "-"
                inRun = true
            }
        }
        return out
    }

    /// `text` as a GBNF string literal: quoted, with `\r`, `\n`, `"` and `\` escaped (`format_literal`).
    static func literal(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\r": out += "\\r"
            case "\n": out += "\\n"
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Mirrors `_add_rule`: adds `body` under `name` made a valid rule name; a name already taken by another
    /// body gets the first free number appended (or the numbered name that already has this body).
    mutating func addRule(_ name: String, _ body: String) -> String {
        let escaped = Self.ruleName(name)
        if rules[escaped] == nil || rules[escaped] == body {
            rules[escaped] = body
            return escaped
        }
        var i = 0
        while let existing = rules[escaped + String(i)], existing != body { i += 1 }
        let key = escaped + String(i)
        rules[key] = body
        return key
    }

    /// Mirrors `_add_primitive`: the rule under `name`, and the rules it needs under their own names.
    mutating func addPrimitive(_ name: String, _ rule: JSONSchemaPrimitives.Rule) -> String {
        let added = addRule(name, rule.body)
        for dependency in rule.dependencies {
            guard let dependencyRule = JSONSchemaPrimitives.primitives[dependency]
                ?? JSONSchemaPrimitives.formats[dependency]
            else { continue }
            if rules[dependency] == nil { _ = addPrimitive(dependency, dependencyRule) }
        }
        return added
    }

    private mutating func addPrimitive(_ name: String) -> String {
        addPrimitive(name, JSONSchemaPrimitives.primitives[name] ?? JSONSchemaPrimitives.Rule(body: ""))
    }

    private mutating func visitPrimitive(_ ruleName: String, _ type: String) -> String {
        addPrimitive(ruleName == "root" ? "root" : type, JSONSchemaPrimitives.primitives[type] ?? .init(body: ""))
    }

    /// A `const` or `enum` value as a literal of its JSON text (`_generate_constant_rule`).
    static func constantRule(_ value: JSONValue) throws(GrammarError) -> String {
        literal(try value.llamaText())
    }

    /// Mirrors `visit`: the rule for `node`, named after `name` (the root when empty), and its name.
    mutating func visit(
        _ node: SchemaNode, _ name: String, in document: SchemaDocument
    ) throws(GrammarError) -> String {
        let ruleName = JSONSchemaPrimitives.isReserved(name) ? name + "-" : name.isEmpty ? "root" : name
        let subName = name + (name.isEmpty ? "" : "-")
        switch node {
        case .ref(let ref):
            return addRule(ruleName, try resolveRef(ref, in: document))
        case .anyOf(let alternatives):
            var names: [String] = []
            for (i, alternative) in alternatives.enumerated() {
                let alternativeName = name + (name.isEmpty ? "alternative-" : "-") + String(i)
                names.append(try visit(alternative, alternativeName, in: document))
            }
            return addRule(ruleName, names.joined(separator: " | "))
        case .allOf(let children):
            return try visitAllOf(children, name, ruleName, in: document)
        case .const(let value):
            return addRule(ruleName, try Self.constantRule(value))
        case .enumeration(let values):
            var literals: [String] = []
            for value in values { literals.append(try Self.constantRule(value)) }
            return addRule(ruleName, "(" + literals.joined(separator: " | ") + ")")
        case .object(let properties, let additional):
            if properties.isEmpty, case .any? = additional {
                return addRule(ruleName, addPrimitive("object"))
            }
            let required = Set(properties.filter(\.required).map(\.name))
            let body = try objectRule(
                properties.map { ($0.name, $0.schema) }, required: required, name, additional: additional,
                in: document)
            return addRule(ruleName, body)
        case .tuple(let items):
            var body = "\"[\" space "
            for (i, item) in items.enumerated() {
                if i > 0 { body += " \",\" space " }
                body += try visit(item, subName + "tuple-" + String(i), in: document)
            }
            return addRule(ruleName, body + " space \"]\"")
        case .array(let items, let minItems, let maxItems):
            if case .any = items, minItems == 0, maxItems < 0 { return visitPrimitive(ruleName, "array") }
            let itemRule = try visit(items, subName + "item", in: document)
            let repetition = JSONSchemaRepetition.rule(
                itemRule, minimum: minItems, maximum: maxItems < 0 ? JSONSchemaRepetition.unbounded : maxItems,
                separator: "\",\" space")
            return addRule(ruleName, "\"[\" space " + repetition + " space \"]\"")
        case .string(let string):
            return try visitString(string, ruleName)
        case .integer(let minimum, let maximum):
            if minimum == Int64.min && maximum == Int64.max { return visitPrimitive(ruleName, "integer") }
            return addRule(ruleName, "(" + JSONSchemaIntegerRange.rule(minimum: minimum, maximum: maximum) + ")")
        case .number: return visitPrimitive(ruleName, "number")
        case .boolean: return visitPrimitive(ruleName, "boolean")
        case .null: return visitPrimitive(ruleName, "null")
        case .any: return addRule(ruleName, addPrimitive("value"))
        }
    }

    private mutating func visitString(_ string: SchemaString, _ ruleName: String) throws(GrammarError) -> String {
        if !string.pattern.isEmpty { return try visitPattern(string.pattern, ruleName, path: string.path) }
        let formatRule: String
        switch string.format {
        case .uuid: return visitPrimitive(ruleName, "uuid")
        case .date: formatRule = "date-string"
        case .time: formatRule = "time-string"
        case .dateTime: formatRule = "date-time-string"
        case .none:
            if string.minLength > 0 || string.maxLength >= 0 {
                let charRule = addPrimitive("char")
                let maximum = string.maxLength < 0 ? JSONSchemaRepetition.unbounded : string.maxLength
                let repetition = JSONSchemaRepetition.rule(charRule, minimum: string.minLength, maximum: maximum)
                return addRule(ruleName, "\"\\\"\" " + repetition + " \"\\\"\"")
            }
            return visitPrimitive(ruleName, "string")
        }
        let format = JSONSchemaPrimitives.formats[formatRule] ?? .init(body: "")
        return addRule(ruleName, addPrimitive(formatRule, format))
    }

    /// Mirrors `_resolve_ref`: the target's rule is named `ref` + the fragment (`ref-defs-item`), made once;
    /// a `$ref` met again while its target is being made refers to that name, which makes recursion work.
    private mutating func resolveRef(_ ref: String, in document: SchemaDocument) throws(GrammarError) -> String {
        let fragment = ref.firstIndex(of: "#").map { String(ref[ref.index(after: $0)...]) } ?? ref
        var refName = "ref" + Self.ruleName(fragment)
        if rules[refName] == nil, !refsBeingResolved.contains(ref) {
            guard let target = document.refs[ref] else { throw GrammarError("Unresolved $ref \(ref)") }
            refsBeingResolved.insert(ref)
            refName = try visit(target, refName, in: document)
            refsBeingResolved.remove(ref)
        }
        return refName
    }

    /// Mirrors `_visit_all_of`: the properties of every object component (those of an `anyOf` component's
    /// alternatives optional, the others required) make one object; enum components give the values common
    /// to all, in the order of their JSON text.
    private mutating func visitAllOf(
        _ children: [SchemaNode], _ name: String, _ ruleName: String, in document: SchemaDocument
    ) throws(GrammarError) -> String {
        var required: Set<String> = []
        var properties: [(String, SchemaNode)] = []
        var enumCounts: [String: Int] = [:]
        // The reader has checked that these `$ref`s reach an object or enum; `seen` only guards that.
        func add(_ component: SchemaNode, required isRequired: Bool, seen: Set<String> = []) throws(GrammarError) {
            switch component {
            case .ref(let ref):
                if let target = document.refs[ref], !seen.contains(ref) {
                    try add(target, required: isRequired, seen: seen.union([ref]))
                }
            case .object(let props, _):
                for p in props {
                    properties.append((p.name, p.schema))
                    if isRequired { required.insert(p.name) }
                }
            case .enumeration(let values):
                for value in values { enumCounts[try Self.constantRule(value), default: 0] += 1 }
            default:
                break
            }
        }
        for child in children {
            if case .anyOf(let alternatives) = child {
                for alternative in alternatives { try add(alternative, required: false) }
            } else {
                try add(child, required: true)
            }
        }
        if !enumCounts.isEmpty {
            let common = enumCounts.filter { $0.value == children.count }.map(\.key)
                .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            if !common.isEmpty { return addRule(ruleName, "(" + common.joined(separator: " | ") + ")") }
        }
        return addRule(ruleName, try objectRule(properties, required: required, name, additional: nil, in: document))
    }

    /// Mirrors `_build_object_rule`: required properties in schema order, then the optional ones (and the
    /// additional properties, `*`) as a chain of `-rest` rules that keeps their order but lets any be left
    /// out.
    private mutating func objectRule(
        _ properties: [(String, SchemaNode)], required: Set<String>, _ name: String, additional: SchemaNode?,
        in document: SchemaDocument
    ) throws(GrammarError) -> String {
        let prefix = name + (name.isEmpty ? "" : "-")
        var requiredProps: [String] = []
        var optionalProps: [String] = []
        var kvRules: [String: String] = [:]
        var propNames: [String] = []
        for (propName, propSchema) in properties {
            let propRule = try visit(propSchema, prefix + propName, in: document)
            let key = Self.literal(JSONValue.quoted(propName))
            kvRules[propName] = addRule(prefix + propName + "-kv", key + " space \":\" space " + propRule)
            if required.contains(propName) {
                requiredProps.append(propName)
            } else {
                optionalProps.append(propName)
            }
            propNames.append(propName)
        }
        if let additional {
            let subName = prefix + "additional"
            let valueRule: String
            if case .any = additional {
                valueRule = addPrimitive("value")
            } else {
                valueRule = try visit(additional, subName + "-value", in: document)
            }
            let keyRule: String
            if propNames.isEmpty {
                keyRule = addPrimitive("string")
            } else {
                let charRule = addPrimitive("char")
                let excluded = JSONSchemaExcludedKeys.rule(excluding: propNames, charRule: charRule)
                keyRule = addRule(subName + "-k", excluded)
            }
            kvRules["*"] = addRule(subName + "-kv", keyRule + " \":\" space " + valueRule)
            optionalProps.append("*")
        }
        if requiredProps.isEmpty && optionalProps.isEmpty { return "\"{\" space \"}\"" }

        var rule = "\"{\" space "
        rule += requiredProps.map { kvRules[$0] ?? "" }.joined(separator: " \",\" space ")
        if !optionalProps.isEmpty {
            rule += " ("
            if !requiredProps.isEmpty { rule += " \",\" space ( " }
            for i in optionalProps.indices {
                if i > 0 { rule += " | " }
                rule += restRule(optionalProps[i...], firstIsOptional: false, prefix, kvRules)
            }
            if !requiredProps.isEmpty { rule += " )" }
            rule += " )?"
        }
        return rule + " space \"}\""
    }

    /// `get_recursive_refs` of `_build_object_rule`: the first key, then a rule for the optional rest.
    private mutating func restRule(
        _ keys: ArraySlice<String>, firstIsOptional: Bool, _ prefix: String, _ kvRules: [String: String]
    ) -> String {
        guard let k = keys.first else { return "" }
        let kv = kvRules[k] ?? ""
        let commaRef = "( \",\" space " + kv + " )"
        var result: String
        if firstIsOptional {
            result = commaRef + (k == "*" ? "*" : "?")
        } else {
            result = kv + (k == "*" ? " " + commaRef + "*" : "")
        }
        if keys.count > 1 {
            let rest = restRule(keys.dropFirst(), firstIsOptional: true, prefix, kvRules)
            result += " " + addRule(prefix + k + "-rest", rest)
        }
        return result
    }
}
