/// Byte-pair merging by rank over one pre-tokenized word, as llama.cpp's BPE session does it: start from
/// the word's characters, repeatedly merge the adjacent pair with the lowest merge rank (leftmost on a
/// tie), and emit the resulting tokens. A heap of candidate pairs keeps long words O(n log n).
struct BytePairEncoder: Sendable {
    /// (left id, right id) → (rank, merged id).
    let merges: [UInt64: (rank: Int32, result: Int32)]

    @inline(__always) static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b)) }

    private struct Candidate: Comparable {
        var rank: Int32
        var left: Int32
        var leftID: Int32
        var rightID: Int32
        static func < (a: Candidate, b: Candidate) -> Bool { a.rank != b.rank ? a.rank < b.rank : a.left < b.left }
    }

    /// Merges `symbols` (token ids of the word's characters) in place and appends the result to `out`.
    func encode(_ symbols: [Int32], into out: inout [Int]) {
        let n = symbols.count
        if n == 1 { if symbols[0] >= 0 { out.append(Int(symbols[0])) }; return }
        var ids = symbols
        var next = (0..<n).map { Int32($0 + 1) }
        var prev = (0..<n).map { Int32($0 - 1) }
        var alive = [Bool](repeating: true, count: n)
        var heap = MinHeap<Candidate>()
        func consider(_ l: Int32) {
            guard l >= 0 else { return }
            let r = next[Int(l)]
            guard r < n else { return }
            if let m = merges[Self.key(ids[Int(l)], ids[Int(r)])] {
                heap.push(Candidate(rank: m.rank, left: l, leftID: ids[Int(l)], rightID: ids[Int(r)]))
            }
        }
        for i in 0..<(n - 1) { consider(Int32(i)) }
        while let c = heap.pop() {
            let l = Int(c.left)
            guard alive[l], ids[l] == c.leftID else { continue }
            let r = Int(next[l])
            guard r < n, alive[r], ids[r] == c.rightID, let m = merges[Self.key(c.leftID, c.rightID)] else { continue }
            ids[l] = m.result
            alive[r] = false
            next[l] = next[r]
            if next[r] < n { prev[Int(next[r])] = Int32(l) }
            consider(prev[l])
            consider(Int32(l))
        }
        var i = 0
        while i < n {
            // A character the vocabulary lacks (-1) is dropped, as llama.cpp drops it.
            if ids[i] >= 0 { out.append(Int(ids[i])) }
            i = Int(next[i])
        }
    }
}

/// A binary min-heap.
struct MinHeap<Element: Comparable> {
    private var items: [Element] = []

    var isEmpty: Bool { items.isEmpty }

    mutating func push(_ e: Element) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard items[i] < items[p] else { break }
            items.swapAt(i, p)
            i = p
        }
    }

    mutating func pop() -> Element? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count && items[l] < items[m] { m = l }
                if r < items.count && items[r] < items[m] { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
