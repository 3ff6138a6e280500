import SwiftletKVCache
import SwiftletKernels

/// Gemma 3 (text), llama.cpp's LLM_ARCH_GEMMA3 (`llm_build_gemma3_iswa`): embeddings × √dim, RMSNorm on
/// each q and k head, NeoX RoPE, the extra post-attention and post-feed-forward norms, GELU(gate)·up,
/// and five sliding-window layers per global one. The stored norm weights already include Gemma's "+1"
/// (llama.cpp's converter adds it). Output tied to the token embedding unless the file has its own.
struct Gemma3: Architecture {
    struct Layer: Sendable {
        let attnNorm: Vector
        let attention: AttentionWeights
        let postAttnNorm: Vector
        let ffnNorm: Vector
        let ffn: FeedForwardWeights
        let postFfnNorm: Vector
    }
    let runtime: Runtime
    let tokenEmbedding: WeightMatrix
    let layers: [Layer]
    let outputNorm: Vector
    let output: WeightMatrix

    /// llama.cpp (src/models/gemma3.cpp): five sliding-window layers then one global when the file has
    /// a window, their RoPE base `rope.freq_base_swa` (default 10000) and position scale 1; NeoX RoPE,
    /// embeddings × √n_embd, final logits soft-capped only if the file says so; q scaled by
    /// 1/√head_dim except the 27B (62 layers), which uses 1/√(n_embd / n_head).
    static func configure(_ c: inout ModelConfig, _ hp: Hyperparameters) throws(ModelError) {
        c.slidingWindow = try hp.optionalInt("attention.sliding_window")
        c.slidingWindowPeriod = 6
        c.localRopeBase = try hp.float("rope.freq_base_swa") ?? 10000
        c.finalLogitSoftcap = try hp.float("final_logit_softcapping").flatMap { $0 > 0 ? $0 : nil }
        c.ropeStyle = .neox
        c.embeddingScale = Float(c.embeddingLength).squareRoot()
        if c.blockCount == 62 { c.attentionScale = 1 / Float(c.embeddingLength / c.headCount).squareRoot() }
    }

    init(runtime: Runtime, tensors t: TensorBinder) throws(ModelError) {
        try self.init(runtime: runtime, tensors: t, headNorms: true, tiedOutput: false)
    }

    /// The Gemma graph; without `headNorms` (Gemma 2) q and k are not normed per head, and with
    /// `tiedOutput` the token embedding is the output head whatever else the file holds.
    init(runtime: Runtime, tensors t: TensorBinder, headNorms: Bool, tiedOutput: Bool) throws(ModelError) {
        self.runtime = runtime
        tokenEmbedding = try t.tokenEmbedding()
        var layers: [Layer] = []
        for i in 0..<runtime.config.blockCount {
            layers.append(Layer(attnNorm: try t.norm("attn_norm", layer: i),
                                attention: try t.attention(layer: i, headNorms: headNorms),
                                postAttnNorm: try t.norm("post_attention_norm", layer: i),
                                ffnNorm: try t.norm("ffn_norm", layer: i), ffn: try t.feedForward(layer: i),
                                postFfnNorm: try t.norm("post_ffw_norm", layer: i)))
        }
        self.layers = layers
        outputNorm = try t.norm("output_norm")
        output = tiedOutput ? tokenEmbedding : try t.output(tiedTo: tokenEmbedding)
    }

    func forwardBatch(_ tokens: ArraySlice<Int>, batch: SequenceBatch, ws: Workspace, logitRows: Range<Int>,
                      _ body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        let rt = runtime, c = runtime.config
        let n = tokens.count, dim = c.embeddingLength

        try rt.embed(tokens, tokenEmbedding, into: ws.x)                      // x (n, dim) × √dim
        rt.dump("inp_scaled", nil, ws.x, n * dim)

        for (l, layer) in layers.enumerated() {
            // Attention block: x += postnorm(wo · attention(rope(qnorm(wq·norm(x))) × scale, ...))
            rt.normRows(ws.x, layer.attnNorm, ws.xb, rows: n, width: dim)
            rt.dump("attn_norm", l, ws.xb, n * dim)
            rt.projectQKV(layer: l, layer.attention, ws: ws, tokens: n)
            rt.applyRoPE(q: ws.q, k: ws.k, batch: batch, layer: l)
            scale(ws.q, by: c.attentionScale, count: n * c.headCount * c.keyLength)
            rt.dumpQKV(l, ws, tokens: n)
            try rt.attend(layer: l, ws: ws, batch: batch, scale: 1)
            rt.linear(layer.attention.wo, ws.att, ws.xb2, tokens: n, order: ws.order)   // (n, dim)
            rt.normRows(ws.xb2, layer.postAttnNorm, ws.xb2, rows: n, width: dim)
            rt.dump("attn_post_norm", l, ws.xb2, n * dim)
            add(ws.x, ws.xb2, out: ws.x, count: n * dim)
            rt.dump("sa_out", l, ws.x, n * dim)
            // The last layer's feed-forward block runs on the rows whose logits are wanted.
            let m = l == layers.count - 1 ? rt.keepLogitRows(logitRows, of: ws.x, tokens: n, width: dim) : n
            if m == 0 { break }

            // Feed-forward block: x += postnorm(down · (gelu(gate · norm(x)) * (up · norm(x))))
            rt.normRows(ws.x, layer.ffnNorm, ws.xb, rows: m, width: dim)
            rt.dump("ffn_norm", l, ws.xb, m * dim)
            rt.gatedFeedForward(layer: l, layer.ffn, activation: geglu, activationName: "ffn_geglu", ws: ws, rows: m)
            rt.normRows(ws.xb2, layer.postFfnNorm, ws.xb2, rows: m, width: dim)
            rt.dump("ffn_post_norm", l, ws.xb2, m * dim)
            add(ws.x, ws.xb2, out: ws.x, count: m * dim)
            rt.dump("l_out", l, ws.x, m * dim)
        }

        try rt.emitLogits(ws: ws, rows: logitRows, norm: outputNorm, output: output, body)
    }
}
