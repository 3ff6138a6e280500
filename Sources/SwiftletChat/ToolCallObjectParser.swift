/// Reads one tool call written as a JSON object — `{"name": "f", "arguments": {...}}` and its
/// variants — character by character, passing the arguments on as they are generated.
///
/// This is the common piece of llama.cpp's JSON tool-call parsers (`parse_json_tool_calls`,
/// `consume_json_with_dumped_args` in the older chat.cpp; `standard_json_tools` in chat-peg-parser):
/// - the name is read from `"name"` and must be one of the offered tools, or the object is not a call;
/// - the arguments are the value of `"arguments"` (or `"parameters"`, Llama 3.x's key), passed through
///   as written (a raw control character inside one of its strings is written as its JSON escape, so
///   the text stays JSON); arguments given as a JSON *string* (some models stringify them) are decoded
///   and the decoded text is the arguments, as llama.cpp does;
/// - `"id"` gives the call id (a string, or a number written as text); any other key (`"type"`) is
///   checked and ignored.
/// The call starts (``ToolCallAction/start(name:)``) as soon as its name is read; arguments written
/// before the name are held until then. An object without arguments has `{}`.
struct ToolCallObjectParser: Sendable {
    enum Step: Equatable, Sendable {
        case consumed
        /// The closing `}` was read: the call is complete.
        case complete
        /// Not a call object (or not JSON); the character was not used.
        case failed
    }

    private enum Field: Sendable { case name, arguments, id, other }

    private enum State: Sendable {
        case open
        case firstKey
        case nextKey
        case key(ToolCallJSONStringDecoder)
        case colon(Field)
        case value(Field)
        case name(ToolCallJSONStringDecoder)
        case arguments(ToolCallJSONScanner)
        case argumentsString(ToolCallJSONStringDecoder)
        case id(ToolCallJSONStringDecoder)
        case rawID(ToolCallJSONScanner, text: String)
        case skip(ToolCallJSONScanner)
        case afterMember
        case done
        case failed
    }

    private let toolNames: Set<String>
    private let argumentKeys: Set<String>
    private var state: State = .open
    /// True once the name was read and the call started.
    private(set) var started = false
    private var sawArguments = false
    private var heldArguments = ""
    private var heldID: String?

    /// `toolNames`: the offered tools; `argumentKeys`: the keys that hold the arguments.
    init(toolNames: Set<String>, argumentKeys: Set<String> = ["arguments", "parameters"]) {
        self.toolNames = toolNames
        self.argumentKeys = argumentKeys
    }

    /// True while only whitespace or nothing has been read (the object has not begun).
    var isAtStart: Bool {
        if case .open = state { return true }
        return false
    }

