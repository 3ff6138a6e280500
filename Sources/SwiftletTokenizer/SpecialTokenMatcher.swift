/// Splits text around the special tokens written in it, exactly as llama.cpp's partition does: tokens
/// are taken longest first; each claims its non-overlapping occurrences, left to right, in the text that
/// earlier (longer) tokens left unclaimed. Control and unknown tokens match only when special-token
/// parsing is on; user-defined tokens always match.
///
/// All occurrences are found in one pass with a byte trie, so a vocabulary with thousands of special
/// tokens costs one scan of the text, not one scan per token.
struct SpecialTokenMatcher: Sendable {
    enum Fragment: Equatable {
        case text(Range<Int>)
        case token(Int)
    }

    struct Entry: Sendable {
        var id: Int
        var length: Int
        var alwaysMatches: Bool
        /// Position in llama.cpp's order (longest text first).
        var order: Int
    }

    /// Trie nodes: children keyed by byte, and the special token ending at the node, if any.
    private var children: [[UInt8: Int32]] = [[:]]
    private var terminal: [Int32] = [-1]
    private var entries: [Entry] = []

    init(tokens: [String], types: [TokenType]) {
        let specials = tokens.indices.filter { i in
            !tokens[i].isEmpty && (types[i] == .control || types[i] == .userDefined || types[i] == .unknown)
        }
        let ordered = specials.sorted { a, b in
            let la = tokens[a].utf8.count, lb = tokens[b].utf8.count
            return la != lb ? la > lb : a < b
        }
        for (order, id) in ordered.enumerated() {
            let bytes = Array(tokens[id].utf8)
            var node = 0
            for b in bytes {
                if let next = children[node][b] {
                    node = Int(next)
                } else {
                    children.append([:]); terminal.append(-1)
                    children[node][b] = Int32(children.count - 1)
                    node = children.count - 1
                }
            }
            guard terminal[node] < 0 else { continue }  // the same text twice: the first id wins
            terminal[node] = Int32(entries.count)
            entries.append(Entry(id: id, length: bytes.count, alwaysMatches: types[id] == .userDefined, order: order))
        }
    }

    func partition(_ bytes: [UInt8], parseSpecial: Bool) -> [Fragment] {
        guard !bytes.isEmpty else { return [] }
        guard entries.count > 0 else { return [.text(0..<bytes.count)] }
        // Every occurrence of every eligible token, grouped by token.
        var occurrences: [Int: [Int]] = [:]
        for start in 0..<bytes.count {
            var node = 0
            var i = start
            while i < bytes.count, let next = children[node][bytes[i]] {
                node = Int(next)
                i += 1
                let e = terminal[node]
                if e >= 0, parseSpecial || entries[Int(e)].alwaysMatches {
                    occurrences[Int(e), default: []].append(start)
                }
            }
        }
        guard !occurrences.isEmpty else { return [.text(0..<bytes.count)] }
        // Claim in llama.cpp's order; `claimed[p]` marks bytes already taken.
        var claimed = [Bool](repeating: false, count: bytes.count)
        var found: [(start: Int, entry: Int)] = []
        for e in occurrences.keys.sorted(by: { entries[$0].order < entries[$1].order }) {
            let length = entries[e].length
            var nextFree = 0
            for start in occurrences[e]! where start >= nextFree {
                guard !claimed[start..<(start + length)].contains(true) else { continue }
                for p in start..<(start + length) { claimed[p] = true }
                found.append((start, e))
                nextFree = start + length
            }
        }
        found.sort { $0.start < $1.start }
        var fragments: [Fragment] = []
        var cursor = 0
        for (start, e) in found {
            if start > cursor { fragments.append(.text(cursor..<start)) }
            fragments.append(.token(entries[e].id))
            cursor = start + entries[e].length
        }
        if cursor < bytes.count { fragments.append(.text(cursor..<bytes.count)) }
        return fragments
    }
}
