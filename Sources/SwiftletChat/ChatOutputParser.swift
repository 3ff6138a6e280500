/// Splits a model's output into content, reasoning and tool calls while it streams in, for one
/// template's ``ChatOutputSyntax`` — what llama.cpp's `common_chat_parse` does on each partial output
/// (there by parsing the whole text again and diffing; here by reading each new character once).
///
/// ```swift
/// var parser = ChatOutputParser(syntax: ChatOutputSyntax(templateSource: source, renderedPrompt: prompt),
///                               toolNames: ["get_weather"])
/// for piece in generatedPieces { send(parser.feed(piece)) }
/// send(parser.finish())
/// ```
///
/// What it recognises:
/// - Reasoning: a `<think>` … `</think>` block at the very start of the output (after whitespace), or,
///   when the prompt already opened it (``ChatOutputSyntax/startsInReasoning``), everything up to
///   `</think>`. Reasoning is trimmed of surrounding whitespace; output that ends before `</think>` is
///   all reasoning. A `<think>` later in the text is content.
/// - Tool calls, only when tools were offered (`toolNames` not empty) — otherwise tool markup is just
///   content: the format's marker anywhere in the content (`<tool_call>`, `[TOOL_CALLS]`,
///   `<|tool_call|>`, `<|python_tag|>`), or for Llama 3.x and the generic format a JSON object at the
///   start of the answer (after any reasoning). A call counts only when its name is one of `toolNames`
///   (as llama.cpp b11312's parser matches the offered names).
/// - Content: the rest. Whitespace at the start of the answer, after the reasoning and after a call
///   is dropped, as is whitespace right before a call's marker.
///
/// Streaming: text that may be the beginning of a marker (`<tool_`, `</thi`) and whitespace that
/// may precede one are held back until the next characters decide; no marker text is ever given as
/// content or reasoning. A call is taken as a call once its name is read (marker, `{"name": "f"`):
/// until then its text is held back, and if it turns out not to be a call (not JSON, no offered name)
/// the whole text is content after all. After that point its arguments are passed on as they arrive;
/// if they then stop being JSON, the call ends there (with the arguments read so far) and the rest
/// of the output is content — a call cannot be taken back once announced. The grammar of a
/// ``ToolCallPlan`` keeps constrained output from doing this.
///
/// ``parse(_:)`` reads a whole output at once and gives what the stream of events adds up to; any
/// split of the same text into `feed` calls gives the same events (merged differently).
public struct ChatOutputParser: Sendable {
    private enum Mode: Sendable {
        /// Before the answer's first character; `reasoningAllowed`: a `<think>` may open here;
        /// `jsonCallAllowed`: a `{` here may be a bare JSON call (Llama 3.x, generic).
        case start(reasoningAllowed: Bool, jsonCallAllowed: Bool)
        case reasoning
        case content
        case section(ToolCallSectionParser)
    }

    /// The template's syntax.
    public let syntax: ChatOutputSyntax
    /// The offered tools' names; empty when no tools were offered (tool markup is then content).
    public let toolNames: [String]

    private let toolNameSet: Set<String>
    private let markers: [[Unicode.Scalar]]
    private let markerTexts: [String]
    private let reasoningStart: [Unicode.Scalar]
    private let reasoningEnd: [Unicode.Scalar]

    private var mode: Mode
    /// Text read but not yet given out (whitespace, a possible marker's beginning).
    private var held: [Unicode.Scalar] = []
    private var skipLeadingSpace = false
    /// The text that opened the current tool-call section (and the whitespace before it), given as
    /// content if the section turns out not to be tool-call markup.
    private var sectionOpening: [Unicode.Scalar] = []
    /// What the section read since it last produced something.
    private var sectionRaw: [Unicode.Scalar] = []
    private var sectionCommitted = false
    private var nextCallIndex = 0
    private var openCall: Int?
    private var finished = false
    private var events: [ChatOutputEvent] = []
    private enum PendingKind: Equatable, Sendable { case content, reasoning, arguments(Int) }
    private var pendingKind: PendingKind?
    private var pendingText = ""

