/// llama.cpp's pushdown-stack machinery (src/llama-grammar.cpp) over a grammar's elements.
///
/// A stack is a list of positions in `Grammar.elements`, its top last; every stack the functions here
/// return is advanced: its top is a terminal (a character class or a token), or it is empty (the grammar
/// may end there). A set of stacks is kept without duplicates; its order does not matter.
struct GrammarStacks {
    typealias Stack = [Int32]

    let elements: [Grammar.Element]
    let ruleStarts: [Int32]

    init(_ grammar: Grammar) {
        self.elements = grammar.elements
        self.ruleStarts = grammar.ruleStarts
    }

    init(elements: [Grammar.Element], ruleStarts: [Int32]) {
        self.elements = elements
        self.ruleStarts = ruleStarts
    }

    private func isEndOfSequence(_ position: Int32) -> Bool {
        elements[Int(position)].isEndOfSequence
    }

    /// The stacks before any input: llama.cpp's loop over the start rule's alternatives in
    /// `llama_grammar_init_impl`.
    static func initialStacks(elements: [Grammar.Element], ruleStarts: [Int32], root: Int) -> [Stack] {
        let machine = GrammarStacks(elements: elements, ruleStarts: ruleStarts)
        var stacks: [Stack] = []
        var position = ruleStarts[root]
        while true {
            var stack: Stack = []
            if !machine.isEndOfSequence(position) { stack.append(position) }
            machine.advance(stack, into: &stacks)
            while !machine.isEndOfSequence(position) { position += 1 }
            if elements[Int(position)].kind == .alternative {
                position += 1
            } else {
                break
            }
        }
        return stacks
    }

    /// llama.cpp's `llama_grammar_advance_stack`: expands rule references at the top of `stack` until every
    /// resulting stack has a terminal on top or is empty, and adds those not already in `newStacks`.
    func advance(_ stack: Stack, into newStacks: inout [Stack]) {
        var todo: [Stack] = [stack]
        var seen = Set<Stack>()
        while let current = todo.popLast() {
            if !seen.insert(current).inserted { continue }
            guard let top = current.last else {
                if !newStacks.contains(current) { newStacks.append(current) }
                continue
            }
            let element = elements[Int(top)]
            switch element.kind {
            case .ruleReference:
                var sub = ruleStarts[Int(element.value)]
                while true {
                    var next = Stack(current.dropLast())
                    if !isEndOfSequence(top + 1) { next.append(top + 1) }
                    if !isEndOfSequence(sub) { next.append(sub) }
                    todo.append(next)
                    while !isEndOfSequence(sub) { sub += 1 }
                    if elements[Int(sub)].kind == .alternative {
                        sub += 1
                    } else {
                        break
                    }
                }
            case .character, .notCharacter, .anyCharacter, .token, .notToken:
                if !newStacks.contains(current) { newStacks.append(current) }
            case .end, .alternative, .characterAlternative, .characterRangeUpper:
                // A stack never rests on these: parsing only leaves positions at sequence starts, after
                // whole terminals, or after rule references.
                break
            }
        }
    }

    /// llama.cpp's `llama_grammar_match_char`: whether `chr` is in the class at `position`, and the position
    /// after the class.
    func matchChar(_ position: Int32, _ chr: UInt32) -> (Bool, Int32) {
        var pos = Int(position)
        let isPositive = elements[pos].kind == .character || elements[pos].kind == .anyCharacter
        var found = false
        repeat {
            if elements[pos + 1].kind == .characterRangeUpper {
                found = found || (elements[pos].value <= chr && chr <= elements[pos + 1].value)
                pos += 2
            } else if elements[pos].kind == .anyCharacter {
                found = true
                pos += 1
            } else {
                found = found || elements[pos].value == chr
                pos += 1
            }
        } while elements[pos].kind == .characterAlternative
        return (found == isPositive, Int32(pos))
    }

