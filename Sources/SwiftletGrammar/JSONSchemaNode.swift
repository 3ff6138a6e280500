/// One node of a JSON schema in the subset the grammar converter handles, as llama.cpp's
/// `common_chat_schema` (common/json-schema.h) models it: every schema object is read into exactly one kind,
/// and the converter turns each kind into GBNF.
indirect enum SchemaNode: Sendable {
    /// Any JSON value (an empty schema, `true`, or a schema of annotations only).
    case any
    /// `{"$ref": "#/..."}`: a reference into the same document, looked up in `SchemaDocument.refs`.
    case ref(String)
    /// `anyOf` / `oneOf`, or a `type` list expanded to one alternative per type.
    case anyOf([SchemaNode])
    /// `allOf`, which llama.cpp merges into one object (or intersects as enums).
    case allOf([SchemaNode])
    case const(JSONValue)
    case enumeration([JSONValue])
    case null
    case boolean
    case number
    /// Inclusive bounds, `Int64.min` / `Int64.max` when unbounded (exclusive bounds are folded in).
    case integer(minimum: Int64, maximum: Int64)
    case string(SchemaString)
    /// `maxItems` is -1 when unbounded.
    case array(items: SchemaNode, minItems: Int, maxItems: Int)
    /// `prefixItems` (or an `items` array): exactly these items, in order.
    case tuple([SchemaNode])
    /// `additional` is nil when no other property is allowed.
    case object(properties: [SchemaProperty], additional: SchemaNode?)
}

/// The constraints of a `"type": "string"` schema, as llama.cpp's `common_chat_schema_string`.
struct SchemaString: Sendable {
    enum Format: Sendable { case none, uuid, date, time, dateTime }
    /// Empty when absent.
    var pattern = ""
    var format = Format.none
    var minLength = 0
    /// -1 when unbounded.
    var maxLength = -1
    /// Where the schema is, for errors found while converting the pattern.
    var path = "#"
}

/// A property of an object schema, in the order the schema lists it.
struct SchemaProperty: Sendable {
    var name: String
    var schema: SchemaNode
    var required: Bool
}

/// A read schema: its root and the targets of every `$ref` reached from it, keyed by the `$ref` text.
struct SchemaDocument: Sendable {
    var root: SchemaNode
    var refs: [String: SchemaNode]
}

/// The JSON types a value may have, as llama.cpp's `common_chat_schema::type_set`.
struct SchemaTypes: OptionSet, Sendable {
    let rawValue: UInt8
    static let null = SchemaTypes(rawValue: 1)
    static let boolean = SchemaTypes(rawValue: 2)
    static let number = SchemaTypes(rawValue: 4)
    static let integer = SchemaTypes(rawValue: 8)
    static let string = SchemaTypes(rawValue: 16)
    static let array = SchemaTypes(rawValue: 32)
    static let object = SchemaTypes(rawValue: 64)
    static let all: SchemaTypes = [.null, .boolean, .number, .integer, .string, .array, .object]

    /// The types a JSON Schema `type` name admits ("number" takes integers too), nil for an unknown name.
    init?(typeName: String) {
        switch typeName {
        case "null": self = .null
        case "boolean": self = .boolean
        case "number": self = [.number, .integer]
        case "integer": self = .integer
        case "string": self = .string
        case "array": self = .array
        case "object": self = .object
        default: return nil
        }
    }

    init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The type of a JSON value; a number written without `.` or exponent is an integer, as nlohmann's parser
    /// (behind llama.cpp's `json_type`) reads it.
    init(of value: JSONValue) {
        switch value {
        case .null: self = .null
        case .bool: self = .boolean
        case .number(let text): self = text.contains(where: { "eE.".contains($0) }) ? .number : .integer
        case .string: self = .string
        case .array: self = .array
        case .object: self = .object
        }
    }

    /// Names for messages.
    var names: [String] {
        let table: [(SchemaTypes, String)] = [
            (.null, "null"), (.boolean, "boolean"), (.number, "number"), (.integer, "integer"),
            (.string, "string"), (.array, "array"), (.object, "object"),
        ]
        return table.filter { contains($0.0) }.map(\.1)
    }
}

extension SchemaDocument {
    /// The types of the values `node` allows, mirroring llama.cpp's `value_types_impl` (a `$ref` cycle
    /// contributes no type).
    func valueTypes(_ node: SchemaNode) -> SchemaTypes {
        var visiting: Set<String> = []
        return valueTypes(node, &visiting)
    }

    private func valueTypes(_ node: SchemaNode, _ visiting: inout Set<String>) -> SchemaTypes {
        switch node {
        case .any: return .all
        case .null: return .null
        case .boolean: return .boolean
        case .number: return [.number, .integer]
        case .integer: return .integer
        case .string: return .string
        case .array, .tuple: return .array
        case .object: return .object
        case .const(let value): return SchemaTypes(of: value)
        case .enumeration(let values): return values.reduce(into: []) { $0.formUnion(SchemaTypes(of: $1)) }
        case .ref(let ref):
            guard let target = refs[ref], visiting.insert(ref).inserted else { return [] }
            defer { visiting.remove(ref) }
            return valueTypes(target, &visiting)
        case .anyOf(let children):
            return children.reduce(into: []) { $0.formUnion(valueTypes($1, &visiting)) }
        case .allOf(let children):
            return children.reduce(into: .all) { $0.formIntersection(valueTypes($1, &visiting)) }
        }
    }
}

extension SchemaDocument {
    /// Whether a value the node allows may be a string, through any branch, mirroring llama.cpp's
    /// `may_be_string_impl` (a `$ref` cycle counts as not a string; in `allOf`, an empty schema constrains
    /// nothing and every other component must allow a string).
    func mayBeString(_ node: SchemaNode) -> Bool {
        var visiting: Set<String> = []
        return mayBeString(node, &visiting)
    }

    private func mayBeString(_ node: SchemaNode, _ visiting: inout Set<String>) -> Bool {
        switch node {
        case .string: return true
        case .const(let value): return value.string != nil
        case .enumeration(let values): return values.contains { $0.string != nil }
        case .ref(let ref):
            guard let target = refs[ref], visiting.insert(ref).inserted else { return false }
            defer { visiting.remove(ref) }
            return mayBeString(target, &visiting)
        case .anyOf(let children):
            for child in children where mayBeString(child, &visiting) { return true }
            return false
        case .allOf(let children):
            var anyString = false
            for child in children {
                if case .any = child { continue }
                if !mayBeString(child, &visiting) { return false }
                anyString = true
            }
            return anyString
        default: return false
        }
    }
}