    /// A parser for output written in `syntax`, when the tools named `toolNames` were offered (none:
    /// pass `[]`, or when `tool_choice` is `none`).
    public init(syntax: ChatOutputSyntax, toolNames: [String]) {
        self.syntax = syntax
        self.toolNames = toolNames
        toolNameSet = Set(toolNames)
        let tools = !toolNames.isEmpty
        markerTexts = tools ? syntax.format.contentMarkers : []
        markers = markerTexts.map { Array($0.unicodeScalars) }
        reasoningStart = Array((syntax.reasoning?.start ?? "").unicodeScalars)
        reasoningEnd = Array((syntax.reasoning?.end ?? "").unicodeScalars)
        if syntax.startsInReasoning && syntax.reasoning != nil {
            mode = .reasoning
            skipLeadingSpace = true
        } else {
            mode = .start(reasoningAllowed: syntax.reasoning != nil, jsonCallAllowed: true)
        }
    }

    /// Reads the next piece of output; returns what it completes. Events for text that may still turn
    /// out to be markup come later.
    public mutating func feed(_ text: String) -> [ChatOutputEvent] {
        guard !finished else { return [] }
        run(Array(text.unicodeScalars))
        return takeEvents()
    }

    /// The output ended: gives out everything still held back. Further `feed` calls are ignored.
    public mutating func finish() -> [ChatOutputEvent] {
        guard !finished else { return [] }
        finished = true
        while true {
            switch mode {
            case .start, .content:
                emitContent(held)
                held = []
                return takeEvents()
            case .reasoning:
                emitReasoning(Self.trimmingTrailingSpace(held))
                held = []
                return takeEvents()
            case .section(var section):
                var actions: [ToolCallAction] = []
                let step = section.end(into: &actions)
                apply(actions)
                if case .failed = step {
                    mode = .content
                    run(notMarkup(lastCharacter: nil))
                    continue
                }
                mode = .content
                held = []
                return takeEvents()
            }
        }
    }

    /// The whole output at once, read as a fresh parser would read it streamed.
    public func parse(_ fullText: String) -> ParsedChatOutput {
        var fresh = ChatOutputParser(syntax: syntax, toolNames: toolNames)
        var all = fresh.feed(fullText)
        all += fresh.finish()
        return ParsedChatOutput(events: all)
    }

    // MARK: - Reading

    private mutating func run(_ input: [Unicode.Scalar]) {
        // A stack (last element next) so text handed back by a mode is read again before the rest.
        var work = Array(input.reversed())
        while let c = work.popLast() {
            let back = step(c)
            if !back.isEmpty { work.append(contentsOf: back.reversed()) }
        }
    }

    /// Reads one character in the current mode; returns text to read again (in the new mode).
    private mutating func step(_ c: Unicode.Scalar) -> [Unicode.Scalar] {
        switch mode {
        case .start(let reasoningAllowed, let jsonCallAllowed):
            return startStep(c, reasoningAllowed: reasoningAllowed, jsonCallAllowed: jsonCallAllowed)
        case .reasoning:
            reasoningStep(c)
            return []
        case .content:
            return contentStep(c)
        case .section(let section):
            return sectionStep(c, section)
        }
    }

    private mutating func startStep(_ c: Unicode.Scalar, reasoningAllowed: Bool,
                                    jsonCallAllowed: Bool) -> [Unicode.Scalar] {
        if held.isEmpty && ToolCallJSONScanner.isSpace(c) { return [] }
        let text = held + [c]
        held = []
        if reasoningAllowed && !reasoningStart.isEmpty && text.count <= reasoningStart.count
            && Array(reasoningStart.prefix(text.count)) == text {
            if text.count == reasoningStart.count {
                mode = .reasoning
                skipLeadingSpace = true
            } else {
                held = text
            }
            return []
        }
        if jsonCallAllowed, !toolNames.isEmpty, let shape = syntax.format.shapeAtStart, text.first == "{" {
            beginSection(shape, opening: [])
            return text
        }
        mode = .content
        skipLeadingSpace = false
        return text
    }

