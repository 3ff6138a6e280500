import SwiftletGrammar

/// Reads the tool-call markup that follows a format's opening marker (or, for the formats that have
/// none, the JSON at the start of the output), character by character.
///
/// The shapes, after the marker:
/// - ``Shape/tagged(close:)``: Hermes 2 Pro / Qwen (`<tool_call>` … `</tool_call>`) and Phi-4-mini
///   (`<|tool_call|>` … `<|/tool_call|>`): one call object, or a JSON array of them, then the closing tag.
///   A missing closing tag ends the section after the object (the rest is content).
/// - ``Shape/array``: Mistral Nemo's `[TOOL_CALLS]`: a JSON array of call objects (a lone object is taken too).
/// - ``Shape/object``: Llama 3.x's bare `{"name": …, "parameters": …}`.
/// - ``Shape/pythonTag``: after Llama 3.1's `<|python_tag|>`: a call object, or a builtin tool call
///   `name.call(key=value, …)` whose values are JSON (the template writes strings); its arguments become
///   the object `{"key":value,…}`.
/// - ``Shape/generic``: llama.cpp's generic format, the whole output one JSON object:
///   `{"tool_call": {…}}`, `{"tool_calls": [{…}, …]}` or `{"response": "…"}` (the response text is content;
///   `"content"` is read as `"response"`, which the polyfilled history shows the model).
struct ToolCallSectionParser: Sendable {
    enum Shape: Equatable, Sendable {
        case tagged(close: String)
        case array
        case object
        case pythonTag
        case generic
    }

    private enum GenericKey: Sendable { case call, calls, response, other }

    private enum State: Sendable {
        /// Before the first call: whitespace, then a call object or `[`.
        case begin
        /// Inside one call object.
        case object(ToolCallObjectParser, inList: Bool)
        /// In a list, before an item (`first` allows `]`).
        case listItem(first: Bool)
        /// In a list, after an item: `,` or `]`.
        case listNext
        /// Tagged: after the call(s), before the closing tag.
        case beforeClose
        /// Tagged: `matched` characters of the closing tag were read.
        case closing(matched: Int)
        // Builtin call (`<|python_tag|>name.call(k=v)`).
        case builtinName(String)
        case builtinDot(String)
        case builtinCall(String, matched: Int)
        case builtinArgStart(first: Bool)
        case builtinArgName(String, first: Bool)
        case builtinEquals
        case builtinValue(ToolCallJSONScanner)
        case builtinNext
        // Generic object.
        case genericOpen
        case genericKeyStart(first: Bool)
        case genericKey(ToolCallJSONStringDecoder)
        case genericColon(GenericKey)
        case genericValue(GenericKey)
        case genericResponse(ToolCallJSONStringDecoder)
        case genericRawResponse(ToolCallJSONScanner)
        case genericSkip(ToolCallJSONScanner)
        case genericAfterMember
        case done
        case failed
    }

    let shape: Shape
    private let toolNames: Set<String>
    private let closeTag: [Unicode.Scalar]
    private var state: State
    /// True once something of the section was taken as tool-call markup (a call started, or the
    /// generic object's key was read): from then on a failure no longer turns the section into content.
    private(set) var committed = false
    /// True while a started call has not ended.
    private(set) var callOpen = false

    init(shape: Shape, toolNames: Set<String>) {
        self.shape = shape
        self.toolNames = toolNames
        if case .tagged(let close) = shape {
            closeTag = Array(close.unicodeScalars)
        } else {
            closeTag = []
        }
        switch shape {
        case .generic: state = .genericOpen
        default: state = .begin
        }
    }

    private func newObject() -> ToolCallObjectParser {
        ToolCallObjectParser(toolNames: toolNames)
    }

