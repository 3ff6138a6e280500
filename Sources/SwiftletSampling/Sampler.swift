/// Picks the next token from a vector of logits, the way llama.cpp's default sampler chain does:
/// logit bias and penalties, then top-k → typical-p → top-p → min-p → temperature → a draw from the
/// seeded generator. Temperature 0 takes the most likely token after bias and penalties.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var random: SeededRandom

    public init(parameters: SamplingParameters) throws(SamplingError) {
        try parameters.validate()
        self.parameters = parameters
        random = SeededRandom(seed: parameters.seed)
    }

    /// Chooses a token. `logits` (one per vocabulary entry) is modified in place by the bias and
    /// penalties; `history` is every token so far (prompt and generated), of which the penalties look at
    /// the last `penaltyLastN`.
    public mutating func sample(_ logits: inout [Float], history: some BidirectionalCollection<Int>) -> Int {
        applyBias(&logits)
        applyPenalties(&logits, history: history)
        if parameters.temperature == 0 { return Sampler.argmax(logits) }

        var candidates = topK(logits)
        typical(&candidates)
        topP(&candidates)
        minP(&candidates)
        let t = parameters.temperature
        let maxLogit = candidates.map(\.logit).max() ?? 0
        var probabilities = candidates.map { Double(($0.logit - maxLogit) / t) }.map { exp($0) }
        let total = probabilities.reduce(0, +)
        guard total > 0, total.isFinite else { return candidates.first?.id ?? Sampler.argmax(logits) }
        for i in probabilities.indices { probabilities[i] /= total }
        var r = random.nextUnit()
        for (i, p) in probabilities.enumerated() {
            r -= p
            if r < 0 { return candidates[i].id }
        }
        return candidates[candidates.count - 1].id
    }

    /// Chooses a token that `isAllowed` accepts, as llama.cpp's `common_sampler_sample` applies a grammar:
    /// sample without the constraint first; if that token is not allowed, restore the logits, let
    /// `restrict` set every disallowed token's logit to -infinity, and sample again. Checking one token
    /// first keeps a constrained step almost as cheap as a free one when the model already complies.
    /// Returns nil when the constraint leaves no token at all.
    public mutating func sample(_ logits: inout [Float], history: some BidirectionalCollection<Int>,
                                isAllowed: (Int) -> Bool, restrict: (inout [Float]) -> Void) -> Int? {
        let original = logits
        let first = sample(&logits, history: history)
        if isAllowed(first) { return first }
        logits = original
        restrict(&logits)
        guard logits.contains(where: { $0 > -Float.infinity }) else { return nil }
        let second = sample(&logits, history: history)
        return logits[second] > -Float.infinity ? second : nil
    }

    /// The index of the largest logit (the first, on ties).
    public static func argmax(_ logits: [Float]) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        for (i, v) in logits.enumerated() where v > bestValue {
            best = i
            bestValue = v
        }
        return best
    }

    struct Candidate {
        var id: Int
        var logit: Float
    }

    func applyBias(_ logits: inout [Float]) {
        for (token, bias) in parameters.logitBias where token < logits.count {
            logits[token] += bias
        }
    }

    func applyPenalties(_ logits: inout [Float], history: some BidirectionalCollection<Int>) {
        let p = parameters
        guard p.penaltyLastN != 0, p.repeatPenalty != 1 || p.presencePenalty != 0 || p.frequencyPenalty != 0 else { return }
        let window = p.penaltyLastN < 0 ? Array(history) : Array(history.suffix(p.penaltyLastN))
        var counts: [Int: Int] = [:]
        for token in window where token >= 0 && token < logits.count { counts[token, default: 0] += 1 }
        for (token, count) in counts {
            var l = logits[token]
            l = l > 0 ? l / p.repeatPenalty : l * p.repeatPenalty
            l -= Float(count) * p.frequencyPenalty + p.presencePenalty
            logits[token] = l
        }
    }

    /// The `topK` largest logits in descending order (all of them, sorted, when `topK` is 0).
    func topK(_ logits: [Float]) -> [Candidate] {
        let k = parameters.topK
        guard k > 0, k < logits.count else {
            return logits.enumerated().map { Candidate(id: $0.offset, logit: $0.element) }
                .sorted { $0.logit != $1.logit ? $0.logit > $1.logit : $0.id < $1.id }
        }
        // A min-heap of the k best so far: O(n log k) instead of sorting the whole vocabulary.
        var heap: [Candidate] = []
        heap.reserveCapacity(k)
        func worse(_ a: Candidate, _ b: Candidate) -> Bool { a.logit != b.logit ? a.logit < b.logit : a.id > b.id }
        func siftDown(_ i0: Int) {
            var i = i0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < heap.count && worse(heap[l], heap[m]) { m = l }
                if r < heap.count && worse(heap[r], heap[m]) { m = r }
                if m == i { return }
                heap.swapAt(i, m)
                i = m
            }
        }
        for (id, logit) in logits.enumerated() {
            let c = Candidate(id: id, logit: logit)
            if heap.count < k {
                heap.append(c)
                var i = heap.count - 1
                while i > 0, worse(heap[i], heap[(i - 1) / 2]) {
                    heap.swapAt(i, (i - 1) / 2)
                    i = (i - 1) / 2
                }
            } else if worse(heap[0], c) {
                heap[0] = c
                siftDown(0)
            }
        }
        return heap.sorted { worse($1, $0) }
    }

    /// Softmax probabilities of sorted candidates.
    static func probabilities(_ c: [Candidate]) -> [Double] {
        guard let maxLogit = c.first?.logit, maxLogit.isFinite else { return c.map { _ in 1 / Double(max(c.count, 1)) } }
        let e = c.map { exp(Double($0.logit - maxLogit)) }
        let total = e.reduce(0, +)
        return e.map { $0 / total }
    }

    func topP(_ c: inout [Candidate]) {
        let p = Double(parameters.topP)
        guard p < 1, c.count > 1 else { return }
        let probs = Sampler.probabilities(c)
        var cumulative = 0.0
        for (i, q) in probs.enumerated() {
            cumulative += q
            if cumulative >= p {
                c.removeSubrange((i + 1)...)
                return
            }
        }
    }

    func minP(_ c: inout [Candidate]) {
        let m = parameters.minP
        guard m > 0, let top = c.first?.logit, c.count > 1 else { return }
        let threshold = top + log(m)
        let kept = c.filter { $0.logit >= threshold }
        c = kept.isEmpty ? [c[0]] : kept
    }

    func typical(_ c: inout [Candidate]) {
        let p = Double(parameters.typicalP)
        guard p < 1, c.count > 1 else { return }
        let probs = Sampler.probabilities(c)
        let entropy = -probs.reduce(0) { $0 + ($1 > 0 ? $1 * log($1) : 0) }
        let order = probs.indices.sorted { abs(-log(probs[$0]) - entropy) < abs(-log(probs[$1]) - entropy) }
        var cumulative = 0.0
        var keep: [Int] = []
        for i in order {
            cumulative += probs[i]
            keep.append(i)
            if cumulative >= p { break }
        }
        c = keep.sorted().map { c[$0] }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
