import Foundation
import Testing
import SwiftletTestSupport
import SwiftletModel
import SwiftletGGUF

/// Sentence embeddings of all-MiniLM-L6-v2 (a BERT encoder) against two independent references for the
/// same token ids: a numpy float64 forward pass over the Hugging Face safetensors
/// (Fixtures/embeddings/minilm-reference.json, Scripts/record-embedding-references.py) and llama.cpp's
/// `llama-embedding` on the F32 GGUF (Fixtures/embeddings/minilm-llamacpp-f32.json). The models are the
/// converted GGUFs (TestPaths.minilm: in $SWIFTLET_MODELS, or converted from the folder
/// `Scripts/fetch-models.sh minilm` fetches); the tests are disabled without either.
struct EmbeddingReference: Decodable, Sendable {
    struct Input: Decodable, Sendable {
        let text: String
        let tokens: [Int]
        let embedding: [Float]
        let cls_embedding: [Float]?
        let last_embedding: [Float]?
    }
    let inputs: [Input]

    static func load(_ name: String) throws -> EmbeddingReference {
        let url = TestPaths.fixtures.appendingPathComponent("embeddings/\(name)")
        return try JSONDecoder().decode(EmbeddingReference.self, from: Data(contentsOf: url))
    }
}

func cosine(_ a: [Float], _ b: [Float]) -> Double {
    var ab = 0.0, aa = 0.0, bb = 0.0
    for (x, y) in zip(a, b) { ab += Double(x) * Double(y); aa += Double(x) * Double(x); bb += Double(y) * Double(y) }
    return ab / (aa.squareRoot() * bb.squareRoot())
}

@Suite(.serialized) struct EmbeddingTests {
    static let hasF32 = TestPaths.hasMiniLM
    static let reason: Comment = "all-MiniLM-L6-v2 is not in $SWIFTLET_MODELS: run Scripts/fetch-models.sh minilm"

