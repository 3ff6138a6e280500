/// Decodes one JSON string literal character by character, after its opening quote.
///
/// Used for the parts of a tool call that are read rather than passed through: object keys, the
/// function name, a call id, and the generic format's `"response"` text, which is shown as content
/// as it arrives. Escapes (`\n`, `\uXXXX`, surrogate pairs) are resolved; a lone surrogate becomes
/// U+FFFD. Raw control characters are accepted as themselves (models write them).
struct ToolCallJSONStringDecoder: Sendable {
    /// What one character did.
    enum Outcome: Equatable, Sendable {
        /// The character was taken; `text` is what it decoded to so far (may be empty, e.g. mid-escape).
        case accepted(String)
        /// The closing quote: the string is complete; `text` is what was still pending (a lone
        /// surrogate's U+FFFD), usually empty.
        case closed(String)
        /// Not a valid string character (a bad escape).
        case invalid
    }

    private enum State: Sendable {
        case text
        case escape
        case unicode(value: UInt32, remaining: Int)
        case closed
        case failed
    }

    private var state: State = .text
    /// A high surrogate waiting for its low half.
    private var pendingHigh: UInt32?
    /// Everything decoded so far.
    private(set) var decoded = ""

    var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    mutating func push(_ c: Unicode.Scalar) -> Outcome {
        switch state {
        case .closed:
            return .invalid
        case .failed:
            return .invalid
        case .text:
            if c == "\"" {
                let tail = flushPendingHigh()
                state = .closed
                decoded += tail
                return .closed(tail)
            }
            if c == "\\" {
                state = .escape
                return .accepted("")
            }
            return emit(scalar: c)
        case .escape:
            let simple: Unicode.Scalar?
            switch c {
            case "\"": simple = "\""
            case "\\": simple = "\\"
            case "/": simple = "/"
            case "b": simple = "\u{08}"
            case "f": simple = "\u{0C}"
            case "n": simple = "\n"
            case "r": simple = "\r"
            case "t": simple = "\t"
            case "u":
                state = .unicode(value: 0, remaining: 4)
                return .accepted("")
            default:
                state = .failed
                return .invalid
            }
            state = .text
            return emit(scalar: simple ?? c)
        case .unicode(let value, let remaining):
            guard let digit = Self.hexValue(c) else {
                state = .failed
                return .invalid
            }
            let v = value * 16 + digit
            if remaining > 1 {
                state = .unicode(value: v, remaining: remaining - 1)
                return .accepted("")
            }
            state = .text
            return emit(codeUnit: v)
        }
    }

    /// A decoded code point from `\uXXXX`, pairing surrogates.
    private mutating func emit(codeUnit v: UInt32) -> Outcome {
        if (0xD800...0xDBFF).contains(v) {
            let out = flushPendingHigh()
            pendingHigh = v
            decoded += out
            return .accepted(out)
        }
        if (0xDC00...0xDFFF).contains(v) {
            guard let high = pendingHigh else { return append("\u{FFFD}") }
            pendingHigh = nil
            let combined = 0x10000 + ((high - 0xD800) << 10) + (v - 0xDC00)
            return append(String(Unicode.Scalar(combined).map(Character.init) ?? "\u{FFFD}"))
        }
        let out = flushPendingHigh() + String(Unicode.Scalar(v).map(Character.init) ?? "\u{FFFD}")
        decoded += out
        return .accepted(out)
    }

    private mutating func emit(scalar: Unicode.Scalar) -> Outcome {
        append(flushPendingHigh() + String(Character(scalar)))
    }

    private mutating func append(_ s: String) -> Outcome {
        decoded += s
        return .accepted(s)
    }

    private mutating func flushPendingHigh() -> String {
        guard pendingHigh != nil else { return "" }
        pendingHigh = nil
        return "\u{FFFD}"
    }

    private static func hexValue(_ c: Unicode.Scalar) -> UInt32? {
        switch c {
        case "0"..."9": c.value - 0x30
        case "a"..."f": c.value - 0x61 + 10
        case "A"..."F": c.value - 0x41 + 10
        default: nil
        }
    }
}
