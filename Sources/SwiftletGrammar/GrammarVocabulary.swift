/// A model's tokens as the grammar matcher sees them: each token's bytes and which tokens end generation,
/// with a byte trie over the pieces so that a mask walks shared prefixes once. Build it once per model.
public final class GrammarVocabulary: Sendable {
    /// `pieces[id]`: the bytes of token `id`, as llama.cpp's `token_to_piece(id, special: true)` gives them.
    public let pieces: [[UInt8]]
    /// End-of-generation flags by token id (llama.cpp's `is_eog`).
    let isEndOfGeneration: [Bool]
    /// The end-of-generation tokens, in increasing order.
    public let endOfGeneration: [Int]

    /// The trie, nodes in depth-first order (node 0 is the root). A node's children are the edges
    /// `edgeStart[node]..<edgeStart[node + 1]`. Only tokens that can ever be allowed by characters are in
    /// it: not end-of-generation tokens, empty pieces or pieces that start with a NUL byte.
    let edgeStart: [Int32]
    let edgeByte: [UInt8]
    let edgeChild: [Int32]
    /// Each node's tokens are `order[tokenStart[node]..<ownEnd[node]]` (its piece ends there) and its whole
    /// subtree's are `order[tokenStart[node]..<subtreeEnd[node]]`: the tokens sorted by piece bytes.
    let tokenStart: [Int32]
    let ownEnd: [Int32]
    let subtreeEnd: [Int32]
    /// Each node's depth (its pieces' common prefix length).
    let depth: [Int32]
    /// The bytes 1...127 on edges below each node (bit b of `asciiLow` for b < 64, of `asciiHigh` for
    /// b - 64), and whether any other byte (0 or 0x80 and up) is below it.
    let asciiLow: [UInt64]
    let asciiHigh: [UInt64]
    let hasOtherBytes: [Bool]
    /// Token ids in piece order.
    let order: [Int32]
    /// Tokens (in the trie) whose piece, decoded from a code point boundary, is valid for llama.cpp's decoder
    /// and starts with a whole code point other than 0: those a `!<[id]>` element at the start of a
    /// token judges by id.
    let wholeFirstCodePoint: [Int32]

    /// The number of tokens.
    public var count: Int { pieces.count }

    /// Builds the vocabulary and its trie.
    ///
    /// - Parameters:
    ///   - pieces: The bytes of every token, indexed by token id (llama.cpp's `token_to_piece` with
    ///     `special: true`, so that control tokens read as their text).
    ///   - endOfGeneration: The ids of the end-of-generation tokens; ids outside `pieces` are ignored.
    public init(pieces: [[UInt8]], endOfGeneration: Set<Int>) {
        self.pieces = pieces
        var eog = [Bool](repeating: false, count: pieces.count)
        for id in endOfGeneration where id >= 0 && id < pieces.count { eog[id] = true }
        self.isEndOfGeneration = eog
        self.endOfGeneration = endOfGeneration.filter { $0 >= 0 && $0 < pieces.count }.sorted()

        var sorted: [Int32] = []
        sorted.reserveCapacity(pieces.count)
        for id in pieces.indices where !eog[id] && !pieces[id].isEmpty && pieces[id][0] != 0 {
            sorted.append(Int32(id))
        }
        sorted.sort { a, b in
            let pa = pieces[Int(a)]
            let pb = pieces[Int(b)]
            if pa == pb { return a < b }
            return pa.lexicographicallyPrecedes(pb)
        }
        var builder = TrieBuilder(pieces: pieces, order: sorted)
        builder.build()
        self.order = sorted
        self.edgeStart = builder.edgeStart
        self.edgeByte = builder.edgeByte
        self.edgeChild = builder.edgeChild
        self.tokenStart = builder.tokenStart
        self.ownEnd = builder.ownEnd
        self.subtreeEnd = builder.subtreeEnd
        self.depth = builder.depth
        self.asciiLow = builder.asciiLow
        self.asciiHigh = builder.asciiHigh
        self.hasOtherBytes = builder.hasOtherBytes

        var whole: [Int32] = []
        for id in sorted {
            let (codePoints, partial) = PartialUTF8.decode(pieces[Int(id)], after: .none)
            if partial.remaining >= 0, let first = codePoints.first, first != 0 { whole.append(id) }
        }
        self.wholeFirstCodePoint = whole
    }

