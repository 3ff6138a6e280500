import Foundation

extension Transformer {
    /// Whether the model is an encoder (BERT): it computes embeddings (``embed(_:normalize:)``) and has no
    /// KV cache, logits or generation.
    public var isEncoder: Bool { architecture is any Encoder }

    /// The length of the vectors ``embed(_:normalize:)`` returns (the hidden size).
    public var embeddingSize: Int { config.embeddingLength }

    /// The most tokens one input may have: the encoder's absolute positions (`context_length`).
    public var maxInputTokens: Int { config.trainedContextLength }

    /// The embedding of one tokenized input: the encoder's pooled state (``ModelConfig/pooling``),
    /// L2-normalised when `normalize` (llama.cpp's `--embd-normalize 2`, the OpenAI-style default).
    ///
    /// The input is evaluated on its own, so its vector does not depend on other inputs evaluated before,
    /// after or at the same time. Throws ``ModelError/notAnEncoder(_:)`` for a decoder model,
    /// ``ModelError/inputTooLong(tokens:limit:)`` past ``maxInputTokens``.
    public func embed(_ tokens: [Int], normalize: Bool = true) throws(ModelError) -> [Float] {
        guard let encoder = architecture as? any Encoder else { throw .notAnEncoder(config.architecture) }
        guard let pooling = config.pooling else { throw .unsupportedPooling("unset") }
        guard !tokens.isEmpty else { throw .emptyInput }
        guard tokens.count <= maxInputTokens else { throw .inputTooLong(tokens: tokens.count, limit: maxInputTokens) }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= config.vocabularySize }) {
            throw .tokenOutOfRange(token: bad, vocabularySize: config.vocabularySize)
        }
        var out = [Float](repeating: 0, count: embeddingSize)
        // Every call takes a workspace of the longest input, so that inputs of many lengths share a few
        // pooled workspaces (one per concurrent call) instead of each length leaving one of its own.
        let failure: ModelError? = architecture.runtime.withWorkspace(tokens: maxInputTokens, context: 1) { ws in
            out.withUnsafeMutableBufferPointer { buffer in
                do throws(ModelError) {
                    try encoder.encode(tokens[...], ws: ws, pooling: pooling, into: buffer.baseAddress!)
                    return nil
                } catch { return error }
            }
        }
        if let failure { throw failure }
        if normalize { Transformer.normalizeL2(&out) }
        return out
    }

    /// The embeddings of several inputs, each evaluated on its own (see ``embed(_:normalize:)``), in order.
    public func embed(batch inputs: [[Int]], normalize: Bool = true) throws(ModelError) -> [[Float]] {
        var out: [[Float]] = []
        out.reserveCapacity(inputs.count)
        for input in inputs { out.append(try embed(input, normalize: normalize)) }
        return out
    }

    /// Scales `v` to unit Euclidean length (llama.cpp's `common_embd_normalize` with norm 2: the sum of
    /// squares in double); a zero vector stays zero.
    static func normalizeL2(_ v: inout [Float]) {
        var sum = 0.0
        for x in v { sum += Double(x) * Double(x) }
        let norm = sum.squareRoot()
        guard norm > 0 else { return }
        let inverse = Float(1 / norm)
        for i in v.indices { v[i] *= inverse }
    }
}
