/// Reads a JSON schema into `SchemaNode`s, mirroring llama.cpp's `common_chat_schema_builder`
/// (common/json-schema.cpp): each schema object becomes one node kind, decided by its keywords in the same
/// order llama.cpp looks at them, and every `$ref` target is read once.
///
/// Where llama.cpp silently ignores a keyword (a `minimum` on a number, `multipleOf`, an unknown `format`, a
/// keyword beside `$ref`, ...), this reader throws instead, naming the keyword, unless the keyword cannot
/// matter: an annotation, a keyword of another type than the node allows (`minLength` on an integer), or a
/// value that allows everything (`minItems: 0`). Those checks run once the whole document is read, because
/// the types a `$ref` allows are known only then.
struct JSONSchemaReader {
    private let root: JSONValue
    private var refs: [String: SchemaNode] = [:]
    private var resolving: Set<String> = []
    private var checks: [PendingCheck] = []

    /// Keywords of one schema object that its node does not enforce, checked once every `$ref` is read.
    fileprivate struct PendingCheck {
        var path: String
        var node: SchemaNode
        var keywords: [(key: String, value: JSONValue)]
        /// The types `type` declares (all of a type list, for an alternative expanded from one).
        var declaredTypes: SchemaTypes?
        /// What the node is, for messages ("beside $ref", ...).
        var context: String
    }

    private init(root: JSONValue) {
        self.root = root
    }

    /// Reads `schema`, throwing for anything outside the subset the converter enforces.
    static func read(_ schema: JSONValue) throws(GrammarError) -> SchemaDocument {
        var reader = JSONSchemaReader(root: schema)
        let node = try reader.buildNode(schema, path: "#", typeList: nil)
        let document = SchemaDocument(root: node, refs: reader.refs)
        for check in reader.checks {
            try check.verify(in: document)
        }
        return document
    }

    static func fail(_ path: String, _ message: String) -> GrammarError {
        GrammarError("JSON schema error at \(path): \(message)")
    }

    // MARK: - Nodes

    /// Mirrors `build_node`. `typeList` is set for an alternative expanded from a `type` list: the types
    /// of the whole list, which a `const` or `enum` beside it must stay within.
    private mutating func buildNode(
        _ schema: JSONValue, path: String, typeList: SchemaTypes?
    ) throws(GrammarError) -> SchemaNode {
        guard case .object(let members) = schema else {
            // llama.cpp takes only objects; `true` is any value here, as JSON Schema defines it.
            if schema == .bool(true) { return .any }
            if schema == .bool(false) {
                throw Self.fail(path, "the schema false (no value is valid) is not supported")
            }
            throw Self.fail(path, "schema must be an object")
        }
        for (key, _) in members where !JSONSchemaKeywords.isAnnotation(key) {
            if JSONSchemaKeywords.appliesTo[key] == nil {
                throw Self.fail(path, "unknown keyword '\(key)' is not supported")
            }
        }
        var consumed: Set<String> = []
        let node: SchemaNode
        var context = ""
        if let ref = schema["$ref"] {
            consumed.insert("$ref")
            node = try buildRef(ref, path: path)
            context = " beside $ref"
        } else if schema["oneOf"] != nil || schema["anyOf"] != nil {
            let key = schema["oneOf"] != nil ? "oneOf" : "anyOf"
            consumed.insert(key)
            node = .anyOf(try buildAlternatives(schema[key] ?? .null, path: path + "/" + key))
            context = " beside \(key)"
        } else if case .array(let types) = schema["type"] {
            // {"type": ["a", "b"], ...} is {"anyOf": [{"type": "a", ...}, {"type": "b", ...}]}
            guard !types.isEmpty else { throw Self.fail(path, "type must not be empty") }
            var declared: SchemaTypes = []
            for t in types {
                if let name = t.string, let types = SchemaTypes(typeName: name) { declared.formUnion(types) }
            }
            var children: [SchemaNode] = []
            for (i, t) in types.enumerated() {
                let alternative = JSONValue.object(members.map { $0.key == "type" ? ("type", t) : $0 })
                children.append(try buildNode(alternative, path: path + "/type/\(i)", typeList: declared))
            }
            // Each alternative checks the keywords for its own type.
            return .anyOf(children)
        } else if let value = schema["const"] {
            consumed.insert("const")
            // An `enum` that holds the constant adds nothing (pydantic writes both for a one-value Literal).
            if let values = schema["enum"]?.array, values.contains(value) { consumed.insert("enum") }
            node = .const(value)
            context = " beside const"
        } else if let values = schema["enum"] {
            guard case .array(let list) = values, !list.isEmpty else {
                throw Self.fail(path, "enum must be a non-empty array")
            }
            consumed.insert("enum")
            node = .enumeration(list)
            context = " beside enum"
        } else {
            node = try buildTyped(schema, path: path, consumed: &consumed)
        }
        let unconsumed = members.filter { !consumed.contains($0.key) && !JSONSchemaKeywords.isAnnotation($0.key) }
        var declaredTypes = typeList
        if declaredTypes == nil, let type = schema["type"], !consumed.contains("type") {
            declaredTypes = try Self.declaredTypes(type, path: path)
        }
        checks.append(PendingCheck(
            path: path, node: node, keywords: unconsumed, declaredTypes: declaredTypes, context: context))
        return node
    }

