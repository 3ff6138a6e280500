import Foundation
import Testing
import SwiftletTestSupport
import SwiftletKVCache
import SwiftletModel

/// A decoding step of several sequences in one forward pass (``Transformer/decode(_:caches:)``) gives
/// each sequence the logits it gets alone, to the bit, on the real models: continuous batching leaves
/// every stream's numbers, and so llama.cpp's equality, untouched.
@Suite struct BatchedDecodeTests {
    static let prompts: [[Int]] = [
        [1, 2, 3, 4, 5, 6, 7, 8], [100, 200, 300], [4000, 17, 9, 256, 33, 71], [42],
        [900, 901, 902, 903, 904, 905, 906, 907, 908, 909, 910], [5, 5, 5, 5], [12345, 678], [77, 88, 99, 111, 222],
    ]

    @Test(arguments: [TestPaths.smollm2, TestPaths.gemma3])
    func batchedStepsEqualSingleSteps(file: String) throws {
        let model = try Transformer(path: try TestPaths.model(file), threads: 2)
        let steps = 6
        // Alone: each prompt, then greedy one-token steps.
        var alone: [[[Float]]] = []
        for prompt in Self.prompts {
            let cache = try model.makeCache(context: 128)
            var logits = try model.forward(prompt, cache: cache)
            var path: [[Float]] = []
            for _ in 0..<steps {
                let next = argmax(logits)
                logits = try model.forward([next], cache: cache)
                path.append(logits)
            }
            alone.append(path)
        }
        // Together: the same prompts, then every sequence's step in one batch; sequences drop out as
        // they would finish at different times (batches of 8 down to 3).
        let caches = try Self.prompts.map { _ in try model.makeCache(context: 128) }
        var last = try zip(Self.prompts, caches).map { try model.forward($0, cache: $1) }
        for step in 0..<steps {
            let live = Array(0..<(Self.prompts.count - step))
            let out = try model.decode(live.map { argmax(last[$0]) }, caches: live.map { caches[$0] })
            for (i, s) in live.enumerated() {
                last[s] = out[i]
                #expect(out[i] == alone[s][step], "\(file): sequence \(s), step \(step), batch of \(live.count)")
            }
        }
    }

    @Test func badBatchesAreErrors() throws {
        let model = try Transformer(path: try TestPaths.model(TestPaths.smollm2), threads: 2)
        let a = try model.makeCache(context: 64), b = try model.makeCache(context: 32)
        _ = try model.forward([1, 2], cache: a)
        #expect(throws: ModelError.self) { try model.decode([1, 2], caches: [a]) }
        #expect(throws: ModelError.self) { try model.decode([1, 2], caches: [a, a]) }
        #expect(throws: ModelError.self) { try model.decode([1, 2], caches: [a, b]) }
        #expect(throws: ModelError.self) { try model.decode([1, -4], caches: [a, try model.makeCache(context: 64)]) }
        #expect(a.count == 2)
    }

    func argmax(_ l: [Float]) -> Int { l.indices.max { l[$0] < l[$1] }! }
}
