/// Byte-level BPE over one pre-token: start from one token per byte, repeatedly apply the lowest-ranked
/// merge (leftmost on ties), emit the final tokens.
extension Vocabulary {
    func bpeEncode(text: UnsafeBufferPointer<UInt8>, cache: inout [ArraySlice<UInt8>: [Int]], into out: inout [Int]) {
        let cpts = LenientUTF8.codepoints(text)
        var word: [UInt8] = []
        for piece in preTokenizer.split(cpts) {
            word.removeAll(keepingCapacity: true)
            for i in piece { LenientUTF8.append(cpts[i], to: &word) }
            if word.count > 48 || word.count < 3 {
                word.withUnsafeBufferPointer { bpeWord($0, into: &out) }
            } else if let ids = cache[word[...]] {
                out.append(contentsOf: ids)
            } else {
                var ids: [Int] = []
                word.withUnsafeBufferPointer { bpeWord($0, into: &ids) }
                if cache.count < 200_000 { cache[ArraySlice(word)] = ids }
                out.append(contentsOf: ids)
            }
        }
    }

    @inline(__always)
    private func merge(_ a: Int32, _ b: Int32) -> (rank: Int32, result: Int32)? {
        if a < 0 || b < 0 { return nil }
        return merges[UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))]
    }

    func bpeWord(_ w: UnsafeBufferPointer<UInt8>, into out: inout [Int]) {
        let n = w.count
        if n == 0 { return }
        if preTokenizer.ignoresMerges {
            let id = lookup.lookup(w)
            if id >= 0 { out.append(Int(id)); return }
        }
        if n == 1 {
            let id = byteTokens[Int(w[0])]
            if id >= 0 { out.append(Int(id)) }
            return
        }
        if n <= 48 {
            // Short words (nearly all of them): a quadratic scan beats heap bookkeeping.
            var syms = [Int32](unsafeUninitializedCapacity: n) { buf, count in
                for i in 0..<n { buf[i] = byteTokens[Int(w[i])] }
                count = n
            }
            while syms.count > 1 {
                var best = -1
                var bestRank = Int32.max
                var bestResult: Int32 = -1
                for i in 0..<(syms.count - 1) {
                    if let m = merge(syms[i], syms[i + 1]), m.rank < bestRank {
                        best = i; bestRank = m.rank; bestResult = m.result
                    }
                }
                if best < 0 { break }
                syms[best] = bestResult
                syms.remove(at: best + 1)
            }
            for s in syms where s >= 0 { out.append(Int(s)) }
            return
        }
        bpeLongWord(w, into: &out)
    }

    /// O(n log n) merging for long pre-tokens (a megabyte with no spaces must not take minutes).
    private func bpeLongWord(_ w: UnsafeBufferPointer<UInt8>, into out: inout [Int]) {
        let n = w.count
        var id = (0..<n).map { byteTokens[Int(w[$0])] }
        var prev = (0..<n).map { $0 - 1 }
        var next = (0..<n).map { $0 + 1 }
        var alive = [Bool](repeating: true, count: n)
        var heap = MinHeap<MergeCandidate>()
        func push(_ l: Int) {
            guard l >= 0, l < n, next[l] < n else { return }
            let r = next[l]
            if let m = merge(id[l], id[r]) { heap.push(MergeCandidate(rank: m.rank, left: Int32(l), a: id[l], b: id[r])) }
        }
        for i in 0..<(n - 1) { push(i) }
        while let top = heap.pop() {
            let l = Int(top.left)
            guard alive[l], next[l] < n else { continue }
            let r = next[l]
            guard id[l] == top.a, id[r] == top.b, let m = merge(id[l], id[r]) else { continue }
            id[l] = m.result
            alive[r] = false
            next[l] = next[r]
            if next[r] < n { prev[next[r]] = l }
            push(prev[l])
            push(l)
        }
        var i = 0
        while i < n {
            if id[i] >= 0 { out.append(Int(id[i])) }
            i = next[i]
        }
    }
}

/// An element that knows which of two comes out of a `MinHeap` first.
protocol HeapElement {
    static func precedes(_ a: Self, _ b: Self) -> Bool
}

/// A BPE merge candidate: lowest rank first, then leftmost.
struct MergeCandidate: HeapElement {
    var rank: Int32, left: Int32, a: Int32, b: Int32
    @inline(__always)
    static func precedes(_ x: Self, _ y: Self) -> Bool { x.rank != y.rank ? x.rank < y.rank : x.left < y.left }
}

/// A binary min-heap; the ordering is a static function so comparisons inline.
struct MinHeap<Element: HeapElement> {
    private var items: [Element] = []

    init() {}

    mutating func push(_ e: Element) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if !Element.precedes(items[i], items[p]) { break }
            items.swapAt(i, p)
            i = p
        }
    }

    mutating func pop() -> Element? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return first }
        items[0] = last
        var i = 0
        let n = items.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < n && Element.precedes(items[l], items[m]) { m = l }
            if r < n && Element.precedes(items[r], items[m]) { m = r }
            if m == i { break }
            items.swapAt(i, m)
            i = m
        }
        return first
    }
}
