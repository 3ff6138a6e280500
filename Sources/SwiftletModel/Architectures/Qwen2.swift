/// Qwen 2 and 2.5, llama.cpp's LLM_ARCH_QWEN2 (`llm_build_qwen2`): the llama graph with biases on the
/// q, k and v projections and an optional output bias (bound whenever a file has them), and RoPE on the
/// two halves of each head (LLAMA_ROPE_TYPE_NEOX).
struct Qwen2: GraphVariant {
    let graph: Llama

    static func configure(_ config: inout ModelConfig, _ hp: Hyperparameters) throws(ModelError) {
        config.ropeStyle = .neox
    }

    init(runtime: Runtime, tensors: TensorBinder) throws(ModelError) {
        graph = try Llama(runtime: runtime, tensors: tensors)
    }
}
