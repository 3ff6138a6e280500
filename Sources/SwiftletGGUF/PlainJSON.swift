/// A JSON value parsed without Foundation (this module has no dependencies): safetensors headers and the
/// JSON files of a model folder. Numbers keep their text so that 64-bit offsets are read exactly; objects keep
/// their members in order.
public enum PlainJSON: Sendable, Equatable {
    case object([(String, PlainJSON)])
    case array([PlainJSON])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    public static func == (a: Self, b: Self) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)):
            x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.array(let x), .array(let y)): x == y
        case (.string(let x), .string(let y)), (.number(let x), .number(let y)): x == y
        case (.bool(let x), .bool(let y)): x == y
        case (.null, .null): true
        default: false
        }
    }

    /// A non-negative integer number, or nil.
    public var unsignedInteger: UInt64? {
        guard case .number(let t) = self else { return nil }
        return UInt64(t)
    }

    /// An integer number (written without fraction or exponent), or nil.
    public var int: Int? {
        guard case .number(let t) = self else { return nil }
        return Int(t)
    }

    /// Any number, or nil.
    public var double: Double? {
        guard case .number(let t) = self else { return nil }
        return Double(t)
    }

    public var bool: Bool? {
        guard case .bool(let b) = self else { return nil }
        return b
    }

    public var string: String? {
        guard case .string(let s) = self else { return nil }
        return s
    }

    public var array: [PlainJSON]? {
        guard case .array(let a) = self else { return nil }
        return a
    }

    /// The members of an object, in order, or nil.
    public var members: [(String, PlainJSON)]? {
        guard case .object(let m) = self else { return nil }
        return m
    }

    /// The first member named `key` of an object, or nil.
    public subscript(key: String) -> PlainJSON? {
        guard case .object(let m) = self else { return nil }
        return m.first { $0.0 == key }?.1
    }

    public var isNull: Bool { self == .null }

    /// Parses a JSON text; the error says what is wrong and at which byte.
    public static func parse(_ bytes: [UInt8]) throws(SafetensorsError) -> PlainJSON {
        let copy = MappedFile(copying: bytes)  // withUnsafeBytes does not forward typed throws
        return try parse(copy.bytes)
    }

    /// Parses one JSON value filling all of `bytes` (surrounding whitespace allowed); the error says what is
    /// wrong and at which byte.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(SafetensorsError) -> PlainJSON {
        var p = Parser(bytes: bytes)
        let v = try p.value(depth: 0)
        p.skipWhitespace()
        guard p.i == bytes.count else { throw p.fail("unexpected text after the JSON value") }
        return v
    }

    private struct Parser {
        let bytes: UnsafeRawBufferPointer
        var i = 0

        func fail(_ why: String) -> SafetensorsError { .invalidHeaderJSON(offset: i, reason: why) }

        mutating func skipWhitespace() {
            while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
        }

        mutating func value(depth: Int) throws(SafetensorsError) -> PlainJSON {
            guard depth < 64 else { throw fail("nesting deeper than 64 levels") }
            skipWhitespace()
            guard i < bytes.count else { throw fail("unexpected end of the header") }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                var members: [(String, PlainJSON)] = []
                skipWhitespace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
                    i += 1
                    return .object(members)
                }
                while true {
                    skipWhitespace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                    let key = try string()
                    skipWhitespace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                    i += 1
                    members.append((key, try value(depth: depth + 1)))
                    skipWhitespace()
                    guard i < bytes.count else { throw fail("unexpected end of the header") }
                    if bytes[i] == UInt8(ascii: ",") {
                        i += 1
                        continue
                    }
                    if bytes[i] == UInt8(ascii: "}") {
                        i += 1
                        return .object(members)
                    }
                    throw fail("expected ',' or '}'")
                }
            case UInt8(ascii: "["):
                i += 1
                var items: [PlainJSON] = []
                skipWhitespace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
                    i += 1
                    return .array(items)
                }
                while true {
                    items.append(try value(depth: depth + 1))
                    skipWhitespace()
                    guard i < bytes.count else { throw fail("unexpected end of the header") }
                    if bytes[i] == UInt8(ascii: ",") {
                        i += 1
                        continue
                    }
                    if bytes[i] == UInt8(ascii: "]") {
                        i += 1
                        return .array(items)
                    }
                    throw fail("expected ',' or ']'")
                }
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "n"): return try literal("null", .null)
            default:
                return try number()
            }
        }

        mutating func literal(_ word: String, _ v: PlainJSON) throws(SafetensorsError) -> PlainJSON {
            let w = Array(word.utf8)
            guard i + w.count <= bytes.count, zip(w, bytes[i..<(i + w.count)]).allSatisfy({ $0 == $1 }) else {
                throw fail("invalid literal")
            }
            i += w.count
            return v
        }

        mutating func number() throws(SafetensorsError) -> PlainJSON {
            let start = i
            while i < bytes.count, "+-0123456789.eE".utf8.contains(bytes[i]) { i += 1 }
            guard i > start else { throw fail("unexpected character") }
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            guard Double(text) != nil else {
                i = start
                throw fail("invalid number \"\(text)\"")
            }
            return .number(text)
        }

        mutating func string() throws(SafetensorsError) -> String {
            i += 1  // opening quote
            var out: [UInt8] = []
            while true {
                guard i < bytes.count else { throw fail("unterminated string") }
                let b = bytes[i]
                if b == UInt8(ascii: "\"") {
                    i += 1
                    break
                }
                if b < 0x20 { throw fail("control character in a string") }
                if b != UInt8(ascii: "\\") {
                    out.append(b)
                    i += 1
                    continue
                }
                guard i + 1 < bytes.count else { throw fail("unterminated string") }
                let e = bytes[i + 1]
                i += 2
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code), i + 1 < bytes.count,
                        bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u")
                    {
                        i += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw fail("invalid surrogate pair") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let s = Unicode.Scalar(code) else { throw fail("invalid \\u escape") }
                    out.append(contentsOf: String(s).utf8)
                default:
                    throw fail("invalid escape")
                }
            }
            guard let s = String(validating: out, as: UTF8.self) else { throw fail("invalid UTF-8 in a string") }
            return s
        }

        mutating func hex4() throws(SafetensorsError) -> UInt32 {
            guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16)
            else { throw fail("invalid \\u escape") }
            i += 4
            return v
        }
    }
}
