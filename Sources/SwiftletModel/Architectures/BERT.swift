import SwiftletKernels

/// BERT encoders (all-MiniLM, bge, e5…), llama.cpp's LLM_ARCH_BERT (`llama_model_bert::graph`): token,
/// absolute position and token-type (always type 0, "sentence A") embeddings summed and LayerNormed,
/// then post-norm blocks: x = LN(x + wo·attention(x) + bo), x = LN(x + down·gelu(up·x + bu) + bd), the
/// attention bidirectional over the input alone. The token states are pooled (`bert.pooling_type`) into
/// one vector; there is no output head.
struct BERT: Encoder {
    struct Layer: Sendable {
        let attention: AttentionWeights
        let outputBias: Vector?
        let attentionNorm: LayerNormWeights
        let up: WeightMatrix
        let upBias: Vector?
        let down: WeightMatrix
        let downBias: Vector?
        let outputNorm: LayerNormWeights
    }
    let runtime: Runtime
    let tokenEmbedding: WeightMatrix
    let positionEmbedding: WeightMatrix
    let tokenTypes: WeightMatrix?
    let embeddingNorm: LayerNormWeights
    let layers: [Layer]

    /// llama.cpp's `load_arch_hparams` for BERT: the LayerNorm epsilon is required; attention is
    /// bidirectional unless the file says otherwise; the pooling comes from `bert.pooling_type`.
    static func configure(_ config: inout ModelConfig, _ hp: Hyperparameters) throws(ModelError) {
        guard let eps = try hp.float("attention.layer_norm_epsilon") else {
            throw .missingMetadata("\(hp.architecture).attention.layer_norm_epsilon")
        }
        config.layerNormEpsilon = eps
        config.causalAttention = hp.metadata[hyperparameter: "attention.causal"]?.bool ?? false
        guard !config.causalAttention else {
            throw .invalidMetadata(key: "\(hp.architecture).attention.causal", reason: "must be false for BERT")
        }
        let pooling = hp.metadata[hyperparameter: "pooling_type"]?.int ?? PoolingType.cls.rawValue
        guard let type = PoolingType(rawValue: pooling) else {
            throw .invalidMetadata(key: "\(hp.architecture).pooling_type", reason: "is \(pooling), not 0…4")
        }
        config.pooling = type
        config.tokenTypeCount = hp.metadata["tokenizer.ggml.token_type_count"]?.int
            ?? hp.metadata[hyperparameter: "token_type_count"]?.int ?? 0
        config.trainedContextLength = try hp.int("context_length")
    }

    init(runtime: Runtime, tensors t: TensorBinder) throws(ModelError) {
        self.runtime = runtime
        let c = runtime.config, dim = c.embeddingLength, ff = c.feedForwardLength
        tokenEmbedding = try t.tokenEmbedding()
        positionEmbedding = try t.matrix("position_embd.weight", rows: c.trainedContextLength, columns: dim,
                                         regroup: false)
        tokenTypes = c.tokenTypeCount > 0
            ? try t.optionalMatrix("token_types.weight", rows: c.tokenTypeCount, columns: dim) : nil
        embeddingNorm = try t.layerNorm("token_embd_norm", count: dim)
        var layers: [Layer] = []
        for i in 0..<c.blockCount {
            let p = "blk.\(i)."
            layers.append(Layer(
                attention: try t.attention(layer: i),
                outputBias: try t.optionalVector(p + "attn_output.bias", count: dim),
                attentionNorm: try t.layerNorm(p + "attn_output_norm", count: dim),
                up: try t.matrix(p + "ffn_up.weight", rows: ff, columns: dim),
                upBias: try t.optionalVector(p + "ffn_up.bias", count: ff),
                down: try t.matrix(p + "ffn_down.weight", rows: dim, columns: ff),
                downBias: try t.optionalVector(p + "ffn_down.bias", count: dim),
                outputNorm: try t.layerNorm(p + "layer_output_norm", count: dim)))
        }
        self.layers = layers
    }

