/// Checks one JSON value character by character, as it is generated, without building it.
///
/// The tool-call parser passes a call's `arguments` through as they arrive; this scanner says, for
/// each new character, whether the text is still the beginning of a valid JSON value, whether the
/// value just ended, or whether it can no longer be JSON. It is strict RFC 8259 except that raw
/// control characters inside strings are accepted (see ``isInString``: the caller escapes them), since
/// models do write literal newlines into string arguments.
struct ToolCallJSONScanner: Sendable {
    /// What one character did to the value.
    enum Outcome: Equatable, Sendable {
        /// The character belongs to the value, which goes on.
        case accepted
        /// The character belongs to the value and ends it.
        case complete
        /// The value had already ended (a number or a literal needs the next character to know):
        /// the character is not part of it.
        case completeBefore
        /// The character cannot follow: the text is not JSON.
        case invalid
    }

    private enum Container: Sendable { case object, array }

    private enum NumberState: Sendable {
        case sign, zero, integer, dot, fraction, exponentMark, exponentSign, exponent

        var canEnd: Bool {
            switch self {
            case .zero, .integer, .fraction, .exponent: true
            default: false
            }
        }
    }

    private enum State: Sendable {
        /// A value must start here (at top level, no whitespace is skipped: the caller does that).
        case value
        /// After `[`: a value or `]`.
        case arrayFirst
        /// After `{`: a key or `}`.
        case objectFirst
        /// After `,` in an object: a key.
        case objectKey
        /// After a key: `:`.
        case colon
        /// After a value inside a container: `,` or the closing bracket.
        case afterValue
        /// Inside a string; `isKey` when it is an object key.
        case string(isKey: Bool)
        case escape(isKey: Bool)
        case unicodeEscape(isKey: Bool, remaining: Int)
        case number(NumberState)
        /// Inside `true`, `false` or `null`: the characters still expected.
        case literal(remaining: [Unicode.Scalar])
        case done
        case failed
    }

    private var state: State = .value
    private var stack: [Container] = []

    /// True while the scanner is inside a string (where the caller may need to escape control characters).
    var isInString: Bool {
        switch state {
        case .string, .escape, .unicodeEscape: true
        default: false
        }
    }

    /// True before the value's first character.
    var isAtValueStart: Bool {
        if case .value = state, stack.isEmpty { return true }
        return false
    }

    /// True once the value has ended.
    var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// Feeds one character.
    mutating func push(_ c: Unicode.Scalar) -> Outcome {
        switch state {
        case .done:
            return .completeBefore
        case .failed:
            return .invalid
        case .value:
            return startValue(c, skipSpace: !stack.isEmpty)
        case .arrayFirst:
            if Self.isSpace(c) { return .accepted }
            if c == "]" { return closeContainer(.array) }
            return startValue(c, skipSpace: true)
        case .objectFirst:
            if Self.isSpace(c) { return .accepted }
            if c == "}" { return closeContainer(.object) }
            if c == "\"" {
                state = .string(isKey: true)
                return .accepted
            }
            return fail()
        case .objectKey:
            if Self.isSpace(c) { return .accepted }
            if c == "\"" {
                state = .string(isKey: true)
                return .accepted
            }
            return fail()
        case .colon:
            if Self.isSpace(c) { return .accepted }
            if c == ":" {
                state = .value
                return .accepted
            }
            return fail()
        case .afterValue:
            if Self.isSpace(c) { return .accepted }
            guard let top = stack.last else { return fail() }
            if c == "," {
                state = top == .object ? .objectKey : .value
                return .accepted
            }
            if c == "]" && top == .array { return closeContainer(.array) }
            if c == "}" && top == .object { return closeContainer(.object) }
            return fail()
        case .string(let isKey):
            if c == "\"" {
                if isKey {
                    state = .colon
                    return .accepted
                }
                return valueEnded()
            }
            if c == "\\" { state = .escape(isKey: isKey) }
            return .accepted
        case .escape(let isKey):
            switch c {
            case "\"", "\\", "/", "b", "f", "n", "r", "t":
                state = .string(isKey: isKey)
                return .accepted
            case "u":
                state = .unicodeEscape(isKey: isKey, remaining: 4)
                return .accepted
            default:
                return fail()
            }
        case .unicodeEscape(let isKey, let remaining):
            guard c.properties.isASCIIHexDigit else { return fail() }
            state = remaining == 1 ? .string(isKey: isKey) : .unicodeEscape(isKey: isKey, remaining: remaining - 1)
            return .accepted
        case .number(let n):
            return continueNumber(n, c)
        case .literal(let remaining):
            guard let first = remaining.first, c == first else { return fail() }
            if remaining.count == 1 { return valueEnded() }
            state = .literal(remaining: Array(remaining.dropFirst()))
            return .accepted
        }
    }

    /// The input ended: true when the text was exactly one complete value (a number may end here).
    mutating func end() -> Bool {
        switch state {
        case .done:
            return true
        case .number(let n) where n.canEnd && stack.isEmpty:
            state = .done
            return true
        default:
            return false
        }
    }

    private mutating func startValue(_ c: Unicode.Scalar, skipSpace: Bool) -> Outcome {
        if skipSpace && Self.isSpace(c) { return .accepted }
        switch c {
        case "{":
            stack.append(.object)
            state = .objectFirst
        case "[":
            stack.append(.array)
            state = .arrayFirst
        case "\"":
            state = .string(isKey: false)
        case "-":
            state = .number(.sign)
        case "0":
            state = .number(.zero)
        case "1"..."9":
            state = .number(.integer)
        case "t":
            state = .literal(remaining: Array("rue".unicodeScalars))
        case "f":
            state = .literal(remaining: Array("alse".unicodeScalars))
        case "n":
            state = .literal(remaining: Array("ull".unicodeScalars))
        default:
            return fail()
        }
        return .accepted
    }

    private mutating func continueNumber(_ n: NumberState, _ c: Unicode.Scalar) -> Outcome {
        let digit = ("0"..."9").contains(c)
        var next: NumberState?
        switch n {
        case .sign: next = c == "0" ? .zero : (digit ? .integer : nil)
        case .zero: next = c == "." ? .dot : (c == "e" || c == "E" ? .exponentMark : nil)
        case .integer: next = digit ? .integer : (c == "." ? .dot : (c == "e" || c == "E" ? .exponentMark : nil))
        case .dot: next = digit ? .fraction : nil
        case .fraction: next = digit ? .fraction : (c == "e" || c == "E" ? .exponentMark : nil)
        case .exponentMark: next = digit ? .exponent : (c == "+" || c == "-" ? .exponentSign : nil)
        case .exponentSign, .exponent: next = digit ? .exponent : nil
        }
        if let next {
            state = .number(next)
            return .accepted
        }
        guard n.canEnd else { return fail() }
        // The number ended before `c`; `c` must fit what follows it.
        if stack.isEmpty {
            state = .done
            return .completeBefore
        }
        state = .afterValue
        return push(c)
    }

    private mutating func closeContainer(_ kind: Container) -> Outcome {
        guard stack.last == kind else { return fail() }
        stack.removeLast()
        return valueEnded()
    }

    private mutating func valueEnded() -> Outcome {
        if stack.isEmpty {
            state = .done
            return .complete
        }
        state = .afterValue
        return .accepted
    }

    private mutating func fail() -> Outcome {
        state = .failed
        return .invalid
    }

    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        c == " " || c == "\n" || c == "\r" || c == "\t"
    }
}
