import Foundation
import Testing

import SwiftletGrammar

/// llama.cpp's grammars for the schemas under Fixtures/reference/json-schema (see the README there).
enum JSONSchemaReference {
    static let directory = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/reference/json-schema")

    static var files: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted()
    }

    static func load(_ file: String) throws -> JSONValue {
        let data = try Data(contentsOf: directory.appendingPathComponent(file))
        return try JSONValue(parsing: data)
    }

    /// The recorded grammar, its lines joined back.
    static func grammar(_ fixture: JSONValue) -> String? {
        guard let lines = fixture["grammar"]?.array else { return nil }
        return lines.compactMap(\.string).map { $0 + "\n" }.joined()
    }

    /// Cases llama.cpp converts but where it drops a constraint (warning or not): here they are errors that
    /// name the keyword. Keyed by file, valued by a part of the expected message.
    static let strictlyRejected: [String: String] = [
        // `items` wins over `prefixItems`, which llama.cpp then ignores.
        "t37-array-with-empty-items-and-prefixitems.json": "keyword 'prefixItems' is not supported",
        // llama.cpp warns and accepts any string for a pattern it cannot convert.
        "t76-unanchored-regexp.json": "pattern [0-9]+ is not supported (not anchored with '^' and '$')",
        "t77-regexp-with-unsupported-shorthand.json": "is not supported (unsupported escape: \\w)",
        "t81-unsupported-regexp-in-a-property.json": "at #/properties/a: pattern ^(?=a)a$ is not supported",
        "x33-multipleof.json": "keyword 'multipleOf' is not supported",
        "x34-number-minimum.json": "keyword 'minimum' is not supported",
        "x35-unknown-format.json": "format 'email' is not supported",
        "x36-uniqueitems.json": "keyword 'uniqueItems' is not supported",
    ]
}

@Suite struct JSONSchemaGrammarTests {
    @Test func everyReferenceCaseIsHere() {
        let files = JSONSchemaReference.files
        #expect(files.count >= 100)
        for file in JSONSchemaReference.strictlyRejected.keys {
            #expect(files.contains(file), "\(file)")
        }
    }

    /// Our grammar text equals llama.cpp's for every recorded schema it converts, we fail where it fails,
    /// and we refuse (naming the keyword) the few where llama.cpp drops a constraint.
    @Test(arguments: JSONSchemaReference.files.filter { !$0.hasPrefix("b") })
    func matchesLlamaCpp(_ file: String) throws {
        let fixture = try JSONSchemaReference.load(file)
        let schema = try #require(fixture["schema"])
        if let expectedMessage = JSONSchemaReference.strictlyRejected[file] {
            #expect(fixture["grammar"] != nil, "llama.cpp converts this one")
            let error = #expect(throws: GrammarError.self) { try JSONSchemaGrammar.gbnf(for: schema) }
            #expect(error?.message.contains(expectedMessage) == true, "\(error?.message ?? "")")
        } else if let expected = JSONSchemaReference.grammar(fixture) {
            let ours = try JSONSchemaGrammar.gbnf(for: schema)
            #expect(ours == expected)
            if ours != expected {
                print("--- ours\n\(ours)--- llama.cpp\n\(expected)")
            }
        } else {
            #expect(fixture["error"] != nil)
            #expect(throws: GrammarError.self) { try JSONSchemaGrammar.gbnf(for: schema) }
        }
    }