    /// The part of `build_node` after `$ref`, `anyOf`, type lists, `const` and `enum`: the node kind follows
    /// `type`, or without one the structural keywords, in llama.cpp's order.
    private mutating func buildTyped(
        _ schema: JSONValue, path: String, consumed: inout Set<String>
    ) throws(GrammarError) -> SchemaNode {
        let type = schema["type"] ?? .null
        guard type == .null || type.string != nil else {
            throw Self.fail(path, "type must be a string or an array of strings")
        }
        let typeName = type.string ?? ""
        let hasProperties = schema["properties"] != nil
            || (schema["additionalProperties"] != nil && schema["additionalProperties"] != .bool(true))
        if typeName.isEmpty {
            if hasProperties { return try buildObject(schema, path: path, consumed: &consumed) }
            if let allOf = schema["allOf"] { return try buildAllOf(allOf, path: path, consumed: &consumed) }
            if schema["items"] != nil || schema["prefixItems"] != nil {
                return try buildArray(schema, path: path, consumed: &consumed)
            }
            let format = try Self.format(schema, path: path)
            let stringKeywords = ["pattern", "minLength", "maxLength"]
            if stringKeywords.contains(where: { schema[$0] != nil }) || format != .none {
                return try buildString(schema, path: path, consumed: &consumed)
            }
            return .any
        }
        consumed.insert("type")
        switch typeName {
        case "object":
            if !hasProperties, let allOf = schema["allOf"] {
                return try buildAllOf(allOf, path: path, consumed: &consumed)
            }
            return try buildObject(schema, path: path, consumed: &consumed)
        case "string":
            if let allOf = schema["allOf"] { return try buildAllOf(allOf, path: path, consumed: &consumed) }
            return try buildString(schema, path: path, consumed: &consumed)
        case "array": return try buildArray(schema, path: path, consumed: &consumed)
        case "integer": return try buildInteger(schema, path: path, consumed: &consumed)
        case "number": return .number
        case "boolean": return .boolean
        case "null": return .null
        default: throw Self.fail(path, "unrecognized type \(typeName)")
        }
    }

    private mutating func buildAlternatives(
        _ alternatives: JSONValue, path: String
    ) throws(GrammarError) -> [SchemaNode] {
        guard case .array(let list) = alternatives else { throw Self.fail(path, "must be an array of schemas") }
        guard !list.isEmpty else { throw Self.fail(path, "must not be empty") }
        var nodes: [SchemaNode] = []
        for (i, alternative) in list.enumerated() {
            nodes.append(try buildNode(alternative, path: path + "/\(i)", typeList: nil))
        }
        return nodes
    }

