import Foundation
import Testing
import SwiftletGGUF
import SwiftletKVCache
import SwiftletModel

/// A random tiny Gemma 3 (7 layers, so layers 5 global and the rest sliding, window 4) built in memory,
/// to exercise the sliding-window ring, the local/global RoPE bases and the batched paths.
func tinyGemma3() throws -> GGUFFile {
    let dim = 32, heads = 2, kv = 1, hd = 16, ff = 48, vocab = 40, layers = 7
    var md = GGUFMetadata()
    md["general.architecture"] = .string("gemma3")
    md["gemma3.embedding_length"] = .uint32(UInt32(dim))
    md["gemma3.block_count"] = .uint32(UInt32(layers))
    md["gemma3.feed_forward_length"] = .uint32(UInt32(ff))
    md["gemma3.attention.head_count"] = .uint32(UInt32(heads))
    md["gemma3.attention.head_count_kv"] = .uint32(UInt32(kv))
    md["gemma3.attention.key_length"] = .uint32(UInt32(hd))
    md["gemma3.attention.value_length"] = .uint32(UInt32(hd))
    md["gemma3.attention.layer_norm_rms_epsilon"] = .float32(1e-6)
    md["gemma3.rope.freq_base"] = .float32(1_000_000)
    md["gemma3.attention.sliding_window"] = .uint32(4)
    md["gemma3.context_length"] = .uint32(64)
    var w = GGUFWriter(metadata: md)
    var state: UInt64 = 42
    func random(_ n: Int, scale: Float = 0.3, offset: Float = 0) -> [Float] {
        (0..<n).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return offset + scale * (Float(state >> 40) / Float(1 << 24) * 2 - 1)
        }
    }
    try w.addTensor(name: "token_embd.weight", shape: [dim, vocab], floats: random(dim * vocab, scale: 1))
    try w.addTensor(name: "output_norm.weight", shape: [dim], floats: random(dim, scale: 0.1, offset: 1))
    for l in 0..<layers {
        let p = "blk.\(l)."
        for (name, shape) in [("attn_q", [dim, heads * hd]), ("attn_k", [dim, kv * hd]), ("attn_v", [dim, kv * hd]),
                              ("attn_output", [heads * hd, dim]), ("ffn_gate", [dim, ff]), ("ffn_up", [dim, ff]), ("ffn_down", [ff, dim])] {
            try w.addTensor(name: p + name + ".weight", shape: shape, floats: random(shape[0] * shape[1]))
        }
        for (name, n) in [("attn_norm", dim), ("attn_q_norm", hd), ("attn_k_norm", hd), ("post_attention_norm", dim),
                          ("ffn_norm", dim), ("post_ffw_norm", dim)] {
            try w.addTensor(name: p + name + ".weight", shape: [n], floats: random(n, scale: 0.1, offset: 1))
        }
    }
    return try GGUFFile(bytes: w.serialize())
}

@Suite struct TinyGemma3Tests {
    @Test func slidingWindowPatternAndPaths() throws {
        let model = try Transformer(file: try tinyGemma3())
        let c = model.config
        #expect((0..<7).map { c.isSlidingWindowLayer($0) } == [true, true, true, true, true, false, true])
        #expect(c.ropeBase(ofLayer: 0) == 10000 && c.ropeBase(ofLayer: 5) == 1_000_000)
        #expect(c.attentionScale == 1 / Float(16).squareRoot())
        #expect(model.cacheLayers.map(\.window) == [4, 4, 4, 4, 4, nil, 4])

        // 70 tokens, over ten times the window: every batching must agree, including one batch of all 70
        // (the tiled attention, with the window as a mask).
        let tokens = (0..<70).map { ($0 * 7 + 3) % 40 }
        func logits(batch: Int?, storage: KVStorageType = .f32, maxBatch: Int = 8) throws -> [[Float]] {
            let cache = try model.makeCache(context: 128, maxBatch: maxBatch, storage: storage)
            var rows: [[Float]] = []
            try model.evaluate(tokens, cache: cache, logitRows: 0..<tokens.count, batchSize: batch) { _, l in rows.append(Array(l)) }
            return rows
        }
        let batched = try logits(batch: nil)
        // Batches of two or more multiply the F32 weights in tinyBLAS's order, one token in
        // ggml_vec_dot_f32's, as llama.cpp does; GELU's F16 table (ggml's) turns last-bit differences into
        // steps of one F16 ulp. Batches of any size from two up sum each output in the same order.
        #expect(maxAbsDifference(batched, try logits(batch: 1)) < 2e-2)
        #expect(maxAbsDifference(batched, try logits(batch: 3)) < 1e-4)
        // Batches of 64 or more take the tiled attention (F32 accumulators), whose float sums come in another order;
        // GELU's F16 table (ggml's) turns those last-bit differences into steps of one F16 ulp.
        #expect(maxAbsDifference(batched, try logits(batch: nil, maxBatch: 70)) < 2e-2)
        #expect(maxAbsDifference(batched, try logits(batch: 66, maxBatch: 70)) < 2e-2)
        #expect(maxAbsDifference(batched, try logits(batch: 1, storage: .f16)) < 2e-2)
        // Tokens outside every sliding window still reach the last position through global layer 5.
        var far = tokens; far[0] = 39; far[1] = 38
        let cache = try model.makeCache(context: 128, storage: .f32)
        let changedFar = try model.forward(far, cache: cache)
        #expect(maxAbsDifference([changedFar], [batched.last!]) > 1e-4)
    }

    @Test func slidingCacheIsSmallerThanFull() throws {
        let model = try Transformer(file: try tinyGemma3())
        let cache = try model.makeCache(context: 64, maxBatch: 8, storage: .f16)
        // 6 sliding layers hold 4 + 8 rows, one global layer 64; K and V of 16 floats, 2 bytes each.
        #expect(cache.byteCount == (6 * 12 + 64) * 2 * 16 * 2)
    }
}
