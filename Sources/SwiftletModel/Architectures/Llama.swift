import SwiftletGGUF
import SwiftletKVCache
import SwiftletKernels

/// The llama family (Llama 1/2, SmolLM, TinyLlama, Mistral without sliding windows): pre-norm RMSNorm
/// blocks, RoPE on adjacent pairs (llama.cpp's LLAMA_ROPE_TYPE_NORM), grouped-query attention, SwiGLU
/// feed-forward, output head tied to the token embedding when `output.weight` is absent. Optional q/k/v
/// biases (`attn_q.bias`…) are bound when present, the one delta Qwen2 needs besides its arch name.
struct LlamaWeights: Sendable {
    struct Layer: Sendable {
        let attnNorm: Vector          // (dim)
        let wq: WeightMatrix          // (heads × keyLength, dim)
        let wk: WeightMatrix          // (kvHeads × keyLength, dim)
        let wv: WeightMatrix          // (kvHeads × valueLength, dim)
        let bq: Vector?, bk: Vector?, bv: Vector?
        let wo: WeightMatrix          // (dim, heads × valueLength)
        let ffnNorm: Vector           // (dim)
        let gate: WeightMatrix        // (ff, dim)
        let up: WeightMatrix          // (ff, dim)
        let down: WeightMatrix        // (dim, ff)
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
                bq: try b.optionalVector(p + "attn_q.bias", count: qDim),
                bk: try b.optionalVector(p + "attn_k.bias", count: c.keyWidth),
                bv: try b.optionalVector(p + "attn_v.bias", count: c.valueWidth),
                wo: try b.matrix(p + "attn_output.weight", rows: dim, columns: oDim),
                ffnNorm: try b.vector(p + "ffn_norm.weight", count: dim),
                gate: try b.matrix(p + "ffn_gate.weight", rows: c.feedForwardLength, columns: dim),
                up: try b.matrix(p + "ffn_up.weight", rows: c.feedForwardLength, columns: dim),
                down: try b.matrix(p + "ffn_down.weight", rows: dim, columns: c.feedForwardLength)))
        }
        self.layers = layers
    }
}

struct LlamaModel: TransformerArchitecture {
    let runtime: Runtime
    let weights: LlamaWeights

    func forwardBatch(_ tokens: ArraySlice<Int>, cache: KVCache, ws: Workspace, logitRows: Range<Int>,
                      _ body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        let rt = runtime, c = runtime.config, w = weights
        let n = tokens.count, start = cache.count, dim = c.embeddingLength
        let qDim = c.headCount * c.keyLength, oDim = c.headCount * c.valueLength

        try rt.embed(tokens, w.tokenEmbedding, into: ws.x)                  // x (n, dim)
        rt.dump("inp_embd", nil, ws.x, n * dim)

        for (l, layer) in w.layers.enumerated() {
            // Attention block: x += wo · attention(rope(wq·norm(x)), rope(wk·norm(x)), wv·norm(x))
            rt.normRows(ws.x, layer.attnNorm, ws.xb, rows: n, width: dim)
            rt.dump("attn_norm", l, ws.xb, n * dim)
            // q (n, heads × keyLength), k (n, kvHeads × keyLength), v (n, kvHeads × valueLength)
            rt.linear([(layer.wq, ws.q), (layer.wk, ws.k), (layer.wv, ws.v)], ws.xb, tokens: n)
            if let bq = layer.bq { rt.addBias(ws.q, bq, rows: n) }
            if let bk = layer.bk { rt.addBias(ws.k, bk, rows: n) }
            if let bv = layer.bv { rt.addBias(ws.v, bv, rows: n) }
            rt.applyRoPE(q: ws.q, k: ws.k, tokens: n, start: start, layer: l)
            rt.dump("Qcur", l, ws.q, n * qDim)
            rt.dump("Kcur", l, ws.k, n * c.keyWidth)
            rt.dump("Vcur", l, ws.v, n * c.valueWidth)
            try rt.attention(layer: l, ws: ws, tokens: n, start: start, cache: cache, scale: c.attentionScale)
            rt.dump("kqv_out", l, ws.att, n * oDim)
            rt.linear(layer.wo, ws.att, ws.xb2, tokens: n)                    // (n, dim)
            rt.dump("attn_out", l, ws.xb2, n * dim)
            add(ws.x, ws.xb2, out: ws.x, count: n * dim)
            rt.dump("ffn_inp", l, ws.x, n * dim)
            // The last layer's feed-forward block runs on the rows whose logits are wanted.
            let m = l == w.layers.count - 1 ? rt.keepLogitRows(logitRows, of: ws.x, tokens: n, width: dim) : n
            if m == 0 { break }

            // Feed-forward block: x += down · (silu(gate · norm(x)) * (up · norm(x)))
            rt.gatedFeedForward(layer: l, norm: layer.ffnNorm, gate: layer.gate, up: layer.up, down: layer.down,
                                activation: swiglu, activationName: "ffn_swiglu", ws: ws, rows: m)
            add(ws.x, ws.xb2, out: ws.x, count: m * dim)
            rt.dump("l_out", l, ws.x, m * dim)
        }

        try rt.emitLogits(ws: ws, rows: logitRows, norm: w.outputNorm, output: w.output, body)
    }
}
