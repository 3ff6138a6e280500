import SwiftletKVCache
import SwiftletKernels

/// The llama family (Llama 1/2/3.x, SmolLM, TinyLlama, Mistral without sliding windows), llama.cpp's
/// LLM_ARCH_LLAMA (`llm_build_llama`): pre-norm RMSNorm blocks, RoPE on adjacent pairs
/// (LLAMA_ROPE_TYPE_NORM: the converter permutes q/k rows so this equals Hugging Face's rotate-half),
/// Llama 3.1+'s RoPE frequency factors (`rope_freqs`) when present, grouped-query attention, SwiGLU
/// feed-forward, output head tied to the token embedding when `output.weight` is absent.
struct Llama: Architecture {
    /// What the architectures that run this graph add to it.
    struct Options {
        /// RMS norms of each query and key head before RoPE (Qwen 3).
        var headNorms = false
        /// q × attentionScale after RoPE, attention then unscaled (Phi-3), instead of the scale in attention.
        var queryPreScaled = false
        /// A mixture of experts in place of the dense feed-forward block (Qwen3-MoE).
        var experts = false
    }
    enum FeedForward: Sendable {
        case dense(FeedForwardWeights)
        case experts(ExpertWeights)
    }
    struct Layer: Sendable {
        let attnNorm: Vector
        let attention: AttentionWeights
        let ffnNorm: Vector
        let ffn: FeedForward
    }
    let runtime: Runtime
    let options: Options
    let tokenEmbedding: WeightMatrix
    let ropeFactors: RoPEFactors
    let layers: [Layer]
    let outputNorm: Vector
    let output: WeightMatrix
    let outputBias: Vector?

    static func configure(_ config: inout ModelConfig, _ hp: Hyperparameters) throws(ModelError) {}

    init(runtime: Runtime, tensors t: TensorBinder) throws(ModelError) {
        try self.init(runtime: runtime, tensors: t, options: Options())
    }

    init(runtime: Runtime, tensors t: TensorBinder, options: Options) throws(ModelError) {
        self.runtime = runtime
        self.options = options
        let c = runtime.config
        tokenEmbedding = try t.tokenEmbedding()
        ropeFactors = try t.ropeFactors()
        var layers: [Layer] = []
        for i in 0..<c.blockCount {
            let ffn: FeedForward = options.experts
                ? .experts(try t.experts(layer: i, expertWidth: c.feedForwardLength))
                : .dense(try t.feedForward(layer: i))
            layers.append(Layer(attnNorm: try t.norm("attn_norm", layer: i),
                                attention: try t.attention(layer: i, headNorms: options.headNorms),
                                ffnNorm: try t.norm("ffn_norm", layer: i), ffn: ffn))
        }
        self.layers = layers
        outputNorm = try t.norm("output_norm")
        output = try t.output(tiedTo: tokenEmbedding)
        outputBias = try t.optionalVector("output.bias", count: c.vocabularySize)
    }

    func forwardBatch(_ tokens: ArraySlice<Int>, batch: SequenceBatch, ws: Workspace, logitRows: Range<Int>,
                      _ body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        let rt = runtime, c = runtime.config
        let n = tokens.count, dim = c.embeddingLength

        try rt.embed(tokens, tokenEmbedding, into: ws.x)                      // x (n, dim)
        rt.dump("inp_embd", nil, ws.x, n * dim)

        for (l, layer) in layers.enumerated() {
            // Attention block: x += wo · attention(rope(wq·norm(x)), rope(wk·norm(x)), wv·norm(x))
            rt.normRows(ws.x, layer.attnNorm, ws.xb, rows: n, width: dim)
            rt.dump("attn_norm", l, ws.xb, n * dim)
            rt.projectQKV(layer: l, layer.attention, ws: ws, tokens: n)
            rt.applyRoPE(q: ws.q, k: ws.k, batch: batch, layer: l,
                         factors: ropeFactors.forContext(batch.capacity, config: c))
            if options.queryPreScaled { scale(ws.q, by: c.attentionScale, count: n * c.headCount * c.keyLength) }
            rt.dumpQKV(l, ws, tokens: n)
            try rt.attend(layer: l, ws: ws, batch: batch, scale: options.queryPreScaled ? 1 : c.attentionScale)
            rt.linear(layer.attention.wo, ws.att, ws.xb2, tokens: n, order: ws.order)   // (n, dim)
            rt.dump("attn_out", l, ws.xb2, n * dim)
            add(ws.x, ws.xb2, out: ws.x, count: n * dim)
            rt.dump("ffn_inp", l, ws.x, n * dim)
            // The last layer's feed-forward block runs on the rows whose logits are wanted.
            let m = l == layers.count - 1 ? rt.keepLogitRows(logitRows, of: ws.x, tokens: n, width: dim) : n
            if m == 0 { break }

            // Feed-forward block: x += down · (silu(gate · norm(x)) * (up · norm(x))), or the same from each
            // of the experts the router picks, weighted.
            rt.normRows(ws.x, layer.ffnNorm, ws.xb, rows: m, width: dim)
            rt.dump("ffn_norm", l, ws.xb, m * dim)
            switch layer.ffn {
            case .dense(let ffn):
                rt.gatedFeedForward(layer: l, ffn, activation: swiglu, activationName: "ffn_swiglu", ws: ws, rows: m)
            case .experts(let experts):
                rt.mixtureOfExperts(layer: l, experts, ws: ws, rows: m)
            }
            add(ws.x, ws.xb2, out: ws.x, count: m * dim)
            rt.dump("l_out", l, ws.x, m * dim)
        }

        try rt.emitLogits(ws: ws, rows: logitRows, norm: outputNorm, output: output, bias: outputBias, body)
    }
}

