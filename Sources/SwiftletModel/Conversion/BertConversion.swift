import SwiftletGGUF

/// BERT encoders (`BertModel`, `BertForMaskedLM`): llama.cpp's `BertModel` conversion (conversion/bert.py),
/// for embedding models such as sentence-transformers/all-MiniLM-L6-v2.
public struct BertConversion: ConversionMapping {
    public static let architectures = ["BertModel", "BertForMaskedLM"]
    public let architecture = "bert"

    let folder: ModelFolder
    let blockCount: Int
    let hidden: Int
    let feedForward: Int
    let contextLength: Int
    let headCount: Int
    let layerNormEpsilon: Double
    let typeVocabularySize: Int
    let vocabulary: BertVocabulary
    /// `bert.pooling_type` from the sentence-transformers Pooling module (MEAN 1, CLS 2, LAST 3), if any.
    let poolingType: Int?

    public var warnings: [String] { vocabulary.warnings }

    public init(folder: ModelFolder) throws(ConversionError) {
        self.folder = folder
        let c = folder.config
        blockCount = try c.requiredInt("num_hidden_layers")
        hidden = try c.requiredInt("hidden_size")
        feedForward = try c.requiredInt("intermediate_size")
        headCount = try c.requiredInt("num_attention_heads")
        contextLength = try c.requiredInt("max_position_embeddings")
        layerNormEpsilon = try c.double("layer_norm_eps") ?? 1e-12
        typeVocabularySize = try c.int("type_vocab_size") ?? 1
        for (k, v) in [
            ("num_hidden_layers", blockCount), ("hidden_size", hidden), ("intermediate_size", feedForward),
            ("num_attention_heads", headCount), ("max_position_embeddings", contextLength),
        ] where v <= 0 {
            throw .invalidConfig(file: "config.json", key: k, reason: "must be positive")
        }
        guard hidden % headCount == 0 else {
            throw .invalidConfig(
                file: "config.json", key: "hidden_size", reason: "is not a multiple of num_attention_heads")
        }
        vocabulary = try BertVocabulary(folder: folder, vocabularySize: c.int("vocab_size"))
        poolingType = try BertConversion.pooling(folder)
    }

    /// llama.cpp's `_try_set_pooling_type`: the Pooling module named in `modules.json`, its config's mode.
    static func pooling(_ folder: ModelFolder) throws(ConversionError) -> Int? {
        guard folder.has("modules.json") else { return nil }
        let modules = try folder.array("modules.json")
        guard let path = modules.first(where: { ($0["type"]?.string ?? "").hasSuffix("Pooling") })?["path"]?.string
        else {
            return nil
        }
        let file = path.isEmpty ? "config.json" : path + "/config.json"
        let p = try folder.object(file)
        if p.bool("pooling_mode_mean_tokens") == true { return 1 }
        if p.bool("pooling_mode_cls_token") == true { return 2 }
        if p.bool("pooling_mode_lasttoken") == true { return 3 }
        switch p.string("pooling_mode") {
        case "mean": return 1
        case "cls": return 2
        case "lasttoken": return 3
        default: throw .invalidConfig(file: file, key: "pooling_mode", reason: "is not MEAN, CLS or LAST pooling")
        }
    }

    public func metadata(fileType: Int) throws(ConversionError) -> [(String, GGUFValue)] {
        var m: [(String, GGUFValue)] = [
            ("bert.block_count", .uint32(UInt32(blockCount))),
            ("bert.context_length", .uint32(UInt32(contextLength))),
            ("bert.embedding_length", .uint32(UInt32(hidden))),
            ("bert.feed_forward_length", .uint32(UInt32(feedForward))),
            ("bert.attention.head_count", .uint32(UInt32(headCount))),
            ("bert.attention.layer_norm_epsilon", .float32(Float(layerNormEpsilon))),
            ("general.file_type", .uint32(UInt32(fileType))),
            ("bert.attention.causal", .bool(false)),
        ]
        if let p = poolingType { m.append(("bert.pooling_type", .uint32(UInt32(p)))) }
        m.append(("general.quantization_version", .uint32(2)))
        m.append(("tokenizer.ggml.token_type_count", .uint32(UInt32(typeVocabularySize))))
        m += try vocabulary.metadata()
        return m
    }

    public func ggufName(_ original: String) throws(ConversionError) -> String? {
        // conversion/bert.py filter_tensors: drop a "bert." prefix, gamma/beta are weight/bias, no pooler or heads.
        var name = original
        if name.hasPrefix("bert.") { name = String(name.dropFirst(5)) }
        if name.hasSuffix(".gamma") { name = String(name.dropLast(6)) + ".weight" }
        if name.hasSuffix(".beta") { name = String(name.dropLast(5)) + ".bias" }
        if ["embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"].contains(name)
            || name.hasPrefix("cls.predictions") || name.hasPrefix("cls.seq_relationship")
        {
            return nil
        }
        let suffix: String
        if name.hasSuffix(".weight") {
            suffix = ".weight"
        } else if name.hasSuffix(".bias") {
            suffix = ".bias"
        } else {
            throw .unexpectedTensor(original)
        }
        let base = String(name.dropLast(suffix.count))
        let embeddings = [
            "embeddings.word_embeddings": "token_embd", "embeddings.token_type_embeddings": "token_types",
            "embeddings.position_embeddings": "position_embd", "embeddings.LayerNorm": "token_embd_norm",
        ]
        if let g = embeddings[base] { return g + suffix }
        let parts = base.split(separator: ".", maxSplits: 3).map(String.init)
        guard parts.count == 4, parts[0] == "encoder", parts[1] == "layer", let block = Int(parts[2]),
            block >= 0, block < blockCount
        else { throw .unexpectedTensor(original) }
        let layer = [
            "attention.self.query": "attn_q", "attention.self.key": "attn_k", "attention.self.value": "attn_v",
            "attention.output.dense": "attn_output", "attention.output.LayerNorm": "attn_output_norm",
            "intermediate.dense": "ffn_up", "output.dense": "ffn_down", "output.LayerNorm": "layer_output_norm",
        ]
        guard let g = layer[parts[3]] else { throw .unexpectedTensor(original) }
        return "blk.\(block).\(g)\(suffix)"
    }

    public func expectedTensors() -> [(name: String, shape: [Int])] {
        let h = hidden
        let ff = feedForward
        var t: [(String, [Int])] = [
            ("token_embd.weight", [vocabulary.size, h]), ("token_types.weight", [typeVocabularySize, h]),
            ("position_embd.weight", [contextLength, h]),
            ("token_embd_norm.weight", [h]), ("token_embd_norm.bias", [h]),
        ]
        for b in 0..<blockCount {
            let p = "blk.\(b)."
            for n in ["attn_q", "attn_k", "attn_v", "attn_output"] {
                t += [(p + n + ".weight", [h, h]), (p + n + ".bias", [h])]
            }
            t += [
                (p + "ffn_up.weight", [ff, h]), (p + "ffn_up.bias", [ff]), (p + "ffn_down.weight", [h, ff]),
                (p + "ffn_down.bias", [h]),
            ]
            for n in ["attn_output_norm", "layer_output_norm"] {
                t += [(p + n + ".weight", [h]), (p + n + ".bias", [h])]
            }
        }
        return t
    }

    public func keepsF32(_ name: String) -> Bool { name == "position_embd.weight" || name == "token_types.weight" }
}
