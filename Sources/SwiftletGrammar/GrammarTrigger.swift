/// What starts a lazy grammar (llama.cpp's `common_grammar_trigger`): until one of these appears in the
/// output, every token is allowed; from then on the grammar constrains the output.
public enum GrammarTrigger: Sendable, Hashable {
    /// The grammar starts at this text, wherever it appears in the output (llama.cpp's
    /// `COMMON_GRAMMAR_TRIGGER_TYPE_WORD`, an escaped regular expression searched in the output).
    case word(String)
    /// The grammar starts with this token (llama.cpp's `COMMON_GRAMMAR_TRIGGER_TYPE_TOKEN`).
    case token(Int)
    /// A regular expression searched in the output; the grammar starts at its first non-empty capture group,
    /// or at the match (llama.cpp's `COMMON_GRAMMAR_TRIGGER_TYPE_PATTERN`). A pattern that starts with `^`
    /// and ends with `$` must match the whole output.
    case pattern(String)
    /// A regular expression that must match the whole output (llama.cpp's
    /// `COMMON_GRAMMAR_TRIGGER_TYPE_PATTERN_FULL`, anchored with `^` and `$`).
    case patternFull(String)
}

/// A word or pattern trigger, compiled: llama.cpp's `llama_grammar_trigger_pattern`.
///
/// Words are searched as bytes, as llama.cpp's escaped `std::regex` finds them. Patterns run on Swift's
/// `Regex` over the output decoded as Unicode scalars, where llama.cpp runs `std::regex` (ECMAScript) over
/// bytes: the common syntax (classes, `[\s\S]`, groups, lazy quantifiers, alternation) reads the same, but
/// `.` and counted repetitions count scalars rather than bytes, and dialect-specific syntax may differ.
struct TriggerMatcher: @unchecked Sendable {
    // `Regex` is immutable once built; it is not declared Sendable on every platform.
    private enum Kind {
        case word([UInt8])
        case regex(Regex<AnyRegexOutput>, whole: Bool)
    }

    private let kind: Kind

    init(word: String) {
        kind = .word(Array(word.utf8))
    }

    init(pattern: String) throws(GrammarError) {
        do {
            let regex = try Regex(pattern).matchingSemantics(.unicodeScalar)
            kind = .regex(regex, whole: pattern.hasPrefix("^") && pattern.hasSuffix("$") && !pattern.isEmpty)
        } catch {
            throw GrammarError("invalid trigger pattern '\(pattern)': \(error)")
        }
    }

    /// The pattern llama.cpp's `common_sampler_init` makes of a full-match pattern.
    static func anchored(_ pattern: String) -> String {
        if pattern.isEmpty { return "^$" }
        return (pattern.hasPrefix("^") ? "" : "^") + pattern + (pattern.hasSuffix("$") ? "" : "$")
    }

    /// Where the grammar starts in `buffer` (a byte offset), or nil: llama.cpp's
    /// `llama_grammar_trigger_pattern::find`.
    func find(in buffer: [UInt8]) -> Int? {
        switch kind {
        case .word(let word):
            return Self.firstOccurrence(of: word, in: buffer)
        case .regex(let regex, let whole):
            let (text, offsets) = Self.scalars(buffer)
            if whole, let match = try? regex.wholeMatch(in: text) {
                return Self.start(of: match, in: text, offsets: offsets)
            }
            if let match = try? regex.firstMatch(in: text) {
                return Self.start(of: match, in: text, offsets: offsets)
            }
            return nil
        }
    }

    private static func firstOccurrence(of word: [UInt8], in buffer: [UInt8]) -> Int? {
        if word.isEmpty { return 0 }
        if word.count > buffer.count { return nil }
        var i = 0
        while i + word.count <= buffer.count {
            if buffer[i] == word[0] && buffer[i..<(i + word.count)].elementsEqual(word) { return i }
            i += 1
        }
        return nil
    }

    /// The first non-empty capture group's start, else the match's start (llama.cpp's `find_start_pos`).
    private static func start(of match: Regex<AnyRegexOutput>.Match, in text: String, offsets: [Int]) -> Int {
        var position = match.range.lowerBound
        for index in 1..<max(1, match.output.count) {
            if let range = match.output[index].range, !range.isEmpty {
                position = range.lowerBound
                break
            }
        }
        let scalarIndex = text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: position)
        return offsets[scalarIndex]
    }

    /// The buffer as Unicode scalars (each invalid byte read as U+FFFD) and each scalar's byte offset, with
    /// the buffer's length at the end.
    private static func scalars(_ buffer: [UInt8]) -> (String, [Int]) {
        var scalars = String.UnicodeScalarView()
        var offsets: [Int] = []
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = buffer.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                offsets.append(offset)
                scalars.append(Unicode.UTF8.decode(encoded))
                offset += encoded.count
            case .error(let length):
                for _ in 0..<length {
                    offsets.append(offset)
                    scalars.append("\u{FFFD}")
                    offset += 1
                }
            case .emptyInput:
                offsets.append(offset)
                return (String(scalars), offsets)
            }
        }
    }
}
