import Foundation
import SwiftletGGUF
import SwiftletKernels

/// The hyperparameters of a decoder-only transformer: the architecture-prefixed GGUF keys every
/// architecture shares, read here, plus what each architecture file reads or hard-codes as llama.cpp
/// does (``Architecture/configure(_:_:)``), kept as data rather than as branches in the forward pass.
public struct ModelConfig: Sendable, Equatable {
    public var architecture: String
    /// Hidden size (`embedding_length`).
    public var embeddingLength: Int
    public var blockCount: Int
    public var headCount: Int
    public var headCountKV: Int
    /// Size of one query/key head (`attention.key_length`, default embedding_length / head_count).
    public var keyLength: Int
    /// Size of one value head (`attention.value_length`, default keyLength).
    public var valueLength: Int
    /// Width of the feed-forward block (`feed_forward_length`; for mixtures of experts, of one expert).
    public var feedForwardLength: Int
    /// The context length the model was trained for (`context_length`).
    public var trainedContextLength: Int
    public var vocabularySize: Int
    public var rmsEpsilon: Float
    /// RoPE base of full-attention layers (`rope.freq_base`).
    public var ropeBase: Float
    /// Rotated dimensions per head (`rope.dimension_count`, default keyLength).
    public var ropeDimensionCount: Int
    /// Position multiplier for linear and YaRN RoPE scaling (1 / `rope.scaling.factor`).
    public var ropeFrequencyScale: Float
    /// YaRN's extrapolation mix (llama.cpp's `yarn_ext_factor`: 1 for YaRN files, else 0).
    public var ropeExtensionFactor: Float
    /// Multiplier of RoPE's cos and sin (`rope.scaling.attn_factor`, default 1).
    public var ropeAttentionFactor: Float
    /// The context the RoPE scaling was trained from (`rope.scaling.original_context_length`).
    public var ropeOriginalContextLength: Int
    /// Adjacent pairs (llama.cpp's LLAMA_ROPE_TYPE_NORM) or the two halves of a head (NEOX).
    public var ropeStyle: RoPEStyle
    /// Sliding window of local layers (`attention.sliding_window`), if the architecture has them.
    public var slidingWindow: Int?
    /// Local/global layer period: layer `i` is local when `i % period < period - 1` (llama.cpp's
    /// `set_swa_pattern`); nil with a window means every layer is local.
    public var slidingWindowPeriod: Int?
    /// RoPE base and position scale of sliding-window layers (llama.cpp's `rope_freq_base_train_swa`,
    /// `rope_freq_scale_train_swa`: scale 1 unless the architecture says otherwise).
    public var localRopeBase: Float
    public var localRopeFrequencyScale: Float = 1
    /// Multiplier applied to q·k before the softmax.
    public var attentionScale: Float
    /// Soft-capping of the attention scores (Gemma 2: `attn_logit_softcapping`).
    public var attentionLogitSoftcap: Float?
    /// Soft-capping of the output logits (Gemma 2: `final_logit_softcapping`).
    public var finalLogitSoftcap: Float?
    /// Multiplier applied to the token embedding (Gemma: √embedding_length).
    public var embeddingScale: Float
    /// Experts per mixture-of-experts layer (`expert_count`) and how many each token uses
    /// (`expert_used_count`); 0 for dense models.
    public var expertCount: Int = 0
    public var expertUsedCount: Int = 0
    /// Whether the chosen experts' weights are renormalised to sum to 1 (`expert_weights_norm`).
    public var expertWeightsNormalized: Bool = false
    /// Epsilon of LayerNorm (`attention.layer_norm_epsilon`), for the architectures that use it (BERT).
    public var layerNormEpsilon: Float = 1e-12
    /// Whether a token attends only to those before it (`attention.causal`; false for encoders).
    public var causalAttention: Bool = true
    /// How an encoder pools its token states into one vector (`pooling_type`); nil for decoders.
    public var pooling: PoolingType?
    /// Rows of the token-type embedding (`token_type_count`; BERT's "sentence A/B").
    public var tokenTypeCount: Int = 0

    /// Rows of one position's keys / values in the cache.
    public var keyWidth: Int { headCountKV * keyLength }
    public var valueWidth: Int { headCountKV * valueLength }

    /// Whether `layer` attends only to a sliding window.
    public func isSlidingWindowLayer(_ layer: Int) -> Bool {
        guard slidingWindow != nil else { return false }
        guard let period = slidingWindowPeriod else { return true }
        return layer % period < period - 1
    }

    /// The window of `layer`, or nil for full attention.
    public func window(ofLayer layer: Int) -> Int? { isSlidingWindowLayer(layer) ? slidingWindow : nil }

    /// The RoPE base of `layer`.
    public func ropeBase(ofLayer layer: Int) -> Float { isSlidingWindowLayer(layer) ? localRopeBase : ropeBase }