    private mutating func reasoningStep(_ c: Unicode.Scalar) {
        if skipLeadingSpace {
            if held.isEmpty && ToolCallJSONScanner.isSpace(c) { return }
            skipLeadingSpace = false
        }
        held.append(c)
        if held.count >= reasoningEnd.count && Array(held.suffix(reasoningEnd.count)) == reasoningEnd {
            emitReasoning(Self.trimmingTrailingSpace(Array(held.dropLast(reasoningEnd.count))))
            held = []
            mode = .start(reasoningAllowed: false, jsonCallAllowed: true)
            return
        }
        let keep = Self.holdStart(held, markers: [reasoningEnd])
        emitReasoning(Array(held[..<keep]))
        held.removeFirst(keep)
    }

    private mutating func contentStep(_ c: Unicode.Scalar) -> [Unicode.Scalar] {
        if skipLeadingSpace {
            if held.isEmpty && ToolCallJSONScanner.isSpace(c) { return [] }
            skipLeadingSpace = false
        }
        if markers.isEmpty {
            emitContent([c])
            return []
        }
        held.append(c)
        for (i, marker) in markers.enumerated()
        where held.count >= marker.count && Array(held.suffix(marker.count)) == marker {
            let before = Array(held.dropLast(marker.count))
            var spaceStart = before.count
            while spaceStart > 0 && ToolCallJSONScanner.isSpace(before[spaceStart - 1]) { spaceStart -= 1 }
            emitContent(Array(before[..<spaceStart]))
            held = []
            beginSection(syntax.format.shape(after: markerTexts[i]), opening: Array(before[spaceStart...]) + marker)
            return []
        }
        let keep = Self.holdStart(held, markers: markers)
        emitContent(Array(held[..<keep]))
        held.removeFirst(keep)
        return []
    }

    private mutating func sectionStep(_ c: Unicode.Scalar, _ current: ToolCallSectionParser) -> [Unicode.Scalar] {
        var section = current
        var actions: [ToolCallAction] = []
        let step = section.push(c, into: &actions)
        var justCommitted = false
        if section.committed && !sectionCommitted {
            // It is tool-call markup: the marker and the whitespace before it are consumed.
            sectionCommitted = true
            sectionOpening = []
            justCommitted = true
        }
        apply(actions)
        switch step {
        case .consumed:
            if actions.isEmpty && !justCommitted {
                sectionRaw.append(c)
            } else {
                sectionRaw = []
            }
            mode = .section(section)
            return []
        case .ended(let leftover):
            sectionRaw = []
            let more = syntax.format.shapeAtStart == .object
            mode = .start(reasoningAllowed: false, jsonCallAllowed: more)
            return leftover
        case .failed:
            if sectionCommitted {
                if section.callOpen, let index = openCall {
                    emit(.toolCallEnd(index: index))
                    openCall = nil
                }
                let back = sectionRaw + [c]
                sectionRaw = []
                mode = .content
                skipLeadingSpace = false
                return back
            }
            mode = .content
            skipLeadingSpace = false
            return notMarkup(lastCharacter: c)
        }
    }

    /// The current section was not tool-call markup: its opening text becomes content and what it
    /// read after that (and `lastCharacter`) is returned, to be read again as content.
    private mutating func notMarkup(lastCharacter: Unicode.Scalar?) -> [Unicode.Scalar] {
        var back = sectionRaw
        if let lastCharacter { back.append(lastCharacter) }
        var opening = sectionOpening
        if opening.isEmpty && !back.isEmpty {
            // A bare-JSON section: its `{` is the opening (read again, it would open the section again).
            opening = [back.removeFirst()]
        }
        emitContent(opening)
        sectionOpening = []
        sectionRaw = []
        return back
    }

