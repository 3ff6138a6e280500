import Synchronization

/// A memo of a grammar's stack sets and their transitions by code point, shared by the matchers of a
/// grammar, and the token mask computed with it over the vocabulary's trie.
///
/// The transition of a set of stacks by a code point is a pure function of the grammar (llama.cpp's
/// `llama_grammar_accept`), so sets are interned as small integers and their transitions cached: a mask
/// then costs a table lookup per trie edge, and a whole subtree whose bytes all lead a set back to itself
/// (the inside of a string, say) is allowed in one step.
final class GrammarAutomaton: Sendable {
    private let cache: Mutex<AutomatonCache>

    init(_ machine: GrammarStacks) {
        cache = Mutex(AutomatonCache(machine: machine))
    }

    /// Marks in `allowed` the tokens of the trie that llama.cpp's `llama_grammar_apply_impl` keeps for these
    /// stacks and partial sequence (end-of-generation tokens are not in the trie and are left alone).
    func markAllowed(
        _ allowed: inout [Bool], vocabulary: GrammarVocabulary, stacks: [[Int32]], partial: PartialUTF8,
        check: (Int) -> Bool
    ) {
        cache.withLock { cache in
            cache.markAllowed(&allowed, vocabulary: vocabulary, stacks: stacks, partial: partial, check: check)
        }
    }
}

/// The interned sets and transitions, and the trie walk.
struct AutomatonCache {
    let machine: GrammarStacks

    /// Interned stack sets (each sorted); id 0 is the dead set (no stack).
    private var sets: [[[Int32]]] = [[]]
    private var ids: [[[Int32]]: Int32] = [[]: 0]
    /// Per set: the positions of its character-class tops, its token-element tops.
    private var charTops: [[Int32]] = [[]]
    private var tokenTops: [[Grammar.Element]] = [[]]
    /// Transitions by ASCII code point, 128 per set (-1: not computed yet), and by other code points.
    private var ascii: [Int32] = [Int32](repeating: 0, count: 128)
    private var other: [UInt64: Int32] = [:]
    /// Per set: how often a mask met it at a code point boundary, and its self-loop bytes once computed.
    private var visits: [Int32] = [0]
    private var loopKnown: [Bool] = [true]
    private var loopLow: [UInt64] = [0]
    private var loopHigh: [UInt64] = [0]

    /// Sets beyond which the memo starts afresh (a bound on memory for deeply nested outputs).
    private static let maxSets = 20_000
    /// Boundary visits after which a set's self-loop bytes are worth computing (127 transitions).
    private static let loopThreshold: Int32 = 8

    init(machine: GrammarStacks) {
        self.machine = machine
    }

    private mutating func reset() {
        self = AutomatonCache(machine: machine)
    }

    mutating func intern(_ stacks: [[Int32]]) -> Int32 {
        let canonical = stacks.sorted { $0.lexicographicallyPrecedes($1) }
        if let id = ids[canonical] { return id }
        let id = Int32(sets.count)
        sets.append(canonical)
        ids[canonical] = id
        var chars: [Int32] = []
        var tokens: [Grammar.Element] = []
        for stack in canonical {
            guard let top = stack.last else { continue }
            let element = machine.elements[Int(top)]
            if element.isToken {
                if !tokens.contains(element) { tokens.append(element) }
            } else {
                chars.append(top)
            }
        }
        charTops.append(chars)
        tokenTops.append(tokens)
        ascii.append(contentsOf: repeatElement(-1, count: 128))
        visits.append(0)
        loopKnown.append(false)
        loopLow.append(0)
        loopHigh.append(0)
        return id
    }

    /// The set after code point `chr` (not 0) from set `state`.
    mutating func transition(_ state: Int32, _ chr: UInt32) -> Int32 {
        if chr < 128 {
            let slot = Int(state) &* 128 &+ Int(chr)
            let known = ascii[slot]
            if known >= 0 { return known }
            let next = intern(machine.accept(sets[Int(state)], chr))
            ascii[slot] = next
            return next
        }
        let key = UInt64(UInt32(bitPattern: state)) << 32 | UInt64(chr)
        if let known = other[key] { return known }
        let next = intern(machine.accept(sets[Int(state)], chr))
        other[key] = next
        return next
    }

