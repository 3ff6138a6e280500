import SwiftletKVCache

/// One sequence's KV cache and the tokens it holds, kept between requests so that a new prompt
/// evaluates only what the cache cannot give back.
///
/// A prompt evaluated before in full starts from the logits saved then, instead of evaluating its last
/// token again: that would take the one-token path, whose order of additions differs from a batch's (in
/// llama.cpp too), and could tip a near-tie; so repeating a request repeats its output.
public final class SequenceState {
    public let cache: KVCache
    /// The tokens whose keys and values `cache` holds, in order.
    public private(set) var tokens: [Int] = []
    /// The last prompt evaluated in full and the logits after its last token.
    private var saved: (prompt: [Int], logits: [Float])?

    public init(cache: KVCache) { self.cache = cache }

    /// Keeps the longest prefix of `prompt` the cache can give back and drops the rest. Returns how many
    /// of the prompt's tokens are in the cache, and the logits after the whole prompt when it was
    /// evaluated before in full (then every token is kept).
    public func reuse(for prompt: [Int]) -> (cached: Int, logits: [Float]?) {
        if let saved, saved.prompt == prompt, tokens.starts(with: prompt),
           (try? cache.truncate(to: prompt.count)) != nil {
            tokens.removeSubrange(prompt.count...)
            return (prompt.count, saved.logits)
        }
        let keep = reusablePrefixLength(cached: tokens, prompt: prompt)
        do {
            try cache.truncate(to: keep)
            tokens.removeSubrange(keep...)
        } catch {
            // A sliding-window layer may no longer hold the positions a shorter prefix needs.
            reset()
        }
        return (tokens.count, nil)
    }

    /// Evaluates `next` after the tokens held and returns the logits after its last token. When `next`
    /// completes `prompt`, those logits are saved for a repeat of it.
    public func evaluate(_ next: [Int], model: Transformer, completing prompt: [Int]? = nil) throws -> [Float] {
        let logits = try model.forward(next, cache: cache)
        tokens += next
        if let prompt { saved = (prompt, logits) }
        return logits
    }

    /// One decoding step of several sequences in one forward pass (``Transformer/decode(_:caches:)``):
    /// `steps[i].token` is appended to `steps[i].state`; element i of the result is the logits after it.
    public static func decode(_ steps: [(state: SequenceState, token: Int)], model: Transformer) throws -> [[Float]] {
        let logits = try model.decode(steps.map(\.token), caches: steps.map(\.state.cache))
        for step in steps { step.state.tokens.append(step.token) }
        return logits
    }

    /// A copy of the keys and values held, in a cache of its own just large enough (a prompt cache
    /// entry in host memory), with the tokens they stand for.
    public func snapshot() throws(KVCacheError) -> (cache: KVCache, tokens: [Int]) {
        let copy = try KVCache(layers: cache.layers, capacity: max(1, tokens.count), maxBatch: cache.maxBatch,
                               keyStorage: cache.keyStorage, valueStorage: cache.valueStorage)
        try copy.copyPrefix(from: cache, count: tokens.count)
        return (copy, tokens)
    }

    /// Replaces what the sequence holds with the first `count` positions of a snapshot holding `tokens`.
    public func restore(from snapshot: KVCache, tokens held: [Int], count: Int) throws(KVCacheError) {
        saved = nil
        do {
            try cache.copyPrefix(from: snapshot, count: count)
            tokens = Array(held[..<count])
        } catch {
            reset()
            throw error
        }
    }

    /// Keeps the first `count` tokens held (at most those held) and drops the rest, without the one-token
    /// margin of ``reuse(for:)``: for a sequence that resumes with its next token already chosen.
    public func keep(_ count: Int) {
        let keep = min(count, tokens.count)
        do {
            try cache.truncate(to: keep)
            tokens.removeSubrange(keep...)
        } catch {
            reset()
        }
    }

    /// Forgets everything (after a failed evaluation, whose batch the cache may hold in part).
    public func reset() {
        cache.reset()
        tokens = []
        saved = nil
    }
}