    /// Several schemas and rules in one grammar, as llama.cpp's `build_grammar` makes tool-call grammars.
    @Test(arguments: JSONSchemaReference.files.filter { $0.hasPrefix("b") })
    func builderMatchesLlamaCpp(_ file: String) throws {
        let fixture = try JSONSchemaReference.load(file)
        let spec = try #require(fixture["builder"])
        var builder = GrammarBuilder(dotall: spec["dotall"]?.bool ?? false)
        var names: [String] = []
        for op in try #require(spec["ops"]?.array) {
            let parts = try #require(op.array)
            let name = try #require(parts[1].string)
            if parts[0] == .string("schema") {
                names.append(try builder.addSchema(name, parts[2]))
            } else {
                names.append(builder.addRule(name, try #require(parts[2].string)))
            }
        }
        #expect(names == fixture["names"]?.array?.compactMap(\.string))
        #expect(builder.gbnf == JSONSchemaReference.grammar(fixture))
    }

    @Test func anyJSONObjectIsLlamaCppsJSONObjectGrammar() throws {
        let fixture = try JSONSchemaReference.load("x01-response-format-json-object.json")
        #expect(JSONSchemaGrammar.anyJSONObject == JSONSchemaReference.grammar(fixture))
        #expect(JSONSchemaGrammar.anyJSONObject.contains("root ::= object\n"))
    }

    @Test func propertiesKeepTheSchemaOrder() throws {
        let schema = try JSONValue(parsing: ##"""
            {"type": "object", "properties": {"zeta": {"type": "integer"}, "alpha": {"type": "string"},
             "mid": {"type": "boolean"}}, "required": ["mid", "zeta", "alpha"]}
            """##)
        let grammar = try JSONSchemaGrammar.gbnf(for: schema)
        #expect(grammar.contains(##"root ::= "{" space zeta-kv "," space alpha-kv "," space mid-kv space "}""##))
    }

    @Test func refsIntoDefsAndDefinitionsAndRecursion() throws {
        let schema = try JSONValue(parsing: ##"""
            {"$ref": "#/$defs/list",
             "$defs": {"list": {"type": "object", "properties": {"head": {"$ref": "#/definitions/item"},
                                                                 "tail": {"$ref": "#/$defs/list"}},
                                "required": ["head"]}},
             "definitions": {"item": {"type": "integer", "minimum": 0}}}
            """##)
        let grammar = try JSONSchemaGrammar.gbnf(for: schema)
        #expect(grammar.contains("root ::= ref-defs-list\n"))
        #expect(grammar.contains("ref-defs-list-tail ::= ref-defs-list\n"))
        #expect(grammar.contains("ref-definitions-item ::= ([0] | [1-9] [0-9]{0,15})\n"))
        // A $ref that only refers to itself has nothing to generate.
        let loop = try JSONValue(
            parsing: ##"{"allOf": [{"$ref": "#/$defs/a"}], "$defs": {"a": {"$ref": "#/$defs/a"}}}"##)
        #expect(throws: GrammarError.self) { try JSONSchemaGrammar.gbnf(for: loop) }
    }

    @Test func emptySchemaAndTrueAreAnyValue() throws {
        let any = try JSONSchemaGrammar.gbnf(for: .object([]))
        #expect(any.contains("root ::= value\n"))
        #expect(try JSONSchemaGrammar.gbnf(for: .bool(true)) == any)
        let property = try JSONSchemaGrammar.gbnf(for: JSONValue(parsing: ##"{"properties": {"a": true}}"##))
        #expect(property.contains("a ::= value\n"))
    }

    @Test func annotationsAreAccepted() throws {
        let schema = try JSONValue(parsing: ##"""
            {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "x", "$comment": "c",
             "title": "T", "description": "D", "type": "string", "examples": ["a"], "default": "a",
             "deprecated": false, "readOnly": true, "writeOnly": false, "x-vendor": 1}
            """##)
        let plain = try JSONSchemaGrammar.gbnf(for: JSONValue(parsing: ##"{"type": "string"}"##))
        #expect(try JSONSchemaGrammar.gbnf(for: schema) == plain)
    }

    /// Schemas with a keyword that would be dropped, and part of the error naming it.
    static let rejected: [(String, String)] = [
        (##"{"type": "integer", "multipleOf": 2}"##, "'multipleOf'"),
        (##"{"type": "number", "maximum": 1}"##, "'maximum'"),
        (##"{"type": "number", "exclusiveMinimum": 0}"##, "'exclusiveMinimum'"),
        (##"{"type": "array", "uniqueItems": true}"##, "'uniqueItems'"),
        (##"{"type": "array", "contains": {"type": "integer"}}"##, "'contains'"),
        (##"{"type": "object", "patternProperties": {"^a": {}}}"##, "'patternProperties'"),
        (##"{"type": "object", "minProperties": 1}"##, "'minProperties'"),
        (##"{"type": "object", "maxProperties": 1}"##, "'maxProperties'"),
        (##"{"type": "object", "propertyNames": {"pattern": "^a$"}}"##, "'propertyNames'"),
        (##"{"not": {"type": "string"}}"##, "'not'"),
        (##"{"if": {"type": "string"}, "then": {"minLength": 1}, "else": {}}"##, "'if'"),
        (##"{"type": "string", "format": "email"}"##, "format 'email'"),
        (##"{"format": "hostname"}"##, "format 'hostname'"),
        (##"{"type": "string", "pattern": "^a$", "minLength": 2}"##, "'minLength'"),
        (##"{"type": "string", "format": "date", "maxLength": 20}"##, "'maxLength'"),
        (##"{"type": "string", "pattern": "^\\d+$"}"##, "pattern ^\\d+$ is not supported"),
        (##"{"type": "string", "pattern": "abc"}"##, "not anchored"),
        (##"{"type": "string", "pattern": "^(a$"}"##, "invalid pattern"),
        (##"{"$ref": "https://example.com/s.json"}"##, "unsupported $ref https://example.com/s.json"),
        (##"{"$ref": "other.json#/$defs/a"}"##, "only references into the same document"),
        (##"{"$ref": "#/$defs/missing"}"##, "cannot resolve $ref #/$defs/missing"),
        (
            ##"{"$ref": "#/$defs/a", "maxLength": 3, "$defs": {"a": {"type": "string"}}}"##,
            "'maxLength' is not supported beside $ref"
        ),
        (##"{"type": "integer", "enum": [1, "a"]}"##, "'type' cannot be enforced beside enum"),
        (
            ##"{"anyOf": [{"type": "integer"}, {"type": "string"}], "minimum": 1}"##,
            "'minimum' is not supported beside anyOf"
        ),
        (
            ##"{"anyOf": [{"type": "integer"}], "oneOf": [{"type": "string"}]}"##,
            "'anyOf' is not supported beside oneOf"
        ),
        (##"{"type": "array", "items": false}"##, "schema false"),
        (
            ##"{"type": "array", "items": [{"type": "string"}], "additionalItems": {"type": "integer"}}"##,
            "'additionalItems'"
        ),
        (##"{"type": "array", "prefixItems": [{}], "minItems": 2}"##, "'minItems'"),
        (##"{"type": "object", "properties": {"a": {}}, "required": ["b"]}"##, "required property 'b'"),
        (##"{"type": "integer", "minimum": 5, "maximum": 4}"##, "minimum is greater than maximum"),
        (##"{"type": "integer", "minimum": 1, "exclusiveMinimum": 3}"##, "'exclusiveMinimum'"),
        (##"{"type": "string", "minLength": 3, "maxLength": 2}"##, "minLength is greater than maxLength"),
        (##"{"type": "kaboom"}"##, "unrecognized type kaboom"),
        (##"{"type": "string", "nullable": true}"##, "unknown keyword 'nullable'"),
        (##"{"properties": {"a": false}}"##, "schema false"),
        (##"{"allOf": [{"type": "string"}, {"properties": {"a": {}}}]}"##, "allOf component of kind string"),
        (##"{"allOf": [{"enum": ["a"]}, {"enum": ["b"]}]}"##, "no value in common"),
        (##"{"allOf": [{"enum": ["a"]}, {"properties": {"a": {}}}]}"##, "mixing enums"),
        (##"{"type": "integer", "maximum": -9223372036854775808}"##, "maximum is out of range"),
        (##"{"type": "array", "minItems": -1}"##, "minItems must be a non-negative integer"),
    ]

    /// A keyword that would be dropped is an error naming it.
    @Test(arguments: rejected)
    func unsupportedKeywordsAreErrors(_ schema: String, _ expected: String) throws {
        let value = try JSONValue(parsing: schema)
        let error = #expect(throws: GrammarError.self) { try JSONSchemaGrammar.gbnf(for: value) }
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "no error")")
    }

    /// Keywords that cannot change the language: those of another type, and trivial values.
    static let harmless: [String] = [
        ##"{"type": "integer", "format": "int32", "minLength": 2}"##,
        ##"{"type": ["integer", "string"], "minimum": 0, "maxLength": 3}"##,
        ##"{"type": "string", "enum": ["a", "b"]}"##,
        ##"{"type": ["string", "null"], "enum": ["a", null]}"##,
        ##"{"type": "object", "anyOf": [{"properties": {"a": {}}}, {"properties": {"b": {}}}]}"##,
        ##"{"type": "array", "items": {}, "minItems": 0, "uniqueItems": false}"##,
        ##"{"additionalProperties": true}"##,
        ##"{"type": "integer", "minimum": 3, "exclusiveMinimum": 1}"##,
        ##"{"type": "array", "prefixItems": [{}, {}], "minItems": 1, "maxItems": 2}"##,
        ##"{"const": "a", "enum": ["a"], "type": "string"}"##,
        ##"{"type": "array", "prefixItems": [{"type": "boolean"}, {}], "items": false}"##,
    ]

    @Test(arguments: harmless)
    func harmlessKeywordsAreAccepted(_ schema: String) throws {
        _ = try JSONSchemaGrammar.gbnf(for: JSONValue(parsing: schema))
    }

    /// As llama.cpp's `may_be_string`, which decides whether a raw tool argument is constrained.
    @Test func mayBeString() throws {
        let cases: [(String, Bool)] = [
            (##"{"type": "string"}"##, true),
            (##"{"type": "integer"}"##, false),
            (##"{}"##, false),
            (##"{"enum": [1, "a"]}"##, true),
            (##"{"const": 3}"##, false),
            (##"{"type": ["integer", "string"]}"##, true),
            (##"{"anyOf": [{"type": "null"}, {"$ref": "#/$defs/s"}], "$defs": {"s": {"format": "date"}}}"##, true),
            (##"{"$ref": "#/$defs/a", "$defs": {"a": {"anyOf": [{"$ref": "#/$defs/a"}]}}}"##, false),
        ]
        for (schema, expected) in cases {
            #expect(try JSONSchemaGrammar.mayBeString(JSONValue(parsing: schema)) == expected, "\(schema)")
        }
    }

    @Test func builderLeavesNothingBehindOnError() throws {
        var builder = GrammarBuilder()
        _ = try builder.addSchema("a", JSONValue(parsing: ##"{"type": "string"}"##))
        let before = builder.gbnf
        #expect(throws: GrammarError.self) {
            let bad = ##"{"properties": {"x": {"type": "integer"}, "y": {"not": {}}}}"##
            _ = try builder.addSchema("b", JSONValue(parsing: bad))
        }
        #expect(builder.gbnf == before)
        #expect(GrammarBuilder.literal("a\"b\\c\nd") == ##""a\"b\\c\nd""##)
    }

    static let numbers: [(String, String)] = [
        ("1.50", "1.5"), ("1e2", "100.0"), ("-0", "0"), ("0.00001", "1e-05"), ("0.0001", "0.0001"),
        ("1e15", "1e+15"), ("1e14", "100000000000000.0"), ("123.456e-2", "1.23456"), ("-2.5E-7", "-2.5e-07"),
        ("12345678901234567890", "12345678901234567890"), ("99999999999999999999", "1e+20"), ("0.0", "0.0"),
        ("-0.0", "-0.0"), ("1.7976931348623157e308", "1.7976931348623157e+308"), ("5e-324", "5e-324"),
        ("-9223372036854775808", "-9223372036854775808"), ("-9223372036854775809", "-9.223372036854776e+18"),
    ]

    /// Constants are written as llama.cpp (nlohmann) re-writes them.
    @Test(arguments: numbers)
    func numbersAreWrittenAsLlamaCppWritesThem(_ text: String, _ expected: String) throws {
        let grammar = try JSONSchemaGrammar.gbnf(for: try JSONValue(parsing: #"{"const": \#(text)}"#))
        let firstLine = grammar.split(separator: "\n").first.map(String.init) ?? ""
        #expect(firstLine.hasPrefix("root ::= \"\(expected)\""), "\(grammar)")
        #expect(!firstLine.dropFirst("root ::= \"\(expected)\"".count).contains { $0.isNumber }, "\(grammar)")
    }
}