    mutating func push(_ c: Unicode.Scalar, into actions: inout [ToolCallAction]) -> ToolCallStep {
        switch state {
        case .done, .failed:
            return .failed
        case .begin:
            if ToolCallJSONScanner.isSpace(c) { return .consumed }
            if c == "{" { return enterObject(c, inList: false, into: &actions) }
            if c == "[" && shape != .object {
                state = .listItem(first: true)
                return .consumed
            }
            if shape == .pythonTag && Self.isIdentifier(c) {
                state = .builtinName(String(Character(c)))
                return .consumed
            }
            return fail()
        case .object(var parser, let inList):
            let step = parser.push(c, into: &actions)
            noteStarts(actions)
            switch step {
            case .failed:
                return fail()
            case .consumed:
                state = .object(parser, inList: inList)
                return .consumed
            case .complete:
                actions.append(.end)
                callOpen = false
                return afterCall(inList: inList)
            }
        case .listItem(let first):
            if ToolCallJSONScanner.isSpace(c) { return .consumed }
            if c == "{" { return enterObject(c, inList: true, into: &actions) }
            if c == "]" && first { return afterList() }
            return fail()
        case .listNext:
            if ToolCallJSONScanner.isSpace(c) { return .consumed }
            if c == "," {
                state = .listItem(first: false)
                return .consumed
            }
            if c == "]" { return afterList() }
            return fail()
        case .beforeClose:
            if ToolCallJSONScanner.isSpace(c) { return .consumed }
            return closing(c, matched: 0)
        case .closing(let matched):
            return closing(c, matched: matched)
        case .builtinName(let name):
            if Self.isIdentifier(c) {
                state = .builtinName(name + String(Character(c)))
                return .consumed
            }
            state = .builtinDot(name)
            return push(c, into: &actions)
        case .builtinDot(let name):
            if ToolCallJSONScanner.isSpace(c) { return .consumed }
            guard c == "." else { return fail() }
            state = .builtinCall(name, matched: 0)
            return .consumed
        case .builtinCall(let name, let matched):
            let call = Array("call(".unicodeScalars)
            if matched == 0 && ToolCallJSONScanner.isSpace(c) { return .consumed }
            guard c == call[matched] else { return fail() }
            if matched + 1 < call.count {
                state = .builtinCall(name, matched: matched + 1)
                return .consumed
            }
            guard toolNames.contains(name) else { return fail() }
            committed = true
            callOpen = true
            actions.append(.start(name: name))
            actions.append(.arguments("{"))
            state = .builtinArgStart(first: true)
            return .consumed
        case .builtinArgStart(let first):
            if ToolCallJSONScanner.isSpace(c) { return .consumed }
            if c == ")" { return endBuiltin(into: &actions) }
            guard Self.isIdentifier(c) else { return fail() }
            state = .builtinArgName(String(Character(c)), first: first)
            return .consumed
        case .builtinArgName(let name, let first):
            if Self.isIdentifier(c) {
                state = .builtinArgName(name + String(Character(c)), first: first)
                return .consumed
            }
            actions.append(.arguments((first ? "" : ",") + JSONValue.quoted(name) + ":"))
            state = .builtinEquals
            return push(c, into: &actions)
        case .builtinEquals:
            if ToolCallJSONScanner.isSpace(c) { return .consumed }
            guard c == "=" else { return fail() }
            state = .builtinValue(ToolCallJSONScanner())
            return .consumed
        case .builtinValue(var scanner):
            if scanner.isAtValueStart && ToolCallJSONScanner.isSpace(c) { return .consumed }
            let inString = scanner.isInString
            switch scanner.push(c) {
            case .invalid:
                return fail()
            case .accepted:
                state = .builtinValue(scanner)
                actions.append(.arguments(ToolCallObjectParser.escapedIfControl(c, inString: inString)))
                return .consumed
            case .complete:
                state = .builtinNext
                actions.append(.arguments(String(Character(c))))
                return .consumed
            case .completeBefore:
                state = .builtinNext
                return push(c, into: &actions)
            }
        case .builtinNext:
            if ToolCallJSONScanner.isSpace(c) { return .consumed }
            if c == "," {
                state = .builtinArgStart(first: false)
                return .consumed
            }
            if c == ")" { return endBuiltin(into: &actions) }
            return fail()
        case .genericOpen:
            if ToolCallJSONScanner.isSpace(c) { return .consumed }
            guard c == "{" else { return fail() }
            state = .genericKeyStart(first: true)
            return .consumed
        case .genericKeyStart(let first):
            if ToolCallJSONScanner.isSpace(c) { return .consumed }
            if c == "\"" {
                state = .genericKey(ToolCallJSONStringDecoder())
                return .consumed
            }
            if c == "}" && !first { return finishGeneric() }
            return fail()
        case .genericKey(var decoder):
            switch decoder.push(c) {
            case .invalid:
                return fail()
            case .accepted:
                state = .genericKey(decoder)
                return .consumed
            case .closed:
                let key: GenericKey = switch decoder.decoded {
                case "tool_call": .call
                case "tool_calls": .calls
                case "response", "content": .response
                default: .other
                }
                // The first key decides whether this is the generic format's object at all.
                if !committed {
                    guard key != .other else { return fail() }
                    committed = true
                }
                state = .genericColon(key)
                return .consumed
            }
        case .genericColon(let key):
            if ToolCallJSONScanner.isSpace(c) { return .consumed }
            guard c == ":" else { return fail() }
            state = .genericValue(key)
            return .consumed
        case .genericValue(let key):
            if ToolCallJSONScanner.isSpace(c) { return .consumed }
            switch key {
            case .call:
                guard c == "{" else { return fail() }
                return enterObject(c, inList: false, into: &actions)
            case .calls:
                guard c == "[" else { return fail() }
                state = .listItem(first: true)
                return .consumed
            case .response:
                if c == "\"" {
                    state = .genericResponse(ToolCallJSONStringDecoder())
                    return .consumed
                }
                state = .genericRawResponse(ToolCallJSONScanner())
                return push(c, into: &actions)
            case .other:
                state = .genericSkip(ToolCallJSONScanner())
                return push(c, into: &actions)
            }
        case .genericResponse(var decoder):
            switch decoder.push(c) {
            case .invalid:
                return fail()
            case .accepted(let text):
                if !text.isEmpty { actions.append(.content(text)) }
                state = .genericResponse(decoder)
            case .closed(let text):
                if !text.isEmpty { actions.append(.content(text)) }
                state = .genericAfterMember
            }
            return .consumed
        case .genericRawResponse(var scanner):
            switch scanner.push(c) {
            case .invalid:
                return fail()
            case .accepted:
                actions.append(.content(String(Character(c))))
                state = .genericRawResponse(scanner)
                return .consumed
            case .complete:
                actions.append(.content(String(Character(c))))
                state = .genericAfterMember
                return .consumed
            case .completeBefore:
                state = .genericAfterMember
                return push(c, into: &actions)
            }
        case .genericSkip(var scanner):
            switch scanner.push(c) {
            case .invalid:
                return fail()
            case .accepted:
                state = .genericSkip(scanner)
                return .consumed
            case .complete:
                state = .genericAfterMember
                return .consumed
            case .completeBefore:
                state = .genericAfterMember
                return push(c, into: &actions)
            }
        case .genericAfterMember:
            if ToolCallJSONScanner.isSpace(c) { return .consumed }
            if c == "," {
                state = .genericKeyStart(first: false)
                return .consumed
            }
            if c == "}" { return finishGeneric() }
            return fail()
        }
    }