    func model(_ type: String) throws -> Transformer {
        try Transformer(path: try #require(TestPaths.minilm(type)), threads: 2)
    }

    @Test(.enabled(if: hasF32, reason), arguments: [("f32", 0.9999), ("f16", 0.9995), ("q8_0", 0.999)])
    func matchesNumpyReference(type: String, minimum: Double) throws {
        guard TestPaths.minilm(type) != nil else { return }
        let m = try model(type)
        #expect(m.isEncoder)
        #expect(m.embeddingSize == 384)
        #expect(m.config.pooling == .mean)
        for input in try EmbeddingReference.load("minilm-reference.json").inputs {
            let v = try m.embed(input.tokens)
            #expect(v.count == 384)
            let c = cosine(v, input.embedding)
            #expect(c >= minimum, "\(type) '\(input.text)': cosine \(c)")
            let norm = v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(abs(norm - 1) < 1e-5)
        }
    }

    @Test(.enabled(if: hasF32, reason))
    func matchesLlamaCpp() throws {
        let m = try model("f32")
        for input in try EmbeddingReference.load("minilm-llamacpp-f32.json").inputs {
            let c = cosine(try m.embed(input.tokens), input.embedding)
            #expect(c >= 0.9999, "'\(input.text)': cosine \(c) to llama-embedding")
        }
    }

    /// Inputs of different lengths evaluated together give each exactly (to the bit) its vector alone,
    /// in any order.
    @Test(.enabled(if: hasF32, reason))
    func batchEqualsEachAlone() throws {
        for type in ["f32", "q8_0"] where TestPaths.minilm(type) != nil {
            let m = try model(type)
            let inputs = try EmbeddingReference.load("minilm-reference.json").inputs.map(\.tokens)
            let alone = try inputs.map { try m.embed($0) }
            #expect(try m.embed(batch: inputs) == alone)
            #expect(try m.embed(batch: inputs.reversed()) == Array(alone.reversed()))
            #expect(try m.embed(batch: [inputs[4], inputs[0], inputs[4]]) == [alone[4], alone[0], alone[4]])
        }
    }

    @Test(.enabled(if: hasF32, reason))
    func refusesWhatItCannotEmbed() throws {
        let m = try model("f32")
        let tooLong = [101] + Array(repeating: 1996, count: 511) + [102]
        #expect(throws: ModelError.self) { try m.embed(tooLong) }
        do { _ = try m.embed(tooLong) } catch {
            #expect(error.description.contains("513 tokens"))
            #expect(error.description.contains("512"))
        }
        #expect(try m.embed(Array(tooLong.dropLast())).count == 384)
        #expect(throws: ModelError.self) { try m.embed([]) }
        #expect(throws: ModelError.self) { try m.embed([101, 30522, 102]) }
        // An encoder has no KV cache decoding: a clear error, not a crash.
        let cache = try m.makeCache(context: 64)
        do { _ = try m.forward([101, 102], cache: cache); Issue.record("forward on an encoder did not throw") } catch {
            #expect("\(error)".contains("embedding"))
        }
    }

    /// The Q8_0 file rewritten with other metadata or without a tensor (a temporary file).
    func variant(_ name: String, metadata changes: [String: GGUFValue] = [:], dropping: String? = nil) throws -> String {
        let file = try GGUFFile(path: try #require(TestPaths.minilm("q8_0")))
        var metadata = file.metadata
        for (key, value) in changes { metadata[key] = value }
        var writer = GGUFWriter(version: file.version, metadata: metadata)
        for t in file.tensors where t.name != dropping {
            try writer.addTensor(name: t.name, shape: t.shape, type: t.type, data: file.tensorData(t))
        }
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("swiftlet-minilm-\(name)-\(ProcessInfo.processInfo.processIdentifier).gguf").path
        try writer.write(to: path)
        return path
    }

    /// `bert.pooling_type` CLS (2) and LAST (3) pool the first and the last token's state (numpy's, to Q8_0's
    /// tolerance); NONE (0) gives no single vector and says so.
    @Test(.enabled(if: hasF32, reason))
    func poolingTypeFromTheFile() throws {
        let input = try EmbeddingReference.load("minilm-reference.json").inputs[1]
        for (type, expected) in [(2, input.cls_embedding), (3, input.last_embedding)] {
            let path = try variant("pool\(type)", metadata: ["bert.pooling_type": .uint32(UInt32(type))])
            defer { try? FileManager.default.removeItem(atPath: path) }
            let m = try Transformer(path: path, threads: 2)
            #expect(m.config.pooling == PoolingType(rawValue: type))
            let c = cosine(try m.embed(input.tokens), try #require(expected))
            #expect(c >= 0.999, "pooling \(type): cosine \(c)")
        }
        let path = try variant("pool0", metadata: ["bert.pooling_type": .uint32(0)])
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: ModelError.self) { try Transformer(path: path, threads: 2).embed(input.tokens) }
    }

    /// A missing weight or key is a load error naming it.
    @Test(.enabled(if: hasF32, reason))
    func missingPiecesAreNamed() throws {
        for (name, metadata, dropped, expected) in [
            ("nobias", [:], "blk.3.layer_output_norm.bias", "blk.3.layer_output_norm.bias"),
            ("nopos", [:], "position_embd.weight", "position_embd.weight"),
            ("noeps", ["bert.attention.layer_norm_epsilon": GGUFValue.float32(.nan)], nil,
             "bert.attention.layer_norm_epsilon"),
        ] as [(String, [String: GGUFValue], String?, String)] {
            let path = try variant(name, metadata: metadata, dropping: dropped)
            defer { try? FileManager.default.removeItem(atPath: path) }
            do {
                _ = try Transformer(path: path, threads: 2)
                Issue.record("\(name) loaded")
            } catch {
                #expect("\(error)".contains(expected), "\(error)")
            }
        }
    }

    @Test func decoderIsNotAnEncoder() throws {
        let m = try Transformer(path: TestPaths.fixtures.appendingPathComponent("tiny-llama-f32.gguf").path)
        #expect(!m.isEncoder)
        #expect(throws: ModelError.self) { try m.embed([1, 2, 3]) }
    }
}