    private mutating func buildAllOf(
        _ allOf: JSONValue, path: String, consumed: inout Set<String>
    ) throws(GrammarError) -> SchemaNode {
        consumed.insert("allOf")
        return .allOf(try buildAlternatives(allOf, path: path + "/allOf"))
    }

    /// Mirrors `build_ref`: only `#/...` references, each target read once (a cycle stops at the `$ref`).
    private mutating func buildRef(_ value: JSONValue, path: String) throws(GrammarError) -> SchemaNode {
        guard let ref = value.string else { throw Self.fail(path, "$ref must be a string") }
        guard ref.hasPrefix("#/") else {
            throw Self.fail(path, "unsupported $ref \(ref), only references into the same document are supported")
        }
        if refs[ref] == nil, !resolving.contains(ref) {
            resolving.insert(ref)
            let target = try resolve(ref, path: path)
            refs[ref] = try buildNode(target, path: ref, typeList: nil)
            resolving.remove(ref)
        }
        return .ref(ref)
    }

    /// Mirrors `resolve_ref`: the `/`-separated names are looked up as they are written (no `~0`, `~1` or
    /// percent decoding, as in llama.cpp).
    private func resolve(_ ref: String, path: String) throws(GrammarError) -> JSONValue {
        var target = root
        let tokens = ref.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for selector in tokens.dropFirst() {
            if case .object = target, let next = target[selector] {
                target = next
            } else if case .array(let items) = target {
                guard let index = Int(selector), selector.allSatisfy(\.isASCII), index >= 0, index < items.count
                else {
                    throw Self.fail(path, "cannot resolve $ref \(ref), \(selector) is out of range")
                }
                target = items[index]
            } else {
                throw Self.fail(path, "cannot resolve $ref \(ref), \(selector) not found")
            }
        }
        return target
    }

    /// Mirrors `build_object`. Without `additionalProperties`, an object with `properties` allows no other
    /// property and one without allows any, as in llama.cpp.
    private mutating func buildObject(
        _ schema: JSONValue, path: String, consumed: inout Set<String>
    ) throws(GrammarError) -> SchemaNode {
        var required: [String] = []
        if let list = schema["required"] {
            consumed.insert("required")
            guard case .array(let names) = list else { throw Self.fail(path, "required must be an array of strings") }
            for name in names {
                guard let s = name.string else { throw Self.fail(path, "required must be an array of strings") }
                required.append(s)
            }
        }
        var properties: [SchemaProperty] = []
        if let value = schema["properties"] {
            consumed.insert("properties")
            guard case .object(let members) = value else { throw Self.fail(path, "properties must be an object") }
            for (name, propertySchema) in members {
                let node = try buildNode(propertySchema, path: path + "/properties/" + name, typeList: nil)
                properties.append(SchemaProperty(name: name, schema: node, required: required.contains(name)))
            }
        }
        // llama.cpp drops a required name that is not a property; then nothing would make it appear.
        for name in required where !properties.contains(where: { $0.name == name }) {
            throw Self.fail(path, "required property '\(name)' is not among the properties")
        }
        var additional: SchemaNode?
        if let value = schema["additionalProperties"] {
            consumed.insert("additionalProperties")
            switch value {
            case .bool(let allowed): additional = allowed ? .any : nil
            case .object: additional = try buildNode(value, path: path + "/additionalProperties", typeList: nil)
            default: throw Self.fail(path, "additionalProperties must be a boolean or a schema")
            }
        } else if schema["properties"] == nil {
            // {"type": "object"} on its own accepts any object
            additional = .any
        }
        return .object(properties: properties, additional: additional)
    }

