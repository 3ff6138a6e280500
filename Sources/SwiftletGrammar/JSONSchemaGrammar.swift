/// JSON Schema → GBNF, giving the grammar llama.cpp's `json_schema_to_grammar` gives (build b11312,
/// common/json-schema-to-grammar.cpp), rule for rule, so that decoding under it allows exactly the same
/// text, whitespace included.
///
/// The supported subset is llama.cpp's: `type` (one or a list), `properties` (generated in the order
/// given), `required`, `additionalProperties` (when absent, an object with `properties` allows no other
/// property, and one without allows any), `enum`, `const`, `items`, `prefixItems`, `minItems`, `maxItems`,
/// `minLength`, `maxLength`, integer `minimum` / `maximum` / `exclusiveMinimum` / `exclusiveMaximum`, an
/// anchored `pattern`, `format` (`date`, `time`, `date-time`, `uuid`), `anyOf` / `oneOf` (as alternatives),
/// `allOf` (of objects, merged, or of enums, intersected), and `$ref` into the same document (recursion
/// included). An empty schema or `true` allows any value.
///
/// Where llama.cpp would silently drop a constraint (`minimum` on a number, `multipleOf`, `uniqueItems`,
/// `not`, `if`, an unknown `format`, a pattern it cannot convert, a keyword beside `$ref`, ...), this throws
/// a `GrammarError` naming the keyword and where it is. Annotations (`title`, `description`, `default`,
/// `examples`, `$schema`, `$comment`, `x-...`, ...) are fine.
public enum JSONSchemaGrammar {
    /// The GBNF grammar (root rule `root`) for the JSON values `schema` allows.
    public static func gbnf(for schema: JSONValue) throws(GrammarError) -> String {
        let document = try JSONSchemaReader.read(schema)
        var converter = JSONSchemaConverter()
        _ = try converter.visit(document.root, "", in: document)
        return converter.gbnf
    }

    /// Whether a value `schema` allows may be a string, as llama.cpp's `common_chat_schema::may_be_string`
    /// decides it. Its PEG tool-call grammars take a raw (unquoted) argument value as text instead of
    /// constraining it by the schema when this is true.
    public static func mayBeString(_ schema: JSONValue) throws(GrammarError) -> Bool {
        let document = try JSONSchemaReader.read(schema)
        return document.mayBeString(document.root)
    }

    /// The grammar for any JSON object: what llama.cpp's server uses for `response_format`
    /// `{"type": "json_object"}` (and an empty `json_schema`), which it converts from `{"type": "object"}`.
    public static let anyJSONObject: String = {
        (try? gbnf(for: .object([(key: "type", value: .string("object"))]))) ?? ""
    }()
}
