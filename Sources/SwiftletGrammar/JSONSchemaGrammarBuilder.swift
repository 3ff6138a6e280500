/// Builds one grammar from several schemas and hand-written rules, as llama.cpp's `build_grammar` and its
/// `common_grammar_builder` do for tool calls: every schema and rule shares one set of rule names, so a
/// name taken by another body gets a number appended (`args`, `args0`), and shared rules (`space`,
/// `string`, a `$ref` target's `ref-...` rule) are written once.
///
/// As in llama.cpp, a `$ref` rule made for one schema is reused by a later schema with a `$ref` of the same
/// name, even when its target differs.
public struct GrammarBuilder: Sendable {
    private var converter: JSONSchemaConverter

    /// `dotall`: whether `.` in a `pattern` also matches newlines (llama.cpp's `common_grammar_options`).
    public init(dotall: Bool = false) {
        converter = JSONSchemaConverter(dotall: dotall)
    }

    /// Adds the rules for `schema` under `name` (the root rule when `name` is `root`) and returns the name
    /// of its rule. Mirrors the builder's `add_schema`, with the schema read as its own document (as
    /// llama.cpp's PEG parser reads each tool's parameters). On error nothing is added.
    public mutating func addSchema(_ name: String, _ schema: JSONValue) throws(GrammarError) -> String {
        let document = try JSONSchemaReader.read(schema)
        var copy = converter
        let rule = try copy.visit(document.root, name == "root" ? "" : name, in: document)
        converter = copy
        return rule
    }

    /// Adds `body` (GBNF) under `name`, made a valid rule name, and returns the name it got: `name`, or
    /// `name` with a number when `name` is taken by another body. Mirrors the builder's `add_rule`.
    public mutating func addRule(_ name: String, _ body: String) -> String {
        converter.addRule(name, body)
    }

    /// The grammar text: every rule, sorted by name, `space` included.
    public var gbnf: String { converter.gbnf }

    /// `text` as a GBNF string literal, quoted with `\r`, `\n`, `"` and `\` escaped (llama.cpp's
    /// `gbnf_format_literal`).
    public static func literal(_ text: String) -> String {
        JSONSchemaConverter.literal(text)
    }
}