    /// Whether some character-class top of `state` admits a completion of `partial`.
    private func partialMatches(_ state: Int32, _ partial: PartialUTF8) -> Bool {
        charTops[Int(state)].contains { machine.matchPartialChar($0, partial) }
    }

    /// Whether a token whose code points (up to the first 0) led to `state` and that ends on `partial` is
    /// kept: llama.cpp's end-of-code-points branch of `llama_grammar_reject_candidates_for_stack`.
    private func endVerdict(_ state: Int32, _ partial: PartialUTF8) -> Bool {
        if state == 0 { return false }
        return partial.remaining == 0 || (partial.remaining > 0 && partialMatches(state, partial))
    }

    /// The ASCII bytes that lead `state` back to itself, once it has been met often enough.
    private mutating func selfLoop(_ state: Int32) -> (UInt64, UInt64)? {
        let s = Int(state)
        if loopKnown[s] { return (loopLow[s], loopHigh[s]) }
        visits[s] += 1
        if visits[s] < Self.loopThreshold { return nil }
        var low: UInt64 = 0
        var high: UInt64 = 0
        for b in 1..<128 where transition(state, UInt32(b)) == state {
            if b < 64 { low |= 1 << UInt64(b) } else { high |= 1 << UInt64(b - 64) }
        }
        loopKnown[s] = true
        loopLow[s] = low
        loopHigh[s] = high
        return (low, high)
    }

    /// The trie walk. `check` is the single-token verdict, used for token elements (`<[id]>`), which
    /// llama.cpp judges by id.
    mutating func markAllowed(
        _ allowed: inout [Bool], vocabulary v: GrammarVocabulary, stacks: [[Int32]], partial: PartialUTF8,
        check: (Int) -> Bool
    ) {
        if sets.count > Self.maxSets { reset() }
        let start = intern(stacks)
        if start == 0 { return }

        func markRange(_ from: Int32, _ to: Int32, _ allowed: inout [Bool]) {
            var i = Int(from)
            let end = Int(to)
            while i < end {
                allowed[Int(v.order[i])] = true
                i += 1
            }
        }

        // Token ids named by `<[id]>` tops met on the way; each is then decided by `check`.
        var namedTokens: [Int] = []

        // A decoder state mirrors llama.cpp's `decode_utf8`: `continuing` while finishing the sequence cut
        // at the end of the previous token (whose bytes are checked), `remaining` bytes still expected.
        struct Frame {
            var node: Int32
            var state: Int32
            var value: UInt32
            var remaining: Int32
            var continuing: Bool
            /// The id excluded by a `!<[id]>` element already applied above this node (-1: none).
            var coveredNot: Int64
        }
        var frames: [Frame] = []
        frames.reserveCapacity(256)
        if partial.remaining > 0 {
            frames.append(Frame(node: 0, state: start, value: partial.value, remaining: Int32(partial.remaining),
                                continuing: true, coveredNot: -1))
        } else {
            frames.append(Frame(node: 0, state: start, value: 0, remaining: 0, continuing: false, coveredNot: -1))
        }

        while var frame = frames.popLast() {
            let node = Int(frame.node)
            let state = frame.state
            let atBoundary = frame.remaining == 0
            // Where the next code point of the list starts (the root, even inside a sequence cut by the
            // previous token), token elements on top decide by id: `<[id]>` is decided at the end;
            // `!<[id]>` keeps every token below whose next code point is whole and not 0.
            if atBoundary || node == 0 {
                for element in tokenTops[Int(state)] {
                    namedTokens.append(Int(element.value))
                    if element.kind == .token { continue }
                    let excluded = Int64(element.value)
                    if frame.coveredNot == excluded || frame.coveredNot == Int64.max { continue }
                    markNotToken(node: node, excluded: Int(excluded), start: node == 0 ? partial : .none,
                                 vocabulary: v, &allowed)
                    frame.coveredNot = frame.coveredNot == -1 ? excluded : Int64.max
                }
            }
            var endAllowed: Bool
            if atBoundary {
                endAllowed = true
                // A subtree of ASCII bytes that all lead back to this set: every token in it is kept.
                if !v.hasOtherBytes[node], let (low, high) = selfLoop(state),
                   v.asciiLow[node] & ~low == 0, v.asciiHigh[node] & ~high == 0 {
                    markRange(v.tokenStart[node], v.subtreeEnd[node], &allowed)
                    continue
                }
                markRange(v.tokenStart[node], v.ownEnd[node], &allowed)
            } else {
                endAllowed = partialMatches(state, PartialUTF8(value: frame.value, remaining: Int(frame.remaining)))
                if endAllowed { markRange(v.tokenStart[node], v.ownEnd[node], &allowed) }
            }

            var edge = Int(v.edgeStart[node])
            let edgeEnd = Int(v.edgeStart[node + 1])
            while edge < edgeEnd {
                let byte = v.edgeByte[edge]
                let child = v.edgeChild[edge]
                edge += 1
                if byte == 0 {
                    // llama.cpp's decoder stops at a NUL byte: the token ends here.
                    if endAllowed { markRange(v.tokenStart[Int(child)], v.subtreeEnd[Int(child)], &allowed) }
                    continue
                }
                var next = frame
                next.node = child
                var completed = false
                if next.remaining > 0 && next.continuing {
                    if byte >> 6 != 2 { continue }  // invalid: the whole token is rejected
                    next.value = (next.value << 6) &+ UInt32(byte & 0x3F)
                    next.remaining -= 1
                    if next.remaining == 0 {
                        next.continuing = false
                        completed = true
                    }
                } else if next.remaining > 0 {
                    next.value = (next.value << 6) &+ UInt32(byte & 0x3F)
                    next.remaining -= 1
                    completed = next.remaining == 0
                } else {
                    let length = Int32(PartialUTF8.sequenceLength[Int(byte >> 4)])
                    if length == 0 { continue }  // invalid: the whole token is rejected
                    next.remaining = length - 1
                    next.value = UInt32(byte) & ((1 << (8 - UInt32(length))) - 1)
                    completed = next.remaining == 0
                }
                if completed {
                    if next.value == 0 {
                        // An overlong NUL ends llama.cpp's code point list: each token below is judged on
                        // this set and on the partial sequence its remaining bytes leave.
                        markAfterNullCodePoint(node: Int(child), state: state, vocabulary: v, &allowed)
                        continue
                    }
                    next.state = transition(state, next.value)
                    if next.state == 0 { continue }
                }
                frames.append(next)
            }
        }

        for token in namedTokens where token >= 0 && token < allowed.count && !allowed[token] {
            if !v.isEndOfGeneration(token) && check(token) { allowed[token] = true }
        }
    }

