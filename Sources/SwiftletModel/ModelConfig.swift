import SwiftletGGUF
import SwiftletKernels

/// Architectures that load today.
/// - `llama`: SmolLM/SmolLM2, TinyLlama, Llama 1/2, Mistral 7B (all `llama` in GGUF) — checked against
///   llama.cpp for SmolLM2. Llama 3.0 loads as is; Llama 3.1+ files carry `rope_freqs.weight`
///   (long-context RoPE factors) which is not applied yet, so they load but drift from llama.cpp.
/// - `qwen2`: the llama graph plus q/k/v biases and NeoX RoPE (bound and applied; not yet checked
///   against a reference).
/// - `gemma3`: Gemma 3 text models — checked against llama.cpp for the 270M.
public let supportedArchitectures = ["llama", "qwen2", "gemma3"]

/// The hyperparameters of a decoder-only transformer, from the architecture-prefixed GGUF keys plus
/// the facts llama.cpp hard-codes per architecture (kept here as data, not as branches in the forward).
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
    public var feedForwardLength: Int
    /// The context length the model was trained for (`context_length`).
    public var trainedContextLength: Int
    public var vocabularySize: Int
    public var rmsEpsilon: Float
    /// RoPE base of full-attention layers (`rope.freq_base`).
    public var ropeBase: Float
    /// Rotated dimensions per head (`rope.dimension_count`, default keyLength).
    public var ropeDimensionCount: Int
    /// Position multiplier for linear RoPE scaling (1 / `rope.scaling.factor`).
    public var ropeFrequencyScale: Float
    /// Whether RoPE rotates adjacent pairs (llama) or the two halves of a head (NeoX, Gemma).
    public var ropeUsesHalves: Bool
    /// Sliding window of local layers (`attention.sliding_window`), if the architecture has them.
    public var slidingWindow: Int?
    /// Local/global layer period: layer `i` is local when `i % period < period - 1`.
    public var slidingWindowPeriod: Int?
    /// RoPE base of sliding-window layers.
    public var localRopeBase: Float
    /// Multiplier applied to q·k before the softmax.
    public var attentionScale: Float
    /// Multiplier applied to the token embedding (Gemma: √embedding_length).
    public var embeddingScale: Float

    /// Rows of one position's keys / values in the cache.
    public var keyWidth: Int { headCountKV * keyLength }
    public var valueWidth: Int { headCountKV * valueLength }

    /// Whether `layer` attends only to a sliding window.
    public func isSlidingWindowLayer(_ layer: Int) -> Bool {
        guard let period = slidingWindowPeriod, slidingWindow != nil else { return false }
        return layer % period < period - 1
    }

    /// The window of `layer`, or nil for full attention.
    public func window(ofLayer layer: Int) -> Int? { isSlidingWindowLayer(layer) ? slidingWindow : nil }

    /// The RoPE base of `layer`.
    public func ropeBase(ofLayer layer: Int) -> Float { isSlidingWindowLayer(layer) ? localRopeBase : ropeBase }

    /// The RoPE position scale of `layer` (sliding-window layers are never scaled).
    public func ropeFrequencyScale(ofLayer layer: Int) -> Float { isSlidingWindowLayer(layer) ? 1 : ropeFrequencyScale }

    /// Reads the hyperparameters of `file` (architecture from `general.architecture`).
    public init(_ file: GGUFFile) throws(ModelError) {
        let md = file.metadata
        guard let arch = md.architecture else { throw .missingMetadata("general.architecture") }
        guard supportedArchitectures.contains(arch) else { throw .unsupportedArchitecture(arch) }
        func int(_ key: String) throws(ModelError) -> Int {
            guard let v = md[hyperparameter: key] else { throw .missingMetadata("\(arch).\(key)") }
            guard let i = v.int, i > 0 else { throw .invalidMetadata(key: "\(arch).\(key)", reason: "must be a positive integer") }
            return i
        }
        func optionalInt(_ key: String) throws(ModelError) -> Int? {
            md[hyperparameter: key] == nil ? nil : try int(key)
        }
        func float(_ key: String) throws(ModelError) -> Float? {
            guard let v = md[hyperparameter: key] else { return nil }
            guard let f = v.float, f.isFinite else { throw .invalidMetadata(key: "\(arch).\(key)", reason: "must be a finite number") }
            return f
        }
        architecture = arch
        embeddingLength = try int("embedding_length")
        blockCount = try int("block_count")
        headCount = try int("attention.head_count")
        headCountKV = try optionalInt("attention.head_count_kv") ?? headCount
        guard headCount % headCountKV == 0 else {
            throw .invalidMetadata(key: "\(arch).attention.head_count_kv", reason: "(\(headCountKV)) must divide head_count (\(headCount))")
        }
        keyLength = try optionalInt("attention.key_length") ?? embeddingLength / headCount
        valueLength = try optionalInt("attention.value_length") ?? keyLength
        feedForwardLength = try int("feed_forward_length")
        trainedContextLength = try optionalInt("context_length") ?? 2048
        guard let embd = file.tensor(named: "token_embd.weight"), embd.shape.count == 2 else { throw .missingTensor("token_embd.weight") }
        vocabularySize = embd.shape[1]
        rmsEpsilon = try float("attention.layer_norm_rms_epsilon") ?? 1e-5
        ropeBase = try float("rope.freq_base") ?? 10000
        ropeDimensionCount = try optionalInt("rope.dimension_count") ?? keyLength
        guard ropeDimensionCount <= keyLength, ropeDimensionCount % 2 == 0 else {
            throw .invalidMetadata(key: "\(arch).rope.dimension_count", reason: "must be even and at most the head size")
        }
        ropeFrequencyScale = 1
        if md[hyperparameter: "rope.scaling.type"]?.string == "linear", let factor = try float("rope.scaling.factor"), factor > 0 {
            ropeFrequencyScale = 1 / factor
        }
        localRopeBase = ropeBase
        attentionScale = 1 / Float(keyLength).squareRoot()
        embeddingScale = 1

        switch arch {
        case "gemma3":
            // llama.cpp (llama-model.cpp, LLM_ARCH_GEMMA3): five sliding-window layers then one global,
            // local RoPE base 10000, NeoX RoPE, embeddings × √n_embd; q scaled by 1/√head_dim except
            // the 27B (62 layers), which uses 1/√(n_embd / n_head). No final logit soft-capping.
            slidingWindow = try int("attention.sliding_window")
            slidingWindowPeriod = 6
            localRopeBase = 10000
            ropeUsesHalves = true
            embeddingScale = Float(embeddingLength).squareRoot()
            if blockCount == 62 { attentionScale = 1 / Float(embeddingLength / headCount).squareRoot() }
        case "qwen2":
            // llama.cpp: LLM_ARCH_QWEN2 uses LLAMA_ROPE_TYPE_NEOX.
            ropeUsesHalves = true
            slidingWindow = nil
            slidingWindowPeriod = nil
        default:
            // llama.cpp: LLM_ARCH_LLAMA uses LLAMA_ROPE_TYPE_NORM (adjacent pairs; the converter
            // permutes q/k rows so this matches Hugging Face's rotate-half).
            ropeUsesHalves = false
            slidingWindow = nil
            slidingWindowPeriod = nil
        }
    }
}
