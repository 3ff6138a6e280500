/// What the schema reader knows about each JSON Schema keyword: which ones are annotations (no effect on the
/// values a schema allows), and which JSON types each validation keyword constrains. A keyword the converter
/// does not enforce is an error when it constrains a type the schema allows, so that no constraint is
/// silently dropped.
enum JSONSchemaKeywords {
    /// Keywords that never change which values are valid (and `$defs` / `definitions`, which only hold
    /// schemas for `$ref`). Any `x-` keyword is an annotation too.
    static let annotations: Set<String> = [
        "title", "description", "$schema", "$id", "$comment", "examples", "default", "deprecated", "readOnly",
        "writeOnly", "$defs", "definitions", "$anchor", "$dynamicAnchor", "$recursiveAnchor", "$vocabulary",
        "contentEncoding", "contentMediaType", "contentSchema",
    ]

    /// The types each validation keyword constrains (JSON Schema 2020-12 and earlier drafts).
    static let appliesTo: [String: SchemaTypes] = {
        var table: [String: SchemaTypes] = [:]
        for k in ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"] {
            table[k] = [.number, .integer]
        }
        for k in ["minLength", "maxLength", "pattern", "format"] {
            table[k] = .string
        }
        for k in [
            "items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems", "contains",
            "minContains", "maxContains", "unevaluatedItems",
        ] {
            table[k] = .array
        }
        for k in [
            "properties", "required", "additionalProperties", "patternProperties", "minProperties",
            "maxProperties", "propertyNames", "dependentRequired", "dependentSchemas", "dependencies",
            "unevaluatedProperties",
        ] {
            table[k] = .object
        }
        for k in [
            "type", "enum", "const", "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "$ref", "$dynamicRef",
            "$recursiveRef",
        ] {
            table[k] = .all
        }
        return table
    }()

    static func isAnnotation(_ key: String) -> Bool {
        annotations.contains(key) || key.hasPrefix("x-")
    }

    /// Whether `key: value` allows every value anyway (`minLength: 0`, `additionalProperties: true`, ...), so
    /// that leaving it out changes nothing.
    static func isTrivial(_ key: String, _ value: JSONValue) -> Bool {
        switch key {
        case "minLength", "minItems", "minProperties", "minContains": return value.int == 0
        case "uniqueItems", "exclusiveMinimum", "exclusiveMaximum": return value == .bool(false)
        case "additionalProperties", "additionalItems", "items", "unevaluatedItems", "unevaluatedProperties",
            "propertyNames":
            return value == .bool(true) || value == .object([])
        case "required": return value == .array([])
        case "properties", "patternProperties", "dependentRequired", "dependentSchemas", "dependencies":
            return value == .object([])
        case "allOf": return value == .array([])
        default: return false
        }
    }
}