    /// Mirrors `build_array`: `items` wins over `prefixItems`, and an array of schemas under either is a
    /// tuple of exactly those items (which llama.cpp reads without `minItems` / `maxItems`).
    private mutating func buildArray(
        _ schema: JSONValue, path: String, consumed: inout Set<String>
    ) throws(GrammarError) -> SchemaNode {
        var items = SchemaNode.any
        if schema["items"] != nil || schema["prefixItems"] != nil {
            // `prefixItems` with `items: false` is JSON Schema 2020-12's closed tuple: exactly what a tuple
            // here allows (llama.cpp would read `items` and refuse `false`).
            let closedTuple = schema["items"] == .bool(false) && schema["prefixItems"]?.array != nil
            if closedTuple { consumed.insert("items") }
            let key = schema["items"] != nil && !closedTuple ? "items" : "prefixItems"
            consumed.insert(key)
            let value = schema[key] ?? .null
            if case .array(let list) = value {
                var nodes: [SchemaNode] = []
                for (i, item) in list.enumerated() {
                    nodes.append(try buildNode(item, path: path + "/" + key + "/\(i)", typeList: nil))
                }
                // A count the tuple's length satisfies anyway is no constraint.
                if let min = schema["minItems"]?.int, min <= nodes.count { consumed.insert("minItems") }
                if let max = schema["maxItems"]?.int, max >= nodes.count { consumed.insert("maxItems") }
                return .tuple(nodes)
            }
            items = try buildNode(value, path: path + "/" + key, typeList: nil)
        }
        let minItems = try Self.count(schema, "minItems", path: path, default: 0, consumed: &consumed)
        let maxItems = try Self.count(schema, "maxItems", path: path, default: -1, consumed: &consumed)
        if maxItems >= 0, minItems > maxItems { throw Self.fail(path, "minItems is greater than maxItems") }
        return .array(items: items, minItems: minItems, maxItems: maxItems)
    }

    /// Mirrors `build_string`. The converter uses `pattern` first, else `format`, else the lengths, so only
    /// the one it uses counts as enforced.
    private func buildString(
        _ schema: JSONValue, path: String, consumed: inout Set<String>
    ) throws(GrammarError) -> SchemaNode {
        var node = SchemaString(path: path)
        var lengths: Set<String> = []
        if let pattern = schema["pattern"] {
            guard let text = pattern.string else { throw Self.fail(path, "pattern must be a string") }
            node.pattern = text
        }
        node.format = try Self.format(schema, path: path)
        node.minLength = try Self.count(schema, "minLength", path: path, default: 0, consumed: &lengths)
        node.maxLength = try Self.count(schema, "maxLength", path: path, default: -1, consumed: &lengths)
        if node.maxLength >= 0, node.minLength > node.maxLength {
            throw Self.fail(path, "minLength is greater than maxLength")
        }
        if schema["pattern"] != nil {
            consumed.insert("pattern")
        } else if node.format != .none {
            consumed.insert("format")
        } else {
            consumed.formUnion(lengths)
        }
        return .string(node)
    }

