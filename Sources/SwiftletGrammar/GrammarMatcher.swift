/// The state of a grammar over generated tokens: which tokens may come next, and the grammar after each
/// token. It mirrors llama.cpp's `llama_grammar` (src/llama-grammar.cpp): its pushdown stacks, its partial
/// UTF-8 sequence carried across tokens, `llama_grammar_apply_impl` for the allowed tokens and
/// `llama_grammar_accept_impl` for accepting one, lazy triggers included.
///
/// A value: copies evolve independently. Matchers of one ``Grammar`` value share an internal, thread-safe memo
/// of its transitions, so a grammar reused across requests keeps its masks fast from the first token.
///
/// ```swift
/// var matcher = try GrammarMatcher(grammar: grammar, vocabulary: vocabulary)
/// var token = argmax(logits)
/// if !matcher.allows(token) {          // check first, as common_sampler_sample does
///     matcher.mask(&logits)
///     token = argmax(logits)
/// }
/// try matcher.accept(token)
/// ```
public struct GrammarMatcher: Sendable {
    /// The grammar.
    public let grammar: Grammar
    /// The tokens.
    public let vocabulary: GrammarVocabulary

    private let machine: GrammarStacks
    private let automaton: GrammarAutomaton
    private var stacks: [[Int32]]
    private var partial: PartialUTF8 = .none

    // Lazy grammars (llama.cpp's `lazy`, `awaiting_trigger`, `trigger_buffer`, `trigger_buffer_positions`,
    // `trigger_tokens`, `trigger_patterns`).
    private struct BufferedToken: Sendable {
        var token: Int
        var start: Int
        var end: Int
    }
    private let triggerTokens: Set<Int>
    private let triggerMatchers: [TriggerMatcher]
    private var triggerBuffer: [UInt8] = []
    private var triggerPositions: [BufferedToken] = []
    /// Whether a lazy grammar still waits for its trigger (every token is allowed meanwhile).
    public private(set) var isAwaitingTrigger: Bool

    /// A matcher at the start of the grammar.
    ///
    /// - Throws: ``GrammarError`` when the grammar can match nothing at all (llama.cpp aborts there).
    public init(grammar: Grammar, vocabulary: GrammarVocabulary) throws(GrammarError) {
        try self.init(grammar: grammar, vocabulary: vocabulary, triggerTokens: [], matchers: [], lazy: false)
    }

    /// A lazy matcher (llama.cpp's `llama_sampler_init_grammar_lazy_patterns`): every token is allowed until
    /// a trigger appears; then the grammar takes the output from the trigger on (a trigger token is the
    /// grammar's first token; for a word or pattern, the buffered output from where it starts is replayed
    /// into the grammar token by token, the first token cut at that point), and constrains what follows.
    ///
    /// Triggers are tried as llama.cpp tries them: a token trigger when that token is accepted; otherwise
    /// the words and patterns in the given order against all the output so far, the first that matches
    /// winning.
    ///
    /// - Throws: ``GrammarError`` for no trigger, an invalid pattern, or a grammar that matches nothing.
    public init(grammar: Grammar, vocabulary: GrammarVocabulary, triggers: [GrammarTrigger]) throws(GrammarError) {
        if triggers.isEmpty { throw GrammarError("a lazy grammar needs at least one trigger") }
        var tokens = Set<Int>()
        var matchers: [TriggerMatcher] = []
        for trigger in triggers {
            switch trigger {
            case .word(let word): matchers.append(TriggerMatcher(word: word))
            case .token(let token): tokens.insert(token)
            case .pattern(let pattern): matchers.append(try TriggerMatcher(pattern: pattern))
            case .patternFull(let pattern):
                matchers.append(try TriggerMatcher(pattern: TriggerMatcher.anchored(pattern)))
            }
        }
        try self.init(grammar: grammar, vocabulary: vocabulary, triggerTokens: tokens, matchers: matchers, lazy: true)
    }

    private init(
        grammar: Grammar, vocabulary: GrammarVocabulary, triggerTokens: Set<Int>, matchers: [TriggerMatcher],
        lazy: Bool
    ) throws(GrammarError) {
        if grammar.initialStacks.isEmpty {
            throw GrammarError("the grammar matches nothing: its start rule never reaches a character or an end")
        }
        self.grammar = grammar
        self.vocabulary = vocabulary
        self.machine = GrammarStacks(grammar)
        self.automaton = grammar.automaton
        self.stacks = grammar.initialStacks
        self.triggerTokens = triggerTokens
        self.triggerMatchers = matchers
        self.isAwaitingTrigger = lazy
    }

    // MARK: - State

    /// Whether the grammar may end here: an end-of-generation token is allowed (some stack is empty, or a
    /// lazy grammar still waits for its trigger).
    public var canEnd: Bool {
        isAwaitingTrigger || stacks.contains { $0.isEmpty }
    }

    /// Whether the grammar is complete and nothing can follow: only end-of-generation tokens are allowed
    /// (besides pieces that llama.cpp's decoder reads as no character at all, such as the overlong
    /// `0xC0 0x80`), so a caller may stop without sampling.
    public var isExhausted: Bool {
        !isAwaitingTrigger && !stacks.isEmpty && stacks.allSatisfy { $0.isEmpty }
    }

    // MARK: - Allowed tokens

    /// Whether `token` may come next, as llama.cpp's `llama_grammar_apply_impl` decides for that token alone:
    /// an end-of-generation token only where the grammar can end; never an empty piece or one starting with
    /// a NUL byte; otherwise its code points (after the partial sequence the previous tokens left) must take
    /// some stack through, and a trailing partial sequence must be able to complete on it.
    public func allows(_ token: Int) -> Bool {
        if isAwaitingTrigger { return true }
        guard let piece = vocabulary.piece(token) else { return false }
        if vocabulary.isEndOfGeneration(token) { return canEnd }
        if piece.isEmpty || piece[0] == 0 { return false }
        let (codePoints, after) = PartialUTF8.decode(piece, after: partial)
        return machine.allows(stacks, token: token, codePoints: codePoints, partial: after)
    }