    /// The RoPE position scale of `layer`.
    public func ropeFrequencyScale(ofLayer layer: Int) -> Float {
        isSlidingWindowLayer(layer) ? localRopeFrequencyScale : ropeFrequencyScale
    }

    /// Reads the hyperparameters of `file`: `general.architecture` chooses the architecture
    /// (``architectures``), whose file adds what is its own.
    public init(_ file: GGUFFile) throws(ModelError) {
        guard let arch = file.metadata.architecture else { throw .missingMetadata("general.architecture") }
        guard let type = architectures[arch] else { throw .unsupportedArchitecture(arch) }
        let hp = Hyperparameters(metadata: file.metadata, architecture: arch)
        architecture = arch
        embeddingLength = try hp.int("embedding_length")
        blockCount = try hp.int("block_count")
        headCount = try hp.int("attention.head_count")
        headCountKV = try hp.optionalInt("attention.head_count_kv") ?? headCount
        guard headCount % headCountKV == 0 else {
            throw .invalidMetadata(key: "\(arch).attention.head_count_kv",
                                   reason: "(\(headCountKV)) must divide head_count (\(headCount))")
        }
        keyLength = try hp.optionalInt("attention.key_length") ?? embeddingLength / headCount
        valueLength = try hp.optionalInt("attention.value_length") ?? keyLength
        feedForwardLength = try hp.optionalInt("feed_forward_length") ?? 0
        trainedContextLength = try hp.optionalInt("context_length") ?? 2048
        guard let embd = file.tensor(named: "token_embd.weight"), embd.shape.count == 2 else {
            throw .missingTensor("token_embd.weight")
        }
        vocabularySize = embd.shape[1]
        rmsEpsilon = try hp.float("attention.layer_norm_rms_epsilon") ?? 1e-5
        ropeBase = try hp.float("rope.freq_base") ?? 10000
        ropeDimensionCount = try hp.optionalInt("rope.dimension_count") ?? keyLength
        guard ropeDimensionCount <= keyLength, ropeDimensionCount % 2 == 0 else {
            throw .invalidMetadata(key: "\(arch).rope.dimension_count", reason: "must be even and at most the head size")
        }
        // llama.cpp (llama-model.cpp load_hparams, llama-context.cpp): the factor applies to linear and
        // YaRN scaling; YaRN also mixes in extrapolated angles (yarn_ext_factor 1).
        ropeFrequencyScale = 1
        ropeExtensionFactor = 0
        let scaling = hp.string("rope.scaling.type")
        if scaling == "linear" || scaling == "yarn", let factor = try hp.float("rope.scaling.factor"), factor > 0 {
            ropeFrequencyScale = 1 / factor
        }
        if scaling == "yarn" { ropeExtensionFactor = 1 }
        ropeAttentionFactor = try hp.float("rope.scaling.attn_factor") ?? 1
        if ropeExtensionFactor != 0 {
            // llama-context.cpp: YaRN's magnitude correction, divided by the one ggml's rope_yarn
            // multiplies back in, times the file's attn_factor (GCC fuses each 0.1·log + 1).
            let factor = 1 / ropeFrequencyScale
            let correction = Float(1).addingProduct(0.1, logf(factor))
            ropeAttentionFactor = (factor <= 1 ? 1 : correction) * (1 / correction) * ropeAttentionFactor
        }
        ropeOriginalContextLength = try hp.optionalInt("rope.scaling.original_context_length") ?? trainedContextLength
        ropeStyle = .normal
        localRopeBase = ropeBase
        attentionScale = 1 / Float(keyLength).squareRoot()
        embeddingScale = 1
        try type.configure(&self, hp)
        guard feedForwardLength > 0 else { throw .missingMetadata("\(arch).feed_forward_length") }
    }
}

/// Reads an architecture's `{arch}.*` hyperparameter keys, every failure naming the key.
public struct Hyperparameters: Sendable {
    let metadata: GGUFMetadata
    public let architecture: String

    /// A positive integer that must be present.
    public func int(_ key: String) throws(ModelError) -> Int {
        guard let i = try optionalInt(key) else { throw .missingMetadata("\(architecture).\(key)") }
        return i
    }

    /// A positive integer, or nil when absent.
    public func optionalInt(_ key: String) throws(ModelError) -> Int? {
        guard let v = metadata[hyperparameter: key] else { return nil }
        guard let i = v.int, i > 0 else {
            throw .invalidMetadata(key: "\(architecture).\(key)", reason: "must be a positive integer")
        }
        return i
    }

    /// A finite number, or nil when absent.
    public func float(_ key: String) throws(ModelError) -> Float? {
        guard let v = metadata[hyperparameter: key] else { return nil }
        guard let f = v.float, f.isFinite else {
            throw .invalidMetadata(key: "\(architecture).\(key)", reason: "must be a finite number")
        }
        return f
    }

    public func string(_ key: String) -> String? { metadata[hyperparameter: key]?.string }
}
