/// The fixed rules llama.cpp's converter adds by name when a schema needs them (`PRIMITIVE_RULES`,
/// `STRING_FORMAT_RULES` and `SPACE_RULE` in common/json-schema-to-grammar.cpp), with the text it gives
/// them, so that grammars come out identical.
enum JSONSchemaPrimitives {
    struct Rule: Sendable {
        var body: String
        var dependencies: [String] = []
    }

    /// Whitespace between JSON tokens: nothing, one space, or one or two newlines and up to 20 spaces or
    /// tabs.
    static let space = #"| " " | "\n"{1,2} [ \t]{0,20}"#

    static let primitives: [String: Rule] = [
        "boolean": Rule(body: #"("true" | "false")"#),
        "decimal-part": Rule(body: "[0-9]{1,16}"),
        "integral-part": Rule(body: "[0] | [1-9] [0-9]{0,15}"),
        "number": Rule(
            body: #"("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)?"#,
            dependencies: ["integral-part", "decimal-part"]),
        "integer": Rule(body: #"("-"? integral-part)"#, dependencies: ["integral-part"]),
        "value": Rule(
            body: "object | array | string | number | boolean | null",
            dependencies: ["object", "array", "string", "number", "boolean", "null"]),
        "object": Rule(
            body: #""{" space ( string ":" space value ("," space string ":" space value)* )? space "}""#,
            dependencies: ["string", "value"]),
        "array": Rule(body: #""[" space ( value ("," space value)* )? space "]""#, dependencies: ["value"]),
        "uuid": Rule(
            body: #""\"" [0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" "#
                + #"[0-9a-fA-F]{12} "\"""#),
        "char": Rule(body: #"[^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})"#),
        "string": Rule(body: #""\"" char* "\"""#, dependencies: ["char"]),
        "null": Rule(body: #""null""#),
    ]

    static let formats: [String: Rule] = [
        "date": Rule(body: #"[0-9]{4} "-" ( "0" [1-9] | "1" [0-2] ) "-" ( "0" [1-9] | [1-2] [0-9] | "3" [0-1] )"#),
        "time": Rule(
            body: #"([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{3} )? "#
                + #"( "Z" | ( "+" | "-" ) ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] )"#),
        "date-time": Rule(body: #"date "T" time"#, dependencies: ["date", "time"]),
        "date-string": Rule(body: #""\"" date "\"""#, dependencies: ["date"]),
        "time-string": Rule(body: #""\"" time "\"""#, dependencies: ["time"]),
        "date-time-string": Rule(body: #""\"" date-time "\"""#, dependencies: ["date-time"]),
    ]

    /// Names a schema's own rules may not take (llama.cpp's `is_reserved_name`): they get a `-` appended.
    static func isReserved(_ name: String) -> Bool {
        name == "root" || primitives[name] != nil || formats[name] != nil
    }
}
