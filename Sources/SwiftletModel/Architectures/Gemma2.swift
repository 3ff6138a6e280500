/// Gemma 2, llama.cpp's LLM_ARCH_GEMMA2 (`llm_build_gemma2_iswa`): Gemma 3's graph without the per-head
/// q/k norms, with soft-capping of the attention scores (cap·tanh(s / cap), `attn_logit_softcapping`,
/// default 50) and of the final logits (`final_logit_softcapping`, default 30), and every other layer
/// (the even ones) attending to a sliding window. The output head is always the token embedding.
struct Gemma2: GraphVariant {
    let graph: Gemma3

    /// llama.cpp (src/models/gemma2.cpp): window 4096 unless the file says, period 2 unless
    /// `sliding_window_pattern` says, q scaled by 1/√head_dim after RoPE except the 27B (46 layers),
    /// which uses 1/√(n_embd / n_head); sliding-window layers may have their own RoPE base, and keep the
    /// trained position scale.
    static func configure(_ c: inout ModelConfig, _ hp: Hyperparameters) throws(ModelError) {
        c.ropeStyle = .neox
        c.slidingWindow = try hp.optionalInt("attention.sliding_window") ?? 4096
        c.slidingWindowPeriod = try hp.optionalInt("attention.sliding_window_pattern") ?? 2
        c.localRopeBase = try hp.float("rope.freq_base_swa") ?? c.ropeBase
        c.localRopeFrequencyScale = c.ropeFrequencyScale
        c.embeddingScale = Float(c.embeddingLength).squareRoot()
        c.attentionScale = c.blockCount == 46
            ? 1 / Float(c.embeddingLength / c.headCount).squareRoot() : 1 / Float(c.keyLength).squareRoot()
        c.attentionLogitSoftcap = try hp.float("attn_logit_softcapping") ?? 50
        c.finalLogitSoftcap = try hp.float("final_logit_softcapping") ?? 30
    }

    init(runtime: Runtime, tensors: TensorBinder) throws(ModelError) {
        graph = try Gemma3(runtime: runtime, tensors: tensors, headNorms: false, tiedOutput: true)
    }
}
