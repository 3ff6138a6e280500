/// Qwen3-MoE (Qwen3-30B-A3B, 235B-A22B), llama.cpp's LLM_ARCH_QWEN3MOE (`llm_build_qwen3moe`): Qwen 3's
/// attention (per-head q/k norms, NeoX RoPE) with a mixture of experts in every layer: a softmax router
/// over `expert_count` experts, the `expert_used_count` most probable per token, their weights always
/// renormalised (llama.cpp hard-codes it for this architecture), no shared expert.
struct Qwen3MoE: GraphVariant {
    let graph: Llama

    /// Each expert's width is `expert_feed_forward_length`, else feed_forward_length / expert_used_count.
    static func configure(_ c: inout ModelConfig, _ hp: Hyperparameters) throws(ModelError) {
        c.ropeStyle = .neox
        c.expertCount = try hp.int("expert_count")
        c.expertUsedCount = try hp.int("expert_used_count")
        guard c.expertUsedCount <= c.expertCount else {
            throw .invalidMetadata(key: "qwen3moe.expert_used_count", reason: "exceeds expert_count (\(c.expertCount))")
        }
        c.expertWeightsNormalized = true
        if let width = try hp.optionalInt("expert_feed_forward_length") {
            c.feedForwardLength = width
        } else {
            c.feedForwardLength /= c.expertUsedCount
        }
    }

    init(runtime: Runtime, tensors: TensorBinder) throws(ModelError) {
        graph = try Llama(runtime: runtime, tensors: tensors, options: .init(headNorms: true, experts: true))
    }
}
