/// A piece of input after special tokens are cut out: raw text (a byte range) or one special token.
enum Fragment {
    case text(Range<Int>)
    case token(Int32)
}

/// Finds special tokens written in text, with llama.cpp's rule: longest tokens first, each token's
/// occurrences cut out left to right from whatever text remains. USER_DEFINED tokens always count;
/// CONTROL and UNKNOWN tokens only when special parsing is on.
struct SpecialTokens: Sendable {
    /// Candidate ids in matching order: longer text first, then lower id.
    private let ordered: [Int32]
    private let bytes: [[UInt8]]
    private let alwaysMatched: [Bool]
    /// A trie over the candidates' bytes, to find which of them occur at all in one pass over the text.
    private let trieNext: [[UInt8: Int32]]
    private let trieToken: [[Int32]]

    init(texts: [String], types: [TokenType]) {
        var ids: [Int32] = []
        var bytes: [[UInt8]] = []
        var always: [Bool] = []
        for (i, t) in texts.enumerated() where !t.isEmpty {
            let ty = types[i]
            guard ty == .control || ty == .userDefined || ty == .unknown else { continue }
            ids.append(Int32(i))
            bytes.append(Array(t.utf8))
            always.append(ty == .userDefined)
        }
        let order = ids.indices.sorted { a, b in
            bytes[a].count != bytes[b].count ? bytes[a].count > bytes[b].count : ids[a] < ids[b]
        }
        ordered = order.map { Int32($0) }
        self.bytes = bytes
        self.alwaysMatched = always
        self.tokenIDs = ids
        var next: [[UInt8: Int32]] = [[:]]
        var tok: [[Int32]] = [[]]
        for (k, b) in bytes.enumerated() {
            var node = 0
            for byte in b {
                if let n = next[node][byte] {
                    node = Int(n)
                } else {
                    next.append([:]); tok.append([])
                    next[node][byte] = Int32(next.count - 1)
                    node = next.count - 1
                }
            }
            tok[node].append(Int32(k))
        }
        trieNext = next
        trieToken = tok
    }

    private let tokenIDs: [Int32]

    var isEmpty: Bool { tokenIDs.isEmpty }

    /// Splits `text` into fragments.
    func partition(_ text: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Fragment] {
        let n = text.count
        if n == 0 { return [] }
        // Which candidates occur anywhere in the text.
        var present = Set<Int32>()
        if !tokenIDs.isEmpty {
            for start in 0..<n {
                var node = 0
                var p = start
                while p < n, let nx = trieNext[node][text[p]] {
                    node = Int(nx)
                    p += 1
                    for k in trieToken[node] where parseSpecial || alwaysMatched[Int(k)] { present.insert(k) }
                }
            }
        }
        var fragments: [Fragment] = [.text(0..<n)]
        if present.isEmpty { return fragments }
        for k in ordered where present.contains(k) {
            let needle = bytes[Int(k)]
            var out: [Fragment] = []
            out.reserveCapacity(fragments.count + 4)
            for f in fragments {
                guard case .text(let r) = f else { out.append(f); continue }
                var from = r.lowerBound
                var i = r.lowerBound
                let last = r.upperBound - needle.count
                while i <= last {
                    if text[i] == needle[0] && Self.matches(text, i, needle) {
                        if from < i { out.append(.text(from..<i)) }
                        out.append(.token(tokenIDs[Int(k)]))
                        i += needle.count
                        from = i
                    } else {
                        i += 1
                    }
                }
                if from < r.upperBound { out.append(.text(from..<r.upperBound)) }
            }
            fragments = out
        }
        return fragments
    }

    @inline(__always)
    private static func matches(_ t: UnsafeBufferPointer<UInt8>, _ at: Int, _ needle: [UInt8]) -> Bool {
        for j in 1..<needle.count where t[at + j] != needle[j] { return false }
        return true
    }
}