    /// `!<[excluded]>` on top where a code point starts: keeps every token below `node` whose remaining bytes,
    /// decoded after `start`, are valid for llama.cpp's decoder and give a first code point other than 0.
    private func markNotToken(
        node: Int, excluded: Int, start: PartialUTF8, vocabulary v: GrammarVocabulary, _ allowed: inout [Bool]
    ) {
        if node == 0 && start.remaining <= 0 {
            for token in v.wholeFirstCodePoint where Int(token) != excluded { allowed[Int(token)] = true }
            return
        }
        let depth = Int(v.depth[node])
        for i in Int(v.ownEnd[node])..<Int(v.subtreeEnd[node]) {
            let token = Int(v.order[i])
            if token == excluded || allowed[token] { continue }
            let (codePoints, partial) = PartialUTF8.decode(v.pieces[token][depth...], after: start)
            if partial.remaining >= 0, let first = codePoints.first, first != 0 { allowed[token] = true }
        }
    }

    /// The tokens below `node`, reached by an overlong NUL code point from `state`.
    private func markAfterNullCodePoint(
        node: Int, state: Int32, vocabulary v: GrammarVocabulary, _ allowed: inout [Bool]
    ) {
        let depth = Int(v.depth[node])
        for i in Int(v.tokenStart[node])..<Int(v.subtreeEnd[node]) {
            let token = Int(v.order[i])
            if allowed[token] { continue }
            let (_, partial) = PartialUTF8.decode(v.pieces[token][depth...], after: .none)
            if endVerdict(state, partial) { allowed[token] = true }
        }
    }
}
