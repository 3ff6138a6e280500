/// An architecture that encodes a whole input at once into one pooled vector (BERT): bidirectional
/// attention over the input alone, no KV cache, no logits.
protocol Encoder: Architecture {
    /// Evaluates `tokens` (one input, at most `trainedContextLength` of them, positions from 0) and writes
    /// its pooled state (`embeddingLength` floats, not normalised) to `out`, pooled as `pooling` says.
    func encode(_ tokens: ArraySlice<Int>, ws: Workspace, pooling: PoolingType,
                into out: UnsafeMutablePointer<Float>) throws(ModelError)
}

extension Encoder {
    /// An encoder keeps no KV cache and predicts no tokens: decoding through it is an error.
    func forwardBatch(_ tokens: ArraySlice<Int>, batch: SequenceBatch, ws: Workspace, logitRows: Range<Int>,
                      _ body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        throw ModelError.encoderOnly(runtime.config.architecture)
    }
}