    /// The output ended inside the section. A section that took nothing is not tool-call markup
    /// (`.failed`); otherwise it is over, an unfinished call ending where the text stops. An unfinished
    /// closing tag at the very end is taken as markup.
    mutating func end(into actions: inout [ToolCallAction]) -> ToolCallStep {
        guard committed else { return fail() }
        if callOpen {
            actions.append(.end)
            callOpen = false
        }
        state = .done
        return .ended(leftover: [])
    }

    private mutating func enterObject(_ c: Unicode.Scalar, inList: Bool,
                                      into actions: inout [ToolCallAction]) -> ToolCallStep {
        var parser = newObject()
        let step = parser.push(c, into: &actions)
        guard step == .consumed else { return fail() }
        state = .object(parser, inList: inList)
        return .consumed
    }

    private mutating func noteStarts(_ actions: [ToolCallAction]) {
        if !callOpen, actions.contains(where: { if case .start = $0 { true } else { false } }) {
            committed = true
            callOpen = true
        }
    }

    private mutating func afterCall(inList: Bool) -> ToolCallStep {
        if inList {
            state = .listNext
            return .consumed
        }
        return afterList()
    }

    /// After the call or the list of calls.
    private mutating func afterList() -> ToolCallStep {
        switch shape {
        case .tagged:
            state = .beforeClose
            return .consumed
        case .generic:
            state = .genericAfterMember
            return .consumed
        case .array, .object, .pythonTag:
            state = .done
            return .ended(leftover: [])
        }
    }

    private mutating func closing(_ c: Unicode.Scalar, matched: Int) -> ToolCallStep {
        if c == closeTag[matched] {
            if matched + 1 == closeTag.count {
                state = .done
                return .ended(leftover: [])
            }
            state = .closing(matched: matched + 1)
            return .consumed
        }
        // No closing tag: the call(s) stand; what was read of the tag, and `c`, go back.
        state = .done
        return .ended(leftover: Array(closeTag[0..<matched]) + [c])
    }

    private mutating func endBuiltin(into actions: inout [ToolCallAction]) -> ToolCallStep {
        actions.append(.arguments("}"))
        actions.append(.end)
        callOpen = false
        state = .done
        return .ended(leftover: [])
    }

    private mutating func finishGeneric() -> ToolCallStep {
        state = .done
        return .ended(leftover: [])
    }

    private mutating func fail() -> ToolCallStep {
        state = .failed
        return .failed
    }

    private static func isIdentifier(_ c: Unicode.Scalar) -> Bool {
        c == "_" || ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c)
    }
}
