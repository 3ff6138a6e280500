/// SentencePiece-style encoding of one text fragment: characters as symbols, the adjacent pair whose
/// concatenation is the highest-scoring token merged first (leftmost on ties), unknown characters
/// spelled with `<0xNN>` byte tokens.
extension Vocabulary {
    /// Encodes an escaped fragment word by word when that is exact (see `spanningTexts`), with a cache.
    func spmEncodeFragment(_ t: [UInt8], cache: inout [ArraySlice<UInt8>: [Int]], into out: inout [Int]) {
        guard spanningTexts.count <= 64, Self.wellFormedLeads(t),
              !spanningTexts.contains(where: { Self.occurs($0, in: t) }) else {
            spmEncode(text: t, into: &out)
            return
        }
        var start = 0
        var i = 1
        let n = t.count
        while i <= n {
            if i == n || (t[i] == 0xE2 && i + 2 < n && t[i + 1] == 0x96 && t[i + 2] == 0x81) {
                let word = t[start..<i]
                if let ids = cache[word] {
                    out.append(contentsOf: ids)
                } else {
                    var ids: [Int] = []
                    spmEncode(text: Array(word), into: &ids)
                    if cache.count < 200_000 { cache[word] = ids }
                    out.append(contentsOf: ids)
                }
                start = i
            }
            i += 1
        }
    }

    /// Whether every lead byte is followed by as many continuation bytes as it announces, so that no
    /// character symbol can swallow the `▁` of the next word.
    private static func wellFormedLeads(_ t: [UInt8]) -> Bool {
        var i = 0
        while i < t.count {
            let b = t[i]
            let l = b < 0x80 ? 1 : b < 0xC0 ? 0 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : b < 0xF8 ? 4 : 0
            if l == 0 || i + l > t.count { return false }
            for k in 1..<l where t[i + k] & 0xC0 != 0x80 { return false }
            i += l
        }
        return true
    }

    private static func occurs(_ needle: [UInt8], in t: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= t.count else { return false }
        for i in 0...(t.count - needle.count) where t[i] == needle[0] {
            if t[i..<(i + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }

    func spmEncode(text: [UInt8], into out: inout [Int]) {
        let n = text.count
        if n == 0 { return }
        // Symbols: one per UTF-8 character, by the lead byte's length only (as llama.cpp).
        var start: [Int] = [], len: [Int] = []
        var i = 0
        while i < n {
            let b = text[i]
            let l = b < 0xC0 ? 1 : (b < 0xE0 ? 2 : (b < 0xF0 ? 3 : 4))
            let m = min(l, n - i)
            start.append(i); len.append(m)
            i += m
        }
        let count = start.count
        var prev = (0..<count).map { $0 - 1 }
        var next = (0..<count).map { $0 + 1 }
        var heap = MinHeap<Bigram>()
        text.withUnsafeBufferPointer { t in
            func tryAdd(_ l: Int, _ r: Int) {
                guard l >= 0, r < count else { return }
                let size = len[l] + len[r]
                let id = lookup.lookup(UnsafeBufferPointer(rebasing: t[start[l]..<(start[l] + size)]))
                guard id >= 0 else { return }
                heap.push(Bigram(score: scores[Int(id)], left: Int32(l), right: Int32(r), size: Int32(size)))
            }
            for k in 1..<max(count, 1) { tryAdd(k - 1, k) }
            while let top = heap.pop() {
                let l = Int(top.left), r = Int(top.right)
                if len[l] == 0 || len[r] == 0 || len[l] + len[r] != Int(top.size) { continue }
                len[l] += len[r]
                len[r] = 0
                next[l] = next[r]
                if next[r] < count { prev[next[r]] = l }
                tryAdd(prev[l], l)
                tryAdd(l, next[l])
            }
            var k = 0
            while k < count {
                let slice = UnsafeBufferPointer(rebasing: t[start[k]..<(start[k] + len[k])])
                let id = lookup.lookup(slice)
                if id >= 0 {
                    out.append(Int(id))
                } else {
                    for b in slice {
                        let bt = byteTokens[Int(b)]
                        if bt >= 0 { out.append(Int(bt)) }
                    }
                }
                k = next[k]
            }
        }
    }
}

/// A SentencePiece merge candidate: highest score first, then leftmost.
struct Bigram: HeapElement {
    var score: Float, left: Int32, right: Int32, size: Int32
    @inline(__always)
    static func precedes(_ x: Self, _ y: Self) -> Bool { x.score != y.score ? x.score > y.score : x.left < y.left }
}