    mutating func push(_ c: Unicode.Scalar, into actions: inout [ToolCallAction]) -> Step {
        switch state {
        case .done, .failed:
            return .failed
        case .open:
            if ToolCallJSONScanner.isSpace(c) { return .consumed }
            guard c == "{" else { return fail() }
            state = .firstKey
            return .consumed
        case .firstKey, .nextKey:
            if ToolCallJSONScanner.isSpace(c) { return .consumed }
            if c == "\"" {
                state = .key(ToolCallJSONStringDecoder())
                return .consumed
            }
            if c == "}", case .firstKey = state { return close(into: &actions) }
            return fail()
        case .key(var decoder):
            switch decoder.push(c) {
            case .invalid:
                return fail()
            case .accepted:
                state = .key(decoder)
            case .closed:
                state = .colon(field(for: decoder.decoded))
            }
            return .consumed
        case .colon(let field):
            if ToolCallJSONScanner.isSpace(c) { return .consumed }
            guard c == ":" else { return fail() }
            state = .value(field)
            return .consumed
        case .value(let field):
            if ToolCallJSONScanner.isSpace(c) { return .consumed }
            return startValue(field, c, into: &actions)
        case .name(var decoder):
            switch decoder.push(c) {
            case .invalid:
                return fail()
            case .accepted:
                state = .name(decoder)
                return .consumed
            case .closed:
                let name = decoder.decoded
                guard !started, toolNames.contains(name) else { return fail() }
                started = true
                actions.append(.start(name: name))
                if !heldArguments.isEmpty { actions.append(.arguments(heldArguments)) }
                if let heldID { actions.append(.id(heldID)) }
                heldArguments = ""
                heldID = nil
                state = .afterMember
                return .consumed
            }
        case .arguments(var scanner):
            let inString = scanner.isInString
            switch scanner.push(c) {
            case .invalid:
                return fail()
            case .accepted:
                state = .arguments(scanner)
                addArguments(Self.escapedIfControl(c, inString: inString), into: &actions)
                return .consumed
            case .complete:
                state = .afterMember
                addArguments(String(Character(c)), into: &actions)
                return .consumed
            case .completeBefore:
                state = .afterMember
                return push(c, into: &actions)
            }
        case .argumentsString(var decoder):
            switch decoder.push(c) {
            case .invalid:
                return fail()
            case .accepted:
                state = .argumentsString(decoder)
            case .closed:
                addArguments(decoder.decoded, into: &actions)
                state = .afterMember
            }
            return .consumed
        case .id(var decoder):
            switch decoder.push(c) {
            case .invalid:
                return fail()
            case .accepted:
                state = .id(decoder)
            case .closed:
                addID(decoder.decoded, into: &actions)
                state = .afterMember
            }
            return .consumed
        case .rawID(var scanner, let text):
            switch scanner.push(c) {
            case .invalid:
                return fail()
            case .accepted:
                state = .rawID(scanner, text: text + String(Character(c)))
                return .consumed
            case .complete:
                addID(text + String(Character(c)), into: &actions)
                state = .afterMember
                return .consumed
            case .completeBefore:
                addID(text, into: &actions)
                state = .afterMember
                return push(c, into: &actions)
            }
        case .skip(var scanner):
            switch scanner.push(c) {
            case .invalid:
                return fail()
            case .accepted:
                state = .skip(scanner)
                return .consumed
            case .complete:
                state = .afterMember
                return .consumed
            case .completeBefore:
                state = .afterMember
                return push(c, into: &actions)
            }
        case .afterMember:
            if ToolCallJSONScanner.isSpace(c) { return .consumed }
            if c == "," {
                state = .nextKey
                return .consumed
            }
            if c == "}" { return close(into: &actions) }
            return fail()
        }
    }

    private func field(for key: String) -> Field {
        if key == "name" { return .name }
        if argumentKeys.contains(key) { return .arguments }
        if key == "id" { return .id }
        return .other
    }

    private mutating func startValue(_ field: Field, _ c: Unicode.Scalar,
                                     into actions: inout [ToolCallAction]) -> Step {
        switch field {
        case .name:
            guard c == "\"" else { return fail() }
            state = .name(ToolCallJSONStringDecoder())
            return .consumed
        case .arguments:
            guard !sawArguments else { return fail() }
            sawArguments = true
            if c == "\"" {
                state = .argumentsString(ToolCallJSONStringDecoder())
                return .consumed
            }
            state = .arguments(ToolCallJSONScanner())
            return push(c, into: &actions)
        case .id:
            if c == "\"" {
                state = .id(ToolCallJSONStringDecoder())
                return .consumed
            }
            state = .rawID(ToolCallJSONScanner(), text: "")
            return push(c, into: &actions)
        case .other:
            state = .skip(ToolCallJSONScanner())
            return push(c, into: &actions)
        }
    }

    private mutating func close(into actions: inout [ToolCallAction]) -> Step {
        guard started else { return fail() }
        if !sawArguments { actions.append(.arguments("{}")) }
        state = .done
        return .complete
    }

    private mutating func addArguments(_ text: String, into actions: inout [ToolCallAction]) {
        if started {
            actions.append(.arguments(text))
        } else {
            heldArguments += text
        }
    }

    private mutating func addID(_ id: String, into actions: inout [ToolCallAction]) {
        if started {
            actions.append(.id(id))
        } else {
            heldID = id
        }
    }

    private mutating func fail() -> Step {
        state = .failed
        return .failed
    }

    /// `c` as it goes into the arguments text: itself, or its JSON escape when it is a raw control
    /// character inside a string.
    static func escapedIfControl(_ c: Unicode.Scalar, inString: Bool) -> String {
        guard inString, c.value < 0x20 else { return String(Character(c)) }
        switch c {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        case "\u{08}": return "\\b"
        case "\u{0C}": return "\\f"
        default:
            let hex = String(c.value, radix: 16)
            return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        }
    }
}