    private mutating func beginSection(_ shape: ToolCallSectionParser.Shape, opening: [Unicode.Scalar]) {
        mode = .section(ToolCallSectionParser(shape: shape, toolNames: toolNameSet))
        sectionOpening = opening
        sectionRaw = []
        sectionCommitted = false
    }

    private mutating func apply(_ actions: [ToolCallAction]) {
        for action in actions {
            switch action {
            case .start(let name):
                let index = nextCallIndex
                nextCallIndex += 1
                openCall = index
                emit(.toolCallStart(index: index, name: name))
            case .arguments(let text):
                if let index = openCall, !text.isEmpty { emit(.toolCallArguments(index: index, delta: text)) }
            case .id(let id):
                if let index = openCall { emit(.toolCallID(index: index, id: id)) }
            case .end:
                if let index = openCall { emit(.toolCallEnd(index: index)) }
                openCall = nil
            case .content(let text):
                if !text.isEmpty { emit(.content(text)) }
            }
        }
    }

    // MARK: - Events

    private mutating func emitContent(_ scalars: [Unicode.Scalar]) {
        guard !scalars.isEmpty else { return }
        emit(.content(Self.string(scalars)))
    }

    private mutating func emitReasoning(_ scalars: [Unicode.Scalar]) {
        guard !scalars.isEmpty else { return }
        emit(.reasoning(Self.string(scalars)))
    }

    /// Appends an event, merging it into the previous one when both are text of the same kind.
    private mutating func emit(_ event: ChatOutputEvent) {
        // Text is gathered in `pendingText` (appended in place: a long output stays linear) and becomes
        // one event when something else comes.
        let kind: PendingKind?
        let text: String
        switch event {
        case .content(let t): (kind, text) = (.content, t)
        case .reasoning(let t): (kind, text) = (.reasoning, t)
        case .toolCallArguments(let index, let t): (kind, text) = (.arguments(index), t)
        default: (kind, text) = (nil, "")
        }
        if let kind {
            if pendingKind != kind { flushPending() }
            pendingKind = kind
            pendingText += text
            return
        }
        flushPending()
        events.append(event)
    }

    private mutating func flushPending() {
        guard let kind = pendingKind else { return }
        let text = pendingText
        pendingText = ""
        pendingKind = nil
        guard !text.isEmpty else { return }
        switch kind {
        case .content: events.append(.content(text))
        case .reasoning: events.append(.reasoning(text))
        case .arguments(let index): events.append(.toolCallArguments(index: index, delta: text))
        }
    }

    private mutating func takeEvents() -> [ChatOutputEvent] {
        flushPending()
        defer { events = [] }
        return events
    }

    // MARK: - Helpers

    /// Where the text that must be held back starts: the longest end of `text` that begins a marker
    /// (without being one), and the whitespace before it.
    private static func holdStart(_ text: [Unicode.Scalar], markers: [[Unicode.Scalar]]) -> Int {
        let longest = markers.map(\.count).max() ?? 0
        var suffix = 0
        var length = min(text.count, longest - 1)
        while length > 0 {
            let tail = Array(text.suffix(length))
            if markers.contains(where: { $0.count > length && Array($0.prefix(length)) == tail }) {
                suffix = length
                break
            }
            length -= 1
        }
        var start = text.count - suffix
        while start > 0 && ToolCallJSONScanner.isSpace(text[start - 1]) { start -= 1 }
        return start
    }

    private static func trimmingTrailingSpace(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var end = text.count
        while end > 0 && ToolCallJSONScanner.isSpace(text[end - 1]) { end -= 1 }
        return Array(text[..<end])
    }

    private static func string(_ scalars: [Unicode.Scalar]) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }
}