    /// Mirrors `build_integer`: `minimum` wins over `exclusiveMinimum` (and likewise for the maximum), and a
    /// fractional bound is rounded inwards. The bound llama.cpp ignores counts as enforced only when it is
    /// no tighter than the one it uses.
    private func buildInteger(
        _ schema: JSONValue, path: String, consumed: inout Set<String>
    ) throws(GrammarError) -> SchemaNode {
        var minimum = Int64.min
        var maximum = Int64.max
        if let value = schema["minimum"] {
            consumed.insert("minimum")
            minimum = try Self.bound(value, "minimum", path: path, roundUp: true)
            if let exclusive = schema["exclusiveMinimum"], exclusive.double != nil,
                let e = try? Self.bound(exclusive, "exclusiveMinimum", path: path, roundUp: false), e < minimum
            {
                consumed.insert("exclusiveMinimum")
            }
        } else if let value = schema["exclusiveMinimum"] {
            consumed.insert("exclusiveMinimum")
            let (bound, overflow) = try Self.bound(value, "exclusiveMinimum", path: path, roundUp: false)
                .addingReportingOverflow(1)
            if overflow { throw Self.fail(path, "exclusiveMinimum is out of range") }
            minimum = bound
        }
        if let value = schema["maximum"] {
            consumed.insert("maximum")
            maximum = try Self.bound(value, "maximum", path: path, roundUp: false)
            if let exclusive = schema["exclusiveMaximum"], exclusive.double != nil,
                let e = try? Self.bound(exclusive, "exclusiveMaximum", path: path, roundUp: true), e > maximum
            {
                consumed.insert("exclusiveMaximum")
            }
        } else if let value = schema["exclusiveMaximum"] {
            consumed.insert("exclusiveMaximum")
            let (bound, overflow) = try Self.bound(value, "exclusiveMaximum", path: path, roundUp: true)
                .subtractingReportingOverflow(1)
            if overflow { throw Self.fail(path, "exclusiveMaximum is out of range") }
            maximum = bound
        }
        // llama.cpp negates the maximum when it is negative, which Int64.min does not survive.
        if maximum == Int64.min { throw Self.fail(path, "maximum is out of range") }
        if minimum > maximum { throw Self.fail(path, "minimum is greater than maximum") }
        return .integer(minimum: minimum, maximum: maximum)
    }

    // MARK: - Values

    /// Mirrors `get_count`: a non-negative integer (that fits llama.cpp's `int`).
    private static func count(
        _ schema: JSONValue, _ key: String, path: String, default: Int, consumed: inout Set<String>
    ) throws(GrammarError) -> Int {
        guard let value = schema[key] else { return `default` }
        guard case .number(let text) = value, !text.contains(where: { ".eE".contains($0) }),
            let n = Int32(text), n >= 0
        else {
            throw fail(path, key + " must be a non-negative integer")
        }
        consumed.insert(key)
        return Int(n)
    }

    /// Mirrors `get_bound`: an integer as it is, a fractional bound rounded towards the integers it admits.
    private static func bound(
        _ value: JSONValue, _ key: String, path: String, roundUp: Bool
    ) throws(GrammarError) -> Int64 {
        guard case .number(let text) = value else { throw fail(path, key + " must be a number") }
        if !text.contains(where: { ".eE".contains($0) }) {
            guard let n = Int64(text) else { throw fail(path, key + " is out of range") }
            return n
        }
        guard let d = Double(text), d.isFinite else { throw fail(path, key + " is out of range") }
        let rounded = roundUp ? d.rounded(.up) : d.rounded(.down)
        guard rounded >= -9.2e18, rounded <= 9.2e18 else { throw fail(path, key + " is out of range") }
        return Int64(rounded)
    }

    /// Mirrors `get_format`; an unknown format reads as none (and is then reported as not enforced).
    private static func format(_ schema: JSONValue, path: String) throws(GrammarError) -> SchemaString.Format {
        guard let value = schema["format"] else { return .none }
        guard let format = value.string else { throw fail(path, "format must be a string") }
        switch format {
        case "date": return .date
        case "time": return .time
        case "date-time": return .dateTime
        case "uuid", "uuid1", "uuid2", "uuid3", "uuid4", "uuid5": return .uuid
        default: return .none
        }
    }

    private static func declaredTypes(_ type: JSONValue, path: String) throws(GrammarError) -> SchemaTypes {
        var names: [JSONValue] = [type]
        if case .array(let list) = type { names = list }
        var types: SchemaTypes = []
        for name in names {
            guard let s = name.string else { throw fail(path, "type must be a string or an array of strings") }
            guard let t = SchemaTypes(typeName: s) else { throw fail(path, "unrecognized type \(s)") }
            types.formUnion(t)
        }
        return types
    }
}