    /// Every token's verdict, indexed by token id: the same as ``allows(_:)`` for each, computed by walking
    /// the vocabulary's trie once.
    public func allowedTokens() -> [Bool] {
        if isAwaitingTrigger { return [Bool](repeating: true, count: vocabulary.count) }
        var allowed = [Bool](repeating: false, count: vocabulary.count)
        let machine = self.machine
        let stacks = self.stacks
        let partial = self.partial
        let vocabulary = self.vocabulary
        automaton.markAllowed(&allowed, vocabulary: vocabulary, stacks: stacks, partial: partial) { token in
            guard let piece = vocabulary.piece(token), !piece.isEmpty, piece[0] != 0 else { return false }
            let (codePoints, after) = PartialUTF8.decode(piece, after: partial)
            return machine.allows(stacks, token: token, codePoints: codePoints, partial: after)
        }
        let end = canEnd
        for token in vocabulary.endOfGeneration { allowed[token] = end }
        return allowed
    }

    /// Sets the logit of every token the grammar does not allow to -infinity (llama.cpp's grammar sampler
    /// `apply`); logits past the vocabulary are not tokens and get -infinity too. Does nothing while a lazy
    /// grammar waits for its trigger.
    public func mask(_ logits: inout [Float]) {
        if isAwaitingTrigger { return }
        let allowed = allowedTokens()
        for index in logits.indices where index >= allowed.count || !allowed[index] {
            logits[index] = -.infinity
        }
    }

    // MARK: - Accepting

    /// Advances the grammar past a token (llama.cpp's `llama_grammar_accept_impl`).
    ///
    /// While a lazy grammar waits for its trigger, the token is only recorded (and may trigger it).
    /// Otherwise an end-of-generation token leaves the state as it is where the grammar can end.
    /// - Throws: ``GrammarError`` when the token is not allowed (see ``allows(_:)``) or not in the
    ///   vocabulary, or when the grammar has no way on after it; the matcher is then unchanged.
    public mutating func accept(_ token: Int) throws(GrammarError) {
        guard let piece = vocabulary.piece(token) else {
            throw GrammarError("token \(token) is not in the vocabulary")
        }
        if isAwaitingTrigger {
            var next = self
            try next.acceptAwaitingTrigger(token, piece: piece)
            self = next
            return
        }
        if vocabulary.isEndOfGeneration(token) {
            if canEnd { return }
            throw GrammarError("the grammar cannot end here (end-of-generation token \(token))")
        }
        if !allows(token) {
            throw GrammarError("token \(token) is not allowed by the grammar here")
        }
        try acceptToken(token, piece: piece[...])
    }

    /// Advances the grammar past bytes of text, whatever tokens they came in (llama.cpp's
    /// `llama_grammar_accept_str`): their code points, after the partial sequence already held; a trailing
    /// incomplete sequence is held for what follows. Token elements of the grammar match no text. This
    /// feeds the grammar itself, whether or not a lazy grammar has been triggered.
    /// - Throws: ``GrammarError`` when the grammar has no way on; the matcher is then unchanged.
    public mutating func accept<Bytes: Collection>(bytes: Bytes) throws(GrammarError) where Bytes.Element == UInt8 {
        let (codePoints, after) = PartialUTF8.decode(bytes, after: partial)
        var next = stacks
        for chr in codePoints {
            next = machine.accept(next, chr)
        }
        if next.isEmpty {
            throw GrammarError("the grammar does not accept '\(String(decoding: bytes, as: UTF8.self))' here")
        }
        stacks = next
        partial = after
    }

    /// Advances the grammar past text (its UTF-8 bytes; see ``accept(bytes:)``).
    public mutating func accept(text: String) throws(GrammarError) {
        try accept(bytes: Array(text.utf8))
    }

    /// llama.cpp's `llama_grammar_accept_token`.
    private mutating func acceptToken(_ token: Int, piece: ArraySlice<UInt8>) throws(GrammarError) {
        let (codePoints, after) = PartialUTF8.decode(piece, after: partial)
        let next = machine.accept(stacks, token: token, codePoints: codePoints)
        if next.isEmpty {
            throw GrammarError("the grammar has no way on after token \(token)")
        }
        stacks = next
        partial = after
    }

    /// The awaiting branch of llama.cpp's `llama_grammar_accept_impl`.
    private mutating func acceptAwaitingTrigger(_ token: Int, piece: [UInt8]) throws(GrammarError) {
        if triggerTokens.contains(token) {
            isAwaitingTrigger = false
            triggerBuffer.removeAll()
            triggerPositions.removeAll()
            try acceptToken(token, piece: piece[...])
            return
        }
        triggerPositions.append(
            BufferedToken(token: token, start: triggerBuffer.count, end: triggerBuffer.count + piece.count))
        triggerBuffer.append(contentsOf: piece)
        for matcher in triggerMatchers {
            guard let start = matcher.find(in: triggerBuffer) else { continue }
            isAwaitingTrigger = false
            // Replay the tokens that overlap the output from `start` on, the first one cut at `start`.
            for buffered in triggerPositions where buffered.end > start {
                let pieceStart = max(buffered.start, start)
                try acceptToken(buffered.token, piece: triggerBuffer[pieceStart..<buffered.end])
            }
            triggerBuffer.removeAll()
            triggerPositions.removeAll()
            return
        }
    }
}
