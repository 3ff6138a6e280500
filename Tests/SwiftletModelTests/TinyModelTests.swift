import Foundation
import Testing
import SwiftletTestSupport
import SwiftletGGUF
import SwiftletKVCache
import SwiftletModel

/// All logits of `tokens` evaluated from an empty cache, in batches of `batchSize`.
func allLogits(_ model: Transformer, _ tokens: [Int], batchSize: Int? = nil, storage: KVStorageType = .f16) throws -> [[Float]] {
    let cache = try model.makeCache(context: max(64, tokens.count), storage: storage)
    var rows: [[Float]] = []
    try model.evaluate(tokens, cache: cache, logitRows: 0..<tokens.count, batchSize: batchSize) { _, l in rows.append(Array(l)) }
    return rows
}

func maxAbsDifference(_ a: [[Float]], _ b: [[Float]]) -> Float {
    zip(a, b).map { zip($0, $1).map { abs($0 - $1) }.max() ?? 0 }.max() ?? .infinity
}

@Suite struct TinyModelTests {
    let tokens = [1, 17, 200, 33, 5, 99, 140, 7, 64, 250, 3, 12]

    @Test(arguments: ["tiny-llama-f32.gguf", "tiny-llama-f16.gguf", "tiny-llama-q8_0.gguf", "tiny-llama-q4_0.gguf", "tiny-llama-q4_1.gguf"])
    func batchedAndOneTokenPathsAgree(fixture: String) throws {
        let model = try Transformer(path: TestPaths.fixtures.appendingPathComponent(fixture).path, threads: 2)
        #expect(model.config.architecture == "llama")
        #expect(model.config.headCountKV == 2)
        let batched = try allLogits(model, tokens)
        let single = try allLogits(model, tokens, batchSize: 1)
        let mixed = try allLogits(model, tokens, batchSize: 5)
        #expect(batched.count == tokens.count && batched[0].count == model.config.vocabularySize)
        // F16 and F32 weights sum batches in tinyBLAS's order and single tokens in ggml_vec_dot_f16's
        // or ggml_vec_dot_f32's (as llama.cpp does). The F16 rounding in the KV cache and the next
        // layer's activations turns such last-bit differences into steps of one F16 rounding, 2⁻¹¹
        // relative. Allowed: two such steps of the largest logit.
        let largest = single.flatMap { $0 }.map(abs).max() ?? 0
        let tolerance: Float = fixture.contains("f16") || fixture.contains("f32") ? 2 * 0x1p-11 * max(1, largest) : 1e-4
        #expect(maxAbsDifference(batched, single) < tolerance)
        #expect(maxAbsDifference(batched, mixed) < tolerance)
        #expect(batched.allSatisfy { $0.allSatisfy(\.isFinite) })
        // Distinct contexts give distinct logits (the forward pass is not ignoring its input).
        #expect(maxAbsDifference([batched[3]], [batched[4]]) > 1e-3)
    }

    /// Batches of 64 tokens or more take the tiled attention (llama.cpp's); on F32 weights and an F32
    /// cache it must give the one-token path's logits up to float rounding.
    @Test func longBatchAttentionMatchesOneTokenPath() throws {
        let model = try Transformer(path: TestPaths.fixtures.appendingPathComponent("tiny-llama-f32.gguf").path)
        let long = (0..<75).map { ($0 * 37 + 11) % model.config.vocabularySize }
        let batched = try allLogits(model, long, storage: .f32)
        let single = try allLogits(model, long, batchSize: 1, storage: .f32)
        let chunked = try allLogits(model, long, batchSize: 40, storage: .f32)
        #expect(maxAbsDifference(batched, single) < 1e-4)
        #expect(maxAbsDifference(chunked, single) < 1e-4)
        // Only the last row asked for, from a prompt longer than one batch.
        let cache = try model.makeCache(context: 128, maxBatch: 16, storage: .f32)
        let last = try model.forward(long, cache: cache)
        #expect(maxAbsDifference([last], [single.last!]) < 1e-4)
    }

    @Test func continuingFromACacheMatchesOneBatch() throws {
        let model = try Transformer(path: TestPaths.fixtures.appendingPathComponent("tiny-llama-f32.gguf").path)
        let whole = try allLogits(model, tokens, storage: .f32)
        let cache = try model.makeCache(context: 64, storage: .f32)
        _ = try model.forward(Array(tokens[0..<7]), cache: cache)
        var rest: [[Float]] = []
        try model.evaluate(Array(tokens[7...]), cache: cache, logitRows: 0..<5) { _, l in rest.append(Array(l)) }
        #expect(maxAbsDifference(Array(whole[7...]), rest) < 1e-4)
        #expect(cache.count == tokens.count)
        // Truncate and re-evaluate: same logits again (the rollback path).
        try cache.truncate(to: 7)
        let again = try model.forward(Array(tokens[7...]), cache: cache)
        #expect(maxAbsDifference([again], [whole.last!]) < 1e-4)
    }

    @Test func badInputsAreTypedErrors() throws {
        let model = try Transformer(path: TestPaths.fixtures.appendingPathComponent("tiny-llama-f32.gguf").path)
        let cache = try model.makeCache(context: 8)
        #expect(throws: ModelError.self) { _ = try model.forward([], cache: cache) }
        #expect(throws: ModelError.self) { _ = try model.forward([100_000], cache: cache) }
        #expect(throws: ModelError.self) { _ = try model.forward(Array(repeating: 1, count: 9), cache: cache) }
        #expect(cache.count == 0)
    }

