import SwiftletGGUF
import SwiftletKernels

/// A small float vector (norm weights, biases) dequantized once at load; owned, immutable.
final class Vector: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: count)
    }
    deinit { pointer.deallocate() }
}

/// Binds GGUF tensors by name with their expected shapes; every failure names the tensor. The one
/// binder every architecture uses: the blocks most share (attention projections, gated feed-forward,
/// experts) are bound here under llama.cpp's tensor names.
struct TensorBinder {
    let file: GGUFFile
    let config: ModelConfig

    /// A 2-D weight of `rows` outputs × `columns` inputs (ggml shape [columns, rows]); stays in the mapping,
    /// except Q4_0, which the AVX2 build regroups into a heap copy that multiplies prompts 2–3× faster
    /// (``WeightMatrix/repackedForMatmul()``), unless `regroup` is false.
    func matrix(_ name: String, rows: Int, columns: Int, regroup: Bool = true) throws(ModelError) -> WeightMatrix {
        guard let info = file.tensor(named: name) else { throw .missingTensor(name) }
        guard info.shape == [columns, rows] else {
            throw .tensorShape(name: name, expected: [columns, rows], actual: info.shape)
        }
        do {
            let w = try WeightMatrix(info, in: file)
            return regroup ? w.repackedForMatmul() : w
        } catch { throw .kernel("\(name): \(error)") }
    }

    func optionalMatrix(_ name: String, rows: Int, columns: Int) throws(ModelError) -> WeightMatrix? {
        file.tensor(named: name) == nil ? nil : try matrix(name, rows: rows, columns: columns)
    }

    /// A 3-D stack of `count` matrices of `rows` × `columns` (ggml shape [columns, rows, count]): one per
    /// expert, each in place in the mapping.
    func matrices(_ name: String, count: Int, rows: Int, columns: Int) throws(ModelError) -> [WeightMatrix] {
        guard let info = file.tensor(named: name) else { throw .missingTensor(name) }
        guard info.shape == [columns, rows, count] else {
            throw .tensorShape(name: name, expected: [columns, rows, count], actual: info.shape)
        }
        guard let base = file.tensorData(info).baseAddress else { throw .missingTensor(name) }
        var out: [WeightMatrix] = []
        for e in 0..<count {
            do {
                out.append(try WeightMatrix(type: info.type, rows: rows, columns: columns,
                                            data: base + e * rows * info.bytesPerRow).repackedForMatmul())
            } catch { throw .kernel("\(name): \(error)") }
        }
        return out
    }

    /// The token embedding table, left in the mapping: it is read a row per token, and as a tied output
    /// head it mostly multiplies one token (a prompt's last). Regrouping a vocabulary-sized table would
    /// cost load time and memory for no decoding gain.
    func tokenEmbedding() throws(ModelError) -> WeightMatrix {
        try matrix("token_embd.weight", rows: config.vocabularySize, columns: config.embeddingLength, regroup: false)
    }

    /// `output.weight`, or the token embedding when the head is tied to it.
    func output(tiedTo embedding: WeightMatrix) throws(ModelError) -> WeightMatrix {
        try optionalMatrix("output.weight", rows: config.vocabularySize, columns: config.embeddingLength) ?? embedding
    }

    /// A 1-D tensor of `count` elements, dequantized into a heap copy (tiny next to the matrices).
    func vector(_ name: String, count: Int) throws(ModelError) -> Vector {
        guard let info = file.tensor(named: name) else { throw .missingTensor(name) }
        guard info.shape == [count] else { throw .tensorShape(name: name, expected: [count], actual: info.shape) }
        let v = Vector(count: count)
        guard let base = file.tensorData(info).baseAddress else { throw .missingTensor(name) }
        do { try dequantizeRow(info.type, base, v.pointer, count: count) } catch {
            throw .unsupportedTensorType(name: name, type: info.type.name)
        }
        return v
    }

    func optionalVector(_ name: String, count: Int) throws(ModelError) -> Vector? {
        file.tensor(named: name) == nil ? nil : try vector(name, count: count)
    }

    /// A hidden-size norm weight: `output_norm`, or `blk.{layer}.{name}`.
    func norm(_ name: String, layer: Int? = nil) throws(ModelError) -> Vector {
        try vector(layer.map { "blk.\($0).\(name).weight" } ?? "\(name).weight", count: config.embeddingLength)
    }

    /// Layer `layer`'s attention projections: `attn_q`, `attn_k`, `attn_v` (or one fused `attn_qkv`, split
    /// into its three row ranges), their biases when present, the per-head `attn_q_norm`/`attn_k_norm`
    /// when `headNorms`, and `attn_output`.
    func attention(layer: Int, headNorms: Bool = false) throws(ModelError) -> AttentionWeights {
        let c = config, p = "blk.\(layer).", dim = c.embeddingLength
        let qDim = c.headCount * c.keyLength
        let wq, wk, wv: WeightMatrix
        if file.tensor(named: p + "attn_qkv.weight") != nil {
            let qkv = try matrix(p + "attn_qkv.weight", rows: qDim + c.keyWidth + c.valueWidth, columns: dim,
                                 regroup: false)
            wq = qkv.rows(0..<qDim).repackedForMatmul()
            wk = qkv.rows(qDim..<(qDim + c.keyWidth)).repackedForMatmul()
            wv = qkv.rows((qDim + c.keyWidth)..<(qDim + c.keyWidth + c.valueWidth)).repackedForMatmul()
        } else {
            wq = try matrix(p + "attn_q.weight", rows: qDim, columns: dim)
            wk = try matrix(p + "attn_k.weight", rows: c.keyWidth, columns: dim)
            wv = try matrix(p + "attn_v.weight", rows: c.valueWidth, columns: dim)
        }
        return AttentionWeights(
            wq: wq, wk: wk, wv: wv,
            bq: try optionalVector(p + "attn_q.bias", count: qDim),
            bk: try optionalVector(p + "attn_k.bias", count: c.keyWidth),
            bv: try optionalVector(p + "attn_v.bias", count: c.valueWidth),
            qNorm: headNorms ? try vector(p + "attn_q_norm.weight", count: c.keyLength) : nil,
            kNorm: headNorms ? try vector(p + "attn_k_norm.weight", count: c.keyLength) : nil,
            wo: try matrix(p + "attn_output.weight", rows: dim, columns: c.headCount * c.valueLength))
    }

