/// Phi-3, Phi-3.5 and Phi-4-mini, llama.cpp's LLM_ARCH_PHI3 (`llm_build_phi3`): the llama graph with q, k
/// and v in one fused `attn_qkv`, gate and up in one `ffn_up` of twice the width (gate first), NeoX RoPE
/// with the long or short frequency factors chosen by context (`rope_factors_long`/`_short`) and
/// `rope.scaling.attn_factor` on cos and sin, and q scaled after RoPE instead of inside attention.
/// A declared sliding window is ignored, as llama.cpp b11312 ignores it ("Phi SWA is currently disabled").
struct Phi3: GraphVariant {
    let graph: Llama

    static func configure(_ c: inout ModelConfig, _ hp: Hyperparameters) throws(ModelError) {
        c.ropeStyle = .neox
        c.slidingWindow = nil
    }

    init(runtime: Runtime, tensors: TensorBinder) throws(ModelError) {
        graph = try Llama(runtime: runtime, tensors: tensors, options: .init(queryPreScaled: true))
    }
}
