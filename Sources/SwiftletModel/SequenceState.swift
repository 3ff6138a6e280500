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

    /// Forgets everything (after a failed evaluation, whose batch the cache may hold in part).
    public func reset() {
        cache.reset()
        tokens = []
        saved = nil
    }
}