    /// The bytes of a token, or nil for an id outside the vocabulary.
    public func piece(_ token: Int) -> [UInt8]? {
        token >= 0 && token < pieces.count ? pieces[token] : nil
    }

    /// Whether a token ends generation.
    public func isEndOfGeneration(_ token: Int) -> Bool {
        token >= 0 && token < isEndOfGeneration.count && isEndOfGeneration[token]
    }
}

/// Lays the trie out from the tokens sorted by piece: a node's subtree is a contiguous run of that order.
private struct TrieBuilder {
    let pieces: [[UInt8]]
    let order: [Int32]
    var edgeStart: [Int32] = []
    var edgeByte: [UInt8] = []
    var edgeChild: [Int32] = []
    var tokenStart: [Int32] = []
    var ownEnd: [Int32] = []
    var subtreeEnd: [Int32] = []
    var depth: [Int32] = []
    var asciiLow: [UInt64] = []
    var asciiHigh: [UInt64] = []
    var hasOtherBytes: [Bool] = []
    /// Each node's edges, gathered before they are laid out in `edgeByte`/`edgeChild`.
    var children: [[(UInt8, Int32)]] = []

    init(pieces: [[UInt8]], order: [Int32]) {
        self.pieces = pieces
        self.order = order
    }

    private mutating func newNode(start: Int, depth nodeDepth: Int) -> Int {
        tokenStart.append(Int32(start))
        ownEnd.append(Int32(start))
        subtreeEnd.append(Int32(start))
        depth.append(Int32(nodeDepth))
        asciiLow.append(0)
        asciiHigh.append(0)
        hasOtherBytes.append(false)
        children.append([])
        return tokenStart.count - 1
    }

    mutating func build() {
        // An explicit stack instead of recursion: pieces can be long.
        struct Frame {
            var node: Int
            var low: Int
            var high: Int
            var cursor: Int
        }
        let root = newNode(start: 0, depth: 0)
        var frames: [Frame] = [Frame(node: root, low: 0, high: order.count, cursor: 0)]
        var started = false
        while var frame = frames.popLast() {
            let d = Int(depth[frame.node])
            if !started || frame.cursor == -1 {
                // First visit of this node: its own tokens are the leading pieces of length d.
                started = true
                var own = frame.low
                while own < frame.high && pieces[Int(order[own])].count == d { own += 1 }
                ownEnd[frame.node] = Int32(own)
                frame.cursor = own
            }
            if frame.cursor < frame.high {
                let byte = pieces[Int(order[frame.cursor])][d]
                var end = frame.cursor
                while end < frame.high && pieces[Int(order[end])][d] == byte { end += 1 }
                let child = newNode(start: frame.cursor, depth: d + 1)
                children[frame.node].append((byte, Int32(child)))
                let next = end
                frame.cursor = next
                frames.append(frame)
                frames.append(Frame(node: child, low: Int(tokenStart[child]), high: end, cursor: -1))
                continue
            }
            // All children done: close the subtree and fold the children's byte sets in.
            subtreeEnd[frame.node] = Int32(frame.high)
            var low: UInt64 = 0
            var high: UInt64 = 0
            var other = false
            for (byte, child) in children[frame.node] {
                if byte == 0 || byte >= 0x80 {
                    other = true
                } else if byte < 64 {
                    low |= 1 << UInt64(byte)
                } else {
                    high |= 1 << UInt64(byte - 64)
                }
                low |= asciiLow[Int(child)]
                high |= asciiHigh[Int(child)]
                other = other || hasOtherBytes[Int(child)]
            }
            asciiLow[frame.node] = low
            asciiHigh[frame.node] = high
            hasOtherBytes[frame.node] = other
        }
        edgeStart.reserveCapacity(tokenStart.count + 1)
        for node in 0..<tokenStart.count {
            edgeStart.append(Int32(edgeByte.count))
            for (byte, child) in children[node] {
                edgeByte.append(byte)
                edgeChild.append(child)
            }
        }
        edgeStart.append(Int32(edgeByte.count))
        children = []
    }
}