    /// Layer `layer`'s gated feed-forward block: `ffn_gate`, `ffn_up`, `ffn_down`, or, without `ffn_gate`,
    /// an `ffn_up` of twice the width whose first half is the gate (Phi-3; ggml_swiglu's split).
    func feedForward(layer: Int) throws(ModelError) -> FeedForwardWeights {
        let c = config, p = "blk.\(layer).", dim = c.embeddingLength, ff = c.feedForwardLength
        let gate, up: WeightMatrix
        if file.tensor(named: p + "ffn_gate.weight") == nil,
           file.tensor(named: p + "ffn_up.weight")?.shape == [dim, 2 * ff] {
            let fused = try matrix(p + "ffn_up.weight", rows: 2 * ff, columns: dim, regroup: false)
            gate = fused.rows(0..<ff).repackedForMatmul()
            up = fused.rows(ff..<(2 * ff)).repackedForMatmul()
        } else {
            gate = try matrix(p + "ffn_gate.weight", rows: ff, columns: dim)
            up = try matrix(p + "ffn_up.weight", rows: ff, columns: dim)
        }
        return FeedForwardWeights(gate: gate, up: up, down: try matrix(p + "ffn_down.weight", rows: dim, columns: ff))
    }

    /// Layer `layer`'s mixture of experts: the router `ffn_gate_inp` (experts × dim) and the stacked
    /// `ffn_gate_exps`, `ffn_up_exps`, `ffn_down_exps`, one matrix per expert of `expertWidth`.
    func experts(layer: Int, expertWidth ff: Int) throws(ModelError) -> ExpertWeights {
        let c = config, p = "blk.\(layer).", dim = c.embeddingLength, n = c.expertCount
        return ExpertWeights(
            router: try matrix(p + "ffn_gate_inp.weight", rows: n, columns: dim),
            gate: try matrices(p + "ffn_gate_exps.weight", count: n, rows: ff, columns: dim),
            up: try matrices(p + "ffn_up_exps.weight", count: n, rows: ff, columns: dim),
            down: try matrices(p + "ffn_down_exps.weight", count: n, rows: dim, columns: ff))
    }
}

/// One layer's attention projections (shapes as rows × columns).
struct AttentionWeights: Sendable {
    let wq: WeightMatrix          // (heads × keyLength, dim)
    let wk: WeightMatrix          // (kvHeads × keyLength, dim)
    let wv: WeightMatrix          // (kvHeads × valueLength, dim)
    let bq: Vector?, bk: Vector?, bv: Vector?
    let qNorm: Vector?            // (keyLength), applied to each query head
    let kNorm: Vector?            // (keyLength), applied to each key head
    let wo: WeightMatrix          // (dim, heads × valueLength)
}

/// One layer's gated feed-forward block: down · (act(gate · x) ⊙ (up · x)).
struct FeedForwardWeights: Sendable {
    let gate: WeightMatrix        // (ff, dim)
    let up: WeightMatrix          // (ff, dim)
    let down: WeightMatrix        // (dim, ff)
}

/// One layer's mixture of experts: a router and, per expert, a gated feed-forward block.
struct ExpertWeights: Sendable {
    let router: WeightMatrix      // (experts, dim)
    let gate: [WeightMatrix]      // experts × (ff, dim)
    let up: [WeightMatrix]        // experts × (ff, dim)
    let down: [WeightMatrix]      // experts × (dim, ff)
}

/// RoPE frequency factors, which divide each rotation angle: Llama 3.1's one set (`rope_freqs`), or
/// Phi-3's long and short sets (`rope_factors_long`, `rope_factors_short`), of which llama.cpp's
/// `get_rope_factors` takes the long one when the context (padded to 256) exceeds the original one.
struct RoPEFactors: Sendable {
    let always: Vector?
    let long: Vector?
    let short: Vector?

    func forContext(_ context: Int, config: ModelConfig) -> Vector? {
        if let always { return always }
        return (context + 255) / 256 * 256 > config.ropeOriginalContextLength ? long : short
    }
}

extension TensorBinder {
    func ropeFactors() throws(ModelError) -> RoPEFactors {
        let count = config.ropeDimensionCount / 2
        return RoPEFactors(always: try optionalVector("rope_freqs.weight", count: count),
                           long: try optionalVector("rope_factors_long.weight", count: count),
                           short: try optionalVector("rope_factors_short.weight", count: count))
    }
}
