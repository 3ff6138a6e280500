import Foundation
import SwiftletGGUF
import SwiftletModel
import SwiftletTestSupport
import SwiftletTokenizer
import Testing

/// `ModelConversion` on a tiny BERT folder made here, on broken folders, and on all-MiniLM-L6-v2 when
/// `Scripts/fetch-models.sh minilm` has fetched it.
@Suite struct ConversionTests {
    static let miniLM = TestPaths.modelsDirectory.appendingPathComponent("all-MiniLM-L6-v2").path
    static var hasMiniLM: Bool { FileManager.default.fileExists(atPath: miniLM + "/model.safetensors") }

    /// A safetensors file of F32 tensors.
    static func safetensors(_ tensors: [(String, [Int])], skip: Set<String> = [], dtype: String = "F32") -> [UInt8] {
        var header: [String] = []
        var data: [UInt8] = []
        var seed: UInt32 = 1
        for (name, shape) in tensors where !skip.contains(name) {
            let n = shape.reduce(1, *)
            let begin = data.count
            for _ in 0..<n {
                seed = seed &* 1_664_525 &+ 1_013_904_223
                let v = Float(Int32(bitPattern: seed) >> 8) / Float(1 << 23)
                withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) }
            }
            header.append(
                "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(begin),\(data.count)]}")
        }
        let h = Array(("{\"__metadata__\":{\"format\":\"pt\"}," + header.joined(separator: ",") + "}").utf8)
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(h.count).littleEndian) { out.append(contentsOf: $0) }
        return out + h + data
    }

    static let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s", ",", "!"]

    /// A one-layer BERT folder (hidden 32, feed-forward 64, 10 tokens) with a sentence-transformers pooling.
    static func tinyFolder(
        config: String? = nil, skip: Set<String> = [], extra: [(String, [Int])] = [], safetensorsBytes: [UInt8]? = nil
    ) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-bert-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir + "/1_Pooling", withIntermediateDirectories: true)
        let cfg =
            config ?? """
                {"architectures":["BertModel"],"hidden_size":32,"intermediate_size":64,"num_hidden_layers":1,
                 "num_attention_heads":2,"max_position_embeddings":8,"type_vocab_size":2,"vocab_size":10,
                 "layer_norm_eps":1e-12,"pad_token_id":0}
                """
        try cfg.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        try (vocab.joined(separator: "\n") + "\n").write(
            toFile: dir + "/vocab.txt", atomically: true, encoding: .utf8)
        try
            #"{"cls_token":"[CLS]","sep_token":"[SEP]","unk_token":"[UNK]","pad_token":"[PAD]","mask_token":"[MASK]"}"#
            .write(toFile: dir + "/tokenizer_config.json", atomically: true, encoding: .utf8)
        try #"[{"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"}]"#
            .write(toFile: dir + "/modules.json", atomically: true, encoding: .utf8)
        try #"{"pooling_mode_cls_token":true,"pooling_mode_mean_tokens":false}"#
            .write(toFile: dir + "/1_Pooling/config.json", atomically: true, encoding: .utf8)
        var tensors: [(String, [Int])] = [
            ("embeddings.word_embeddings.weight", [10, 32]), ("embeddings.position_embeddings.weight", [8, 32]),
            ("embeddings.token_type_embeddings.weight", [2, 32]), ("embeddings.LayerNorm.weight", [32]),
            ("embeddings.LayerNorm.bias", [32]), ("pooler.dense.weight", [32, 32]), ("pooler.dense.bias", [32]),
        ]
        let p = "encoder.layer.0."
        for n in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"] {
            tensors += [(p + n + ".weight", [32, 32]), (p + n + ".bias", [32])]
        }
        tensors += [
            (p + "intermediate.dense.weight", [64, 32]), (p + "intermediate.dense.bias", [64]),
            (p + "output.dense.weight", [32, 64]), (p + "output.dense.bias", [32]),
        ]
        for n in ["attention.output.LayerNorm", "output.LayerNorm"] {
            tensors += [(p + n + ".weight", [32]), (p + n + ".bias", [32])]
        }
        let bytes = safetensorsBytes ?? safetensors(tensors + extra, skip: skip)
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/model.safetensors"))
        return dir
    }

    static func convertError(_ folder: String, type: GGMLType = .f16) -> (ConversionError?, leftovers: [String]) {
        let out = folder + "-out.gguf"
        var error: ConversionError?
        do { try ModelConversion.convert(folder: folder, to: out, type: type) } catch let e { error = e }
        let parent = URL(fileURLWithPath: folder).deletingLastPathComponent().path
        let name = URL(fileURLWithPath: out).lastPathComponent
        let left = ((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []).filter {
            $0.hasPrefix(name)
        }
        return (error, left)
    }

    @Test func tinyFolderConverts() throws {
        let dir = try Self.tinyFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for type in [GGMLType.f32, .f16, .q8_0] {
            let out = dir + "/out-\(type.name).gguf"
            let summary = try ModelConversion.convert(folder: dir, to: out, type: type)
            #expect(summary.architecture == "bert" && summary.tensorCount == 21)
            let f = try GGUFFile(path: out)
            let m = f.metadata
            #expect(m.architecture == "bert")
            #expect(m["bert.block_count"]?.int == 1 && m["bert.embedding_length"]?.int == 32)
            #expect(m["bert.feed_forward_length"]?.int == 64 && m["bert.attention.head_count"]?.int == 2)
            #expect(m["bert.context_length"]?.int == 8 && m["bert.attention.causal"]?.bool == false)
            #expect(m["bert.pooling_type"]?.int == 2)  // CLS
            #expect(m["general.file_type"]?.int == ModelConversion.fileTypes[type])
            #expect(m["tokenizer.ggml.token_type_count"]?.int == 2)
            #expect(
                m["tokenizer.ggml.tokens"]?.typedArray?.strings == [
                    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "\u{2581}hello", "\u{2581}world", "s", "\u{2581},",
                    "\u{2581}!",
                ])
            #expect(m["tokenizer.ggml.bos_token_id"]?.int == 2 && m["tokenizer.ggml.seperator_token_id"]?.int == 3)
            #expect(m["tokenizer.ggml.pre"]?.string == "default")
            #expect(f.tensors.count == 21 && f.tensor(named: "pooler.dense.weight") == nil)
            #expect(f.tensor(named: "token_embd.weight")?.shape == [32, 10])
            #expect(f.tensor(named: "token_embd.weight")?.type == type)
            #expect(f.tensor(named: "position_embd.weight")?.type == .f32)
            #expect(f.tensor(named: "blk.0.ffn_up.weight")?.shape == [32, 64])
            #expect(f.tensor(named: "blk.0.ffn_down.weight")?.type == type)
            #expect(f.tensor(named: "blk.0.attn_output_norm.weight")?.type == .f32)
            // The tokenizer reads the converted vocabulary.
            let t = try Tokenizer(metadata: m)
            #expect(t.encode("Hello, worlds!") == [2, 5, 8, 6, 7, 9, 3])
        }
    }

    @Test func badFoldersAreClearErrorsAndLeaveNoFile() throws {
        // No folder at all.
        #expect(Self.convertError("/nonexistent/swiftlet").0 == .notADirectory("/nonexistent/swiftlet"))
        // No config.json.
        let noConfig = try Self.tinyFolder()
        try FileManager.default.removeItem(atPath: noConfig + "/config.json")
        var (e, left) = Self.convertError(noConfig)
        #expect(e == .missingFile("config.json") && left.isEmpty)
        // An architecture without a mapping.
        let llama = try Self.tinyFolder(config: #"{"architectures":["LlamaForCausalLM"]}"#)
        (e, left) = Self.convertError(llama)
        #expect(
            e == .unsupportedArchitecture(["LlamaForCausalLM"], supported: ["BertModel", "BertForMaskedLM"])
                && left.isEmpty)
        // A missing tensor, an unknown tensor, a wrong shape.
        let missing = try Self.tinyFolder(skip: ["encoder.layer.0.output.dense.bias"])
        (e, left) = Self.convertError(missing)
        #expect(e == .missingTensor("blk.0.ffn_down.bias") && left.isEmpty)
        let unknown = try Self.tinyFolder(extra: [("encoder.layer.0.attention.self.rotary.weight", [4])])
        (e, _) = Self.convertError(unknown)
        #expect(e == .unexpectedTensor("encoder.layer.0.attention.self.rotary.weight"))
        // Broken safetensors.
        let broken = try Self.tinyFolder(safetensorsBytes: [1, 0, 0, 0, 0, 0, 0, 0, 0x7B])
        (e, left) = Self.convertError(broken)
        if case .safetensors(let file, _)? = e {
            #expect(file == "model.safetensors")
        } else {
            Issue.record("got \(String(describing: e))")
        }
        #expect(left.isEmpty)
        // Every message is one readable line.
        #expect(ConversionError.missingFile("config.json").description == "the model folder has no config.json")
        for d in [noConfig, llama, missing, unknown, broken] { try? FileManager.default.removeItem(atPath: d) }
    }

    @Test(.enabled(if: hasMiniLM, "all-MiniLM-L6-v2 is missing: run Scripts/fetch-models.sh minilm"))
    func miniLMConverts() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-minilm-\(UUID()).gguf").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        try ModelConversion.convert(folder: Self.miniLM, to: out, type: .q8_0)
        let f = try GGUFFile(path: out)
        let m = f.metadata
        let expected: [(String, GGUFValue)] = [
            ("general.architecture", .string("bert")), ("bert.block_count", .uint32(6)),
            ("bert.context_length", .uint32(512)), ("bert.embedding_length", .uint32(384)),
            ("bert.feed_forward_length", .uint32(1536)), ("bert.attention.head_count", .uint32(12)),
            ("bert.attention.layer_norm_epsilon", .float32(1e-12)), ("general.file_type", .uint32(7)),
            ("bert.attention.causal", .bool(false)), ("bert.pooling_type", .uint32(1)),
            ("general.quantization_version", .uint32(2)), ("tokenizer.ggml.token_type_count", .uint32(2)),
            ("tokenizer.ggml.model", .string("bert")), ("tokenizer.ggml.pre", .string("jina-v2-en")),
            ("tokenizer.ggml.bos_token_id", .uint32(101)), ("tokenizer.ggml.eos_token_id", .uint32(102)),
            ("tokenizer.ggml.unknown_token_id", .uint32(100)), ("tokenizer.ggml.seperator_token_id", .uint32(102)),
            ("tokenizer.ggml.padding_token_id", .uint32(0)), ("tokenizer.ggml.mask_token_id", .uint32(103)),
            ("tokenizer.ggml.add_bos_token", .bool(true)), ("tokenizer.ggml.add_eos_token", .bool(true)),
            ("tokenizer.ggml.add_sep_token", .bool(false)), ("tokenizer.ggml.normalizer.lowercase", .bool(true)),
        ]
        for (k, v) in expected { #expect(m[k] == v, "\(k)") }
        #expect(m["tokenizer.ggml.tokens"]?.typedArray?.count == 30522)
        #expect(f.tensors.count == 5 + 6 * 16)
        #expect(f.tensor(named: "token_embd.weight")?.shape == [384, 30522])
        #expect(f.tensor(named: "token_embd.weight")?.type == .q8_0)
        #expect(f.tensor(named: "token_types.weight")?.type == .f32)
        #expect(f.tensor(named: "blk.5.ffn_up.weight")?.shape == [384, 1536])
        #expect(f.tensor(named: "blk.5.layer_output_norm.bias")?.type == .f32)
        let t = try Tokenizer(metadata: m)
        #expect(t.encode("Hello, world!") == [101, 7592, 1010, 2088, 999, 102])
    }
}