extension JSONSchemaReader.PendingCheck {
    /// Throws for a keyword the node does not enforce but that constrains a type the node allows.
    func verify(in document: SchemaDocument) throws(GrammarError) {
        if case .allOf(let children) = node {
            try JSONSchemaReader.verifyAllOf(children, path: path, in: document)
        }
        guard !keywords.isEmpty else { return }
        let types = document.valueTypes(node)
        for (key, value) in keywords where !JSONSchemaKeywords.isTrivial(key, value) {
            if key == "type" {
                let declared = declaredTypes ?? .all
                if !declared.isSuperset(of: types) {
                    let extra = types.subtracting(declared).names.joined(separator: ", ")
                    throw JSONSchemaReader.fail(
                        path, "keyword 'type' cannot be enforced\(context): the schema also allows \(extra)")
                }
                continue
            }
            let applies = JSONSchemaKeywords.appliesTo[key] ?? .all
            guard !applies.isDisjoint(with: types) else { continue }
            if key == "format", let name = value.string {
                throw JSONSchemaReader.fail(
                    path, "format '\(name)' is not supported here (llama.cpp enforces date, time, date-time and "
                        + "uuid, and none of them beside pattern)")
            }
            throw JSONSchemaReader.fail(path, "keyword '\(key)' is not supported\(context)")
        }
    }
}

extension JSONSchemaReader {
    /// llama.cpp's `_visit_all_of` merges the properties of object components (through `$ref`s and the
    /// alternatives of an `anyOf` component) or intersects enum components, and skips anything else. This
    /// accepts only the shapes it handles faithfully: objects (and empty schemas), or enums with a value
    /// in common.
    static func verifyAllOf(_ children: [SchemaNode], path: String, in document: SchemaDocument) throws(GrammarError) {
        var objects = 0
        var enums: [[String]] = []
        var others = 0
        for child in children {
            if case .anyOf(let alternatives) = child {
                others += 1
                for alternative in alternatives {
                    switch try resolved(alternative, in: document, path: path) {
                    case .object, .any: objects += 1
                    case let node:
                        throw fail(path, "an anyOf alternative of kind \(kindName(node)) in allOf is not supported")
                    }
                }
                continue
            }
            switch try resolved(child, in: document, path: path) {
            case .object: objects += 1
            case .any: others += 1
            case .enumeration(let values):
                var texts: [String] = []
                for value in values { texts.append(try value.llamaText()) }
                enums.append(texts)
            case let node: throw fail(path, "an allOf component of kind \(kindName(node)) is not supported")
            }
        }
        guard !enums.isEmpty else { return }
        guard objects == 0, others == 0 else {
            throw fail(path, "allOf mixing enums with other schemas is not supported")
        }
        // llama.cpp counts each value over all components; a value repeated within one enum would count twice.
        for values in enums where Set(values).count != values.count {
            throw fail(path, "an enum with a repeated value in allOf is not supported")
        }
        let common = enums.dropFirst().reduce(Set(enums[0])) { $0.intersection($1) }
        if common.isEmpty { throw fail(path, "the enums of allOf have no value in common") }
    }

    /// A node with `$ref`s followed to their target.
    static func resolved(
        _ node: SchemaNode, in document: SchemaDocument, path: String
    ) throws(GrammarError) -> SchemaNode {
        var current = node
        var seen: Set<String> = []
        while case .ref(let ref) = current {
            guard seen.insert(ref).inserted, let target = document.refs[ref] else {
                throw fail(path, "$ref \(ref) refers only to itself")
            }
            current = target
        }
        return current
    }

    static func kindName(_ node: SchemaNode) -> String {
        switch node {
        case .any: "any"
        case .ref: "ref"
        case .anyOf: "anyOf"
        case .allOf: "allOf"
        case .const: "const"
        case .enumeration: "enum"
        case .null: "null"
        case .boolean: "boolean"
        case .number: "number"
        case .integer: "integer"
        case .string: "string"
        case .array: "array"
        case .tuple: "tuple"
        case .object: "object"
        }
    }
}