    @Test func missingOrMisshapenTensorIsNamed() throws {
        let file = try GGUFFile(path: TestPaths.fixtures.appendingPathComponent("tiny-llama-f32.gguf").path)
        var writer = GGUFWriter(version: file.version, metadata: file.metadata)
        for t in file.tensors where t.name != "blk.1.ffn_up.weight" {
            let shape = t.name == "blk.0.attn_k.weight" ? [t.shape[0], t.shape[1] / 2] : t.shape
            let data = file.tensorData(t)
            try writer.addTensor(name: t.name, shape: shape, type: t.type, data: data.prefix(GGUFTensorInfo(name: t.name, shape: shape, type: t.type, offset: 0).byteCount))
        }
        let broken = try GGUFFile(bytes: writer.serialize())
        do {
            _ = try Transformer(file: broken)
            Issue.record("loaded a model with a mis-shaped tensor")
        } catch {
            #expect("\(error)".contains("blk.0.attn_k.weight"))
        }
    }

    /// Scratch memory follows the largest pass, not every shape a pass ever had: after a long context the
    /// workspace of a short one is freed, so a run over short and long contexts holds one workspace.
    @Test func workspacesCoveredByALargerOneAreFreed() throws {
        let path = TestPaths.fixtures.appendingPathComponent("tiny-llama-q8_0.gguf").path
        let model = try Transformer(path: path, threads: 2)
        #expect(model.workspaceBytes == 0)
        _ = try model.forward(tokens, cache: try model.makeCache(context: 64))
        let short = model.workspaceBytes
        #expect(short > 0)
        _ = try model.forward(tokens, cache: try model.makeCache(context: 512))
        let long = model.workspaceBytes
        #expect(long > short)
        // The long context's workspace serves the short one again: nothing new, nothing kept beside it.
        _ = try model.forward(tokens, cache: try model.makeCache(context: 64))
        _ = try model.forward([5], cache: try model.makeCache(context: 64))
        #expect(model.workspaceBytes == long)
    }

    /// An architecture missing from the registry is refused with the registry's list; a missing
    /// architecture-specific key is named.
    @Test func unknownArchitectureListsTheSupportedOnes() throws {
        let file = try GGUFFile(path: TestPaths.fixtures.appendingPathComponent("tiny-llama-f32.gguf").path)
        #expect(supportedArchitectures == ["bert", "gemma2", "gemma3", "llama", "phi3", "qwen2", "qwen3", "qwen3moe"])
        func renamed(_ arch: String) throws -> GGUFFile {
            var metadata = file.metadata
            for (key, value) in file.metadata.entries where key.hasPrefix("llama.") {
                metadata[arch + key.dropFirst("llama".count)] = value
            }
            metadata["general.architecture"] = .string(arch)
            var writer = GGUFWriter(version: file.version, metadata: metadata)
            for t in file.tensors { try writer.addTensor(name: t.name, shape: t.shape, type: t.type, data: file.tensorData(t)) }
            return try GGUFFile(bytes: writer.serialize())
        }
        do {
            _ = try Transformer(file: try renamed("mamba9"))
            Issue.record("loaded an unknown architecture")
        } catch {
            #expect("\(error)" == "unsupported model architecture 'mamba9' (supported: \(supportedArchitectures.joined(separator: ", ")))")
        }
        do {
            _ = try Transformer(file: try renamed("qwen3moe"))
            Issue.record("loaded a mixture of experts without expert counts")
        } catch {
            #expect("\(error)".contains("qwen3moe.expert_count"))
        }
        // The same weights under Qwen 2's name load and run (NeoX RoPE instead of llama's pairs).
        let qwen2 = try Transformer(file: try renamed("qwen2"))
        let llama = try Transformer(file: file)
        #expect(qwen2.config.ropeStyle == .neox && llama.config.ropeStyle == .normal)
        let a = try allLogits(qwen2, tokens), b = try allLogits(llama, tokens)
        #expect(a[0] == b[0])   // position 0: RoPE is the identity
        #expect(maxAbsDifference(a, b) > 1e-3)
    }
}

/// A sequence kept between requests: the longest reusable prefix, and a repeated prompt's saved logits.
@Suite struct SequenceStateTests {
    @Test func reusesPrefixesAndSavedLogits() throws {
        let model = try Transformer(path: TestPaths.fixtures.appendingPathComponent("tiny-llama-f16.gguf").path, threads: 2)
        let sequence = SequenceState(cache: try model.makeCache(context: 64))
        let prompt = [1, 17, 200, 33, 5, 99]
        #expect(sequence.reuse(for: prompt) == (0, nil))
        let first = try sequence.evaluate(prompt, model: model, completing: prompt)
        _ = try sequence.evaluate([7, 8], model: model)      // a reply the cache now holds too
        #expect(sequence.tokens == prompt + [7, 8])

        // The same prompt again: nothing to evaluate, and exactly the logits of the first time.
        let again = sequence.reuse(for: prompt)
        #expect(again.cached == prompt.count && again.logits == first)
        #expect(sequence.tokens == prompt && sequence.cache.count == prompt.count)

        // A longer prompt keeps the shared prefix; a shorter one leaves its last token to evaluate.
        #expect(sequence.reuse(for: prompt + [40, 41]) == (prompt.count, nil))
        #expect(sequence.reuse(for: Array(prompt.prefix(3))) == (2, nil))
        #expect(sequence.tokens == Array(prompt.prefix(2)))
        sequence.reset()
        #expect(sequence.tokens.isEmpty && sequence.cache.count == 0)
    }
}
