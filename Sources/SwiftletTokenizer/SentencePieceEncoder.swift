/// SentencePiece's BPE-by-score, as llama.cpp's SPM session does it: start from the text's UTF-8
/// characters, repeatedly merge the adjacent pair whose concatenation is the vocabulary token with the
/// highest score (leftmost on a tie), then emit each piece; characters that are not tokens become byte
/// tokens `<0xNN>`.
struct SentencePieceEncoder: Sendable {
    let pieces: [[UInt8]: Int32]
    let scores: [Float]
    /// The `<0xNN>` token of each byte, when the vocabulary has one.
    let byteTokens: [Int32?]
    let unknownID: Int?

    private struct Candidate: Comparable {
        var score: Float
        var left: Int32
        var right: Int32
        var size: Int32
        // Highest score first, then leftmost: a min-heap on the negated order.
        static func < (a: Candidate, b: Candidate) -> Bool { a.score != b.score ? a.score > b.score : a.left < b.left }
    }

    /// UTF-8 sequence length from the first byte, as llama.cpp computes it (invalid bytes count as 1).
    @inline(__always) static func charLength(_ b: UInt8) -> Int {
        let table: [Int] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4]
        return table[Int(b >> 4)]
    }

    func encode(_ text: [UInt8], into out: inout [Int]) {
        guard !text.isEmpty else { return }
        var start: [Int] = [], length: [Int] = []
        var i = 0
        while i < text.count {
            let l = min(Self.charLength(text[i]), text.count - i)
            start.append(i); length.append(l)
            i += l
        }
        let n = start.count
        var prev = (0..<n).map { $0 - 1 }
        var next = (0..<n).map { $0 + 1 }
        var heap = MinHeap<Candidate>()
        func consider(_ l: Int, _ r: Int) {
            guard l >= 0, r < n, r >= 0 else { return }
            let bytes = Array(text[start[l]..<(start[l] + length[l] + length[r])])
            guard let id = pieces[bytes] else { return }
            heap.push(Candidate(score: scores[Int(id)], left: Int32(l), right: Int32(r), size: Int32(bytes.count)))
        }
        for j in 1..<max(n, 1) { consider(j - 1, j) }
        while let c = heap.pop() {
            let l = Int(c.left), r = Int(c.right)
            guard length[l] > 0, length[r] > 0, length[l] + length[r] == Int(c.size), next[l] == r else { continue }
            length[l] += length[r]
            length[r] = 0
            next[l] = next[r]
            if next[r] < n { prev[next[r]] = l }
            consider(prev[l], l)
            consider(l, next[l])
        }
        // Every merge made a vocabulary token, so a surviving piece is a token unless it is a single
        // character the vocabulary lacks: that one falls back to byte tokens.
        func emit(_ from: Int, _ count: Int) {
            let bytes = Array(text[from..<(from + count)])
            if let id = pieces[bytes] { out.append(Int(id)); return }
            for b in bytes {
                if let t = byteTokens[Int(b)] { out.append(Int(t)) } else if let u = unknownID { out.append(u) }
            }
        }
        var s = 0
        while s < n {
            emit(start[s], length[s])
            s = next[s]
        }
    }
}