    /// llama.cpp's `llama_grammar_match_partial_char`: whether some completion of the partial sequence
    /// could be in the class at `position`.
    func matchPartialChar(_ position: Int32, _ partial: PartialUTF8) -> Bool {
        var pos = Int(position)
        let isPositive = elements[pos].kind == .character || elements[pos].kind == .anyCharacter
        let remaining = partial.remaining
        // An invalid sequence, or a 7-bit character split over 2 bytes (overlong).
        if remaining < 0 || (remaining == 1 && partial.value < 2) { return false }
        var low = partial.value << UInt32(remaining * 6)
        let high = low | ((1 << UInt32(remaining * 6)) - 1)
        if low == 0 {
            if remaining == 2 {
                low = 1 << 11
            } else if remaining == 3 {
                low = 1 << 16
            }
        }
        repeat {
            if elements[pos + 1].kind == .characterRangeUpper {
                if elements[pos].value <= high && low <= elements[pos + 1].value { return isPositive }
                pos += 2
            } else if elements[pos].kind == .anyCharacter {
                return true
            } else {
                if low <= elements[pos].value && elements[pos].value <= high { return isPositive }
                pos += 1
            }
        } while elements[pos].kind == .characterAlternative
        return !isPositive
    }

    /// llama.cpp's `llama_grammar_match_token`.
    func matchToken(_ position: Int32, _ token: Int) -> Bool {
        let element = elements[Int(position)]
        let same = Int(element.value) == token
        return element.kind == .token ? same : !same
    }

    /// llama.cpp's `llama_grammar_accept_chr`: the stacks that follow `stack` after the code point `chr`
    /// (none when its top is a token or the class does not match), added to `newStacks`.
    func acceptChar(_ stack: Stack, _ chr: UInt32, into newStacks: inout [Stack]) {
        guard let top = stack.last else { return }
        if elements[Int(top)].isToken { return }
        let (matched, after) = matchChar(top, chr)
        if matched {
            var next = Stack(stack.dropLast())
            if !isEndOfSequence(after) { next.append(after) }
            advance(next, into: &newStacks)
        }
    }

    /// llama.cpp's `llama_grammar_accept`: every stack after the code point `chr`.
    func accept(_ stacks: [Stack], _ chr: UInt32) -> [Stack] {
        var result: [Stack] = []
        result.reserveCapacity(stacks.count)
        for stack in stacks { acceptChar(stack, chr, into: &result) }
        return result
    }

    /// llama.cpp's `llama_grammar_accept_token` without its final emptiness check: token elements on top
    /// match the token id; other stacks take the piece's code points one by one.
    func accept(_ stacks: [Stack], token: Int, codePoints: [UInt32]) -> [Stack] {
        var result: [Stack] = []
        for stack in stacks {
            guard let top = stack.last else { continue }
            if elements[Int(top)].isToken {
                if matchToken(top, token) {
                    var next = Stack(stack.dropLast())
                    if !isEndOfSequence(top + 1) { next.append(top + 1) }
                    advance(next, into: &result)
                }
            } else {
                var current: [Stack] = [stack]
                for chr in codePoints {
                    var next: [Stack] = []
                    for candidate in current { acceptChar(candidate, chr, into: &next) }
                    current = next
                    if current.isEmpty { break }
                }
                for survivor in current where !result.contains(survivor) { result.append(survivor) }
            }
        }
        return result
    }

    /// Whether llama.cpp's `llama_grammar_reject_candidates` keeps a token: some stack takes its code points
    /// up to the first 0 (the C list's terminator), then its trailing partial sequence.
    ///
    /// A stack whose top is a token element decides by the token id as soon as it is reached, even in the
    /// middle of the token's code points, as llama.cpp's `llama_grammar_reject_candidates_for_stack` does.
    /// llama.cpp follows each stack depth-first; the verdict is whether some path gets through, so this
    /// follows the set of stacks code point by code point instead, merging equal stacks.
    func allows(_ stacks: [Stack], token: Int, codePoints: [UInt32], partial: PartialUTF8) -> Bool {
        let end = codePoints.firstIndex(of: 0) ?? codePoints.count
        var current = stacks
        var index = 0
        while true {
            var next: [Stack] = []
            for stack in current {
                guard let top = stack.last else {
                    if index == end && partial.remaining == 0 { return true }
                    continue
                }
                if elements[Int(top)].isToken {
                    if index == end ? partial.remaining == 0 : matchToken(top, token) { return true }
                    continue
                }
                if index == end {
                    if partial.remaining == 0 || matchPartialChar(top, partial) { return true }
                    continue
                }
                let (matched, after) = matchChar(top, codePoints[index])
                if !matched { continue }
                var advanced = Stack(stack.dropLast())
                if !isEndOfSequence(after) { advanced.append(after) }
                advance(advanced, into: &next)
            }
            if index == end || next.isEmpty { return false }
            current = next
            index += 1
        }
    }
}
