import SwiftletGGUF
import SwiftletKVCache
import SwiftletKernels

/// Gemma 3 (text): embeddings × √dim, RMSNorm on each q and k head, NeoX RoPE, the extra
/// post-attention and post-feed-forward norms, GELU(gate)·up, and five sliding-window layers per
/// global one (the pattern, window, local RoPE base and q scale live in ``ModelConfig``). The stored
/// norm weights already include Gemma's "+1" (llama.cpp's converter adds it). Output tied to the
/// token embedding; no final logit soft-capping (that was Gemma 2).
struct Gemma3Weights: Sendable {
    struct Layer: Sendable {
        let attnNorm: Vector          // (dim)
        let wq: WeightMatrix          // (heads × keyLength, dim)
        let wk: WeightMatrix          // (kvHeads × keyLength, dim)
        let wv: WeightMatrix          // (kvHeads × valueLength, dim)
        let qNorm: Vector             // (keyLength)
        let kNorm: Vector             // (keyLength)
        let wo: WeightMatrix          // (dim, heads × valueLength)
        let postAttnNorm: Vector      // (dim)
        let ffnNorm: Vector           // (dim)
        let gate: WeightMatrix        // (ff, dim)
        let up: WeightMatrix          // (ff, dim)
        let down: WeightMatrix        // (dim, ff)
        let postFfnNorm: Vector       // (dim)
    }
    let tokenEmbedding: WeightMatrix  // (vocab, dim)
    let layers: [Layer]
    let outputNorm: Vector            // (dim)
    let output: WeightMatrix          // (vocab, dim); token_embd when tied

    init(_ file: GGUFFile, _ c: ModelConfig) throws(ModelError) {
        let b = TensorBinder(file: file)
        let dim = c.embeddingLength, qDim = c.headCount * c.keyLength, oDim = c.headCount * c.valueLength
        tokenEmbedding = try b.tokenEmbedding(rows: c.vocabularySize, columns: dim)
        outputNorm = try b.vector("output_norm.weight", count: dim)
        output = try b.optionalMatrix("output.weight", rows: c.vocabularySize, columns: dim) ?? tokenEmbedding
        var layers: [Layer] = []
        for i in 0..<c.blockCount {
            let p = "blk.\(i)."
            layers.append(Layer(
                attnNorm: try b.vector(p + "attn_norm.weight", count: dim),
                wq: try b.matrix(p + "attn_q.weight", rows: qDim, columns: dim),
                wk: try b.matrix(p + "attn_k.weight", rows: c.keyWidth, columns: dim),
                wv: try b.matrix(p + "attn_v.weight", rows: c.valueWidth, columns: dim),
                qNorm: try b.vector(p + "attn_q_norm.weight", count: c.keyLength),
                kNorm: try b.vector(p + "attn_k_norm.weight", count: c.keyLength),
                wo: try b.matrix(p + "attn_output.weight", rows: dim, columns: oDim),
                postAttnNorm: try b.vector(p + "post_attention_norm.weight", count: dim),
                ffnNorm: try b.vector(p + "ffn_norm.weight", count: dim),
                gate: try b.matrix(p + "ffn_gate.weight", rows: c.feedForwardLength, columns: dim),
                up: try b.matrix(p + "ffn_up.weight", rows: c.feedForwardLength, columns: dim),
                down: try b.matrix(p + "ffn_down.weight", rows: dim, columns: c.feedForwardLength),
                postFfnNorm: try b.vector(p + "post_ffw_norm.weight", count: dim)))
        }
        self.layers = layers
    }
}

struct Gemma3Model: TransformerArchitecture {
    let runtime: Runtime
    let weights: Gemma3Weights

    func forwardBatch(_ tokens: ArraySlice<Int>, cache: KVCache, ws: Workspace, logitRows: Range<Int>,
                      _ body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        let rt = runtime, c = runtime.config, w = weights
        let n = tokens.count, start = cache.count, dim = c.embeddingLength
        let qDim = c.headCount * c.keyLength, oDim = c.headCount * c.valueLength

        try rt.embed(tokens, w.tokenEmbedding, into: ws.x)                  // x (n, dim) × √dim
        rt.dump("inp_scaled", nil, ws.x, n * dim)

        for (l, layer) in w.layers.enumerated() {
            // Attention block: x += postnorm(wo · attention(rope(qnorm(wq·norm(x))), ...))
            rt.normRows(ws.x, layer.attnNorm, ws.xb, rows: n, width: dim)
            rt.dump("attn_norm", l, ws.xb, n * dim)
            // q (n, heads × keyLength), k (n, kvHeads × keyLength), v (n, kvHeads × valueLength)
            rt.linear([(layer.wq, ws.q), (layer.wk, ws.k), (layer.wv, ws.v)], ws.xb, tokens: n)
            rt.normRows(ws.q, layer.qNorm, ws.q, rows: n * c.headCount, width: c.keyLength)
            rt.normRows(ws.k, layer.kNorm, ws.k, rows: n * c.headCountKV, width: c.keyLength)
            rt.dump("Qcur_normed", l, ws.q, n * qDim)
            rt.dump("Kcur_normed", l, ws.k, n * c.keyWidth)
            rt.applyRoPE(q: ws.q, k: ws.k, tokens: n, start: start, layer: l)
            scale(ws.q, by: c.attentionScale, count: n * qDim)
            rt.dump("Qcur", l, ws.q, n * qDim)
            rt.dump("Kcur", l, ws.k, n * c.keyWidth)
            rt.dump("Vcur", l, ws.v, n * c.valueWidth)
            try rt.attention(layer: l, ws: ws, tokens: n, start: start, cache: cache, scale: 1)
            rt.dump("kqv_out", l, ws.att, n * oDim)
            rt.linear(layer.wo, ws.att, ws.xb2, tokens: n)                    // (n, dim)
            rt.normRows(ws.xb2, layer.postAttnNorm, ws.xb2, rows: n, width: dim)
            rt.dump("attn_post_norm", l, ws.xb2, n * dim)
            add(ws.x, ws.xb2, out: ws.x, count: n * dim)
            rt.dump("sa_out", l, ws.x, n * dim)
            // The last layer's feed-forward block runs on the rows whose logits are wanted.
            let m = l == w.layers.count - 1 ? rt.keepLogitRows(logitRows, of: ws.x, tokens: n, width: dim) : n
            if m == 0 { break }

            // Feed-forward block: x += postnorm(down · (gelu(gate · norm(x)) * (up · norm(x))))
            rt.gatedFeedForward(layer: l, norm: layer.ffnNorm, gate: layer.gate, up: layer.up, down: layer.down,
                                activation: geglu, activationName: "ffn_geglu", ws: ws, rows: m)
            rt.normRows(ws.xb2, layer.postFfnNorm, ws.xb2, rows: m, width: dim)
            rt.dump("ffn_post_norm", l, ws.xb2, m * dim)
            add(ws.x, ws.xb2, out: ws.x, count: m * dim)
            rt.dump("l_out", l, ws.x, m * dim)
        }

        try rt.emitLogits(ws: ws, rows: logitRows, norm: w.outputNorm, output: w.output, body)
    }
}
