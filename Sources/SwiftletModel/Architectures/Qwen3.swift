/// Qwen 3 (dense), llama.cpp's LLM_ARCH_QWEN3 (`llm_build_qwen3`): the llama graph with an RMS norm of
/// each query and key head after the projections (`attn_q_norm`, `attn_k_norm`, before RoPE) and RoPE on
/// the two halves of each head (LLAMA_ROPE_TYPE_NEOX).
struct Qwen3: GraphVariant {
    let graph: Llama

    static func configure(_ config: inout ModelConfig, _ hp: Hyperparameters) throws(ModelError) {
        config.ropeStyle = .neox
    }

    init(runtime: Runtime, tensors: TensorBinder) throws(ModelError) {
        graph = try Llama(runtime: runtime, tensors: tensors, options: .init(headNorms: true))
    }
}
