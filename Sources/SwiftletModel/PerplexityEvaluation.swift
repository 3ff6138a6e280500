import Foundation
import SwiftletKVCache

/// The outcome of ``evaluatePerplexity(model:tokens:context:bos:progress:)``.
public struct PerplexityResult: Sendable, Equatable {
    /// exp(mean negative log-likelihood over the scored tokens).
    public var perplexity: Double
    /// Sum of negative log-likelihoods (nats).
    public var negativeLogLikelihood: Double
    public var chunks: Int
    public var context: Int
    public var scoredTokens: Int
    /// Running perplexity after each chunk (llama-perplexity prints these as `[1]x,[2]y,…`).
    public var perChunk: [Double]
}

/// llama.cpp's `llama-perplexity` procedure over already tokenized text: `tokens.count / context`
/// non-overlapping chunks, each evaluated from an empty cache with its first token replaced by `bos`
/// (when the model adds one); the logits at positions context/2 … context−2 score the token after them.
/// The cache stores K as `storage` and V as `valueStorage` (default: `storage` too).
public func evaluatePerplexity(model: Transformer, tokens: [Int], context: Int, bos: Int?,
                               storage: KVStorageType = .f16, valueStorage: KVStorageType? = nil,
                               progress: (Int, Double) -> Void = { _, _ in }) throws -> PerplexityResult {
    guard context >= 4 else { throw ModelError.invalidMetadata(key: "ctx", reason: "must be at least 4") }
    let chunks = tokens.count / context
    guard chunks >= 1 else { throw ModelError.emptyInput }
    let cache = try model.makeCache(context: context, maxBatch: context, keyStorage: storage,
                                    valueStorage: valueStorage ?? storage)
    let first = context / 2
    var nll = 0.0, count = 0
    var perChunk: [Double] = []
    for chunk in 0..<chunks {
        let start = chunk * context
        var batch = Array(tokens[start..<(start + context)])
        if let bos { batch[0] = bos }
        cache.reset()
        // llama-perplexity asks for the logits of every position from context/2 on, the last included
        // (which scores nothing): the last layer's products then run on as many tokens as its do, and
        // the token count decides how ggml groups them (the repacked Q4_K kernels take four at a time).
        try model.evaluate(batch, cache: cache, logitRows: first..<context) { j, logits in
            guard j + 1 < context else { return }
            let target = tokens[start + j + 1]
            var maxLogit = -Float.infinity
            for l in logits { maxLogit = max(maxLogit, l) }
            var sum = 0.0
            for l in logits { sum += Double(expf(l - maxLogit)) }
            nll -= Double(logits[target] - maxLogit) - log(sum)
            count += 1
        }
        let ppl = exp(nll / Double(count))
        perChunk.append(ppl)
        progress(chunk, ppl)
    }
    return PerplexityResult(perplexity: exp(nll / Double(count)), negativeLogLikelihood: nll, chunks: chunks,
                            context: context, scoredTokens: count, perChunk: perChunk)
}
