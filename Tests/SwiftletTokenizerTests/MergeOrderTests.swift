import Testing
import SwiftletGGUF
import SwiftletTokenizer

/// The merge loop (quadratic scan for short words, heap for long ones) against a plain string-based BPE
/// written from the merge list, on letter-only words (one pre-token each) of many lengths.
@Suite struct MergeOrderTests {
    @Test func matchesNaiveBPE() throws {
        let meta = try GGUFFile(path: Support.fixture("tiny-llama-f32.gguf")).metadata
        let tok = try Tokenizer(metadata: meta)
        let tokens = try #require(meta["tokenizer.ggml.tokens"]?.typedArray?.strings)
        let merges = try #require(meta["tokenizer.ggml.merges"]?.typedArray?.strings)
        var ids: [String: Int] = [:]
        for (i, t) in tokens.enumerated() { ids[t] = i }
        var rank: [String: Int] = [:]
        for (r, m) in merges.enumerated() where rank[m] == nil { rank[m] = r }

        func naive(_ word: String) -> [Int] {
            var syms = word.map(String.init)  // ASCII letters map to themselves
            while syms.count > 1 {
                var best = -1, bestRank = Int.max
                for i in 0..<(syms.count - 1) {
                    if let r = rank[syms[i] + " " + syms[i + 1]], r < bestRank { best = i; bestRank = r }
                }
                if best < 0 { break }
                syms[best] += syms[best + 1]
                syms.remove(at: best + 1)
            }
            return syms.compactMap { ids[$0] }
        }

        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("abcdehilnorst")
        for length in [1, 2, 3, 5, 8, 13, 40, 47, 48, 49, 50, 64, 100, 257] {
            for _ in 0..<20 {
                let word = String((0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] })
                #expect(tok.encode(word, addBOS: false, parseSpecial: false) == naive(word), "\(word)")
            }
        }
    }
}