    func encode(_ tokens: ArraySlice<Int>, ws: Workspace, pooling: PoolingType,
                into out: UnsafeMutablePointer<Float>) throws(ModelError) {
        let rt = runtime, c = runtime.config
        let n = tokens.count, dim = c.embeddingLength, ff = c.feedForwardLength
        guard n > 0 else { throw .emptyInput }

        // Embeddings: (token + type 0) + position, as llama.cpp adds them, then LayerNorm.
        try rt.embed(tokens, tokenEmbedding, into: ws.x)
        for t in 0..<n {
            if let tokenTypes {
                do { try embeddingRow(tokenTypes, token: 0, into: ws.xb) } catch { throw .kernel("token_types: \(error)") }
                add(ws.x + t * dim, ws.xb, out: ws.x + t * dim, count: dim)
            }
            do { try embeddingRow(positionEmbedding, token: t, into: ws.xb) } catch {
                throw .kernel("position_embd.weight: \(error)")
            }
            add(ws.xb, ws.x + t * dim, out: ws.x + t * dim, count: dim)
        }
        rt.dump("inp_embd", nil, ws.x, n * dim)
        rt.layerNormRows(ws.x, embeddingNorm, ws.x, rows: n)
        rt.dump("inp_norm", nil, ws.x, n * dim)

        for (l, layer) in layers.enumerated() {
            // x = LN(x + wo · attention(x) + bo)
            rt.linear([(layer.attention.wq, ws.q), (layer.attention.wk, ws.k), (layer.attention.wv, ws.v)], ws.x,
                      tokens: n)
            if let b = layer.attention.bq { rt.addBias(ws.q, b, rows: n) }
            if let b = layer.attention.bk { rt.addBias(ws.k, b, rows: n) }
            if let b = layer.attention.bv { rt.addBias(ws.v, b, rows: n) }
            rt.dumpQKV(l, ws, tokens: n)
            rt.attendBidirectional(ws: ws, tokens: n, scale: c.attentionScale)
            rt.linear(layer.attention.wo, ws.att, ws.xb2, tokens: n)
            if let b = layer.outputBias { rt.addBias(ws.xb2, b, rows: n) }
            add(ws.xb2, ws.x, out: ws.x, count: n * dim)
            rt.layerNormRows(ws.x, layer.attentionNorm, ws.x, rows: n)
            rt.dump("ffn_inp", l, ws.x, n * dim)

            // x = LN(x + down · gelu(up · x + bu) + bd)
            rt.linear(layer.up, ws.x, ws.hb, tokens: n)
            if let b = layer.upBias { rt.addBias(ws.hb, b, rows: n) }
            rt.forRows(n) { rows in gelu(ws.hb + rows.lowerBound * ff, count: rows.count * ff) }
            rt.linear(layer.down, ws.hb, ws.xb2, tokens: n)
            if let b = layer.downBias { rt.addBias(ws.xb2, b, rows: n) }
            rt.dump("ffn_out", l, ws.xb2, n * dim)
            add(ws.xb2, ws.x, out: ws.x, count: n * dim)
            rt.layerNormRows(ws.x, layer.outputNorm, ws.x, rows: n)
            rt.dump("l_out", l, ws.x, n * dim)
        }

        // Pooling (llama.cpp's `build_pooling`).
        switch pooling {
        case .mean:
            out.update(repeating: 0, count: dim)
            for t in 0..<n { add(out, ws.x + t * dim, out: out, count: dim) }
            scale(out, by: 1 / Float(n), count: dim)
        case .cls:
            out.update(from: ws.x, count: dim)
        case .last:
            out.update(from: ws.x + (n - 1) * dim, count: dim)
        case .none, .rank:
            throw .unsupportedPooling(pooling.description)
        }
        rt.dump("result_embd_pooled", nil, out, dim)
    }
}
