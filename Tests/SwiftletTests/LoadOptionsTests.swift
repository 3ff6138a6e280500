import Foundation
import Swiftlet
import SwiftletModel
import SwiftletTestSupport
import Testing

/// What loading refuses, with errors the caller can switch over (typed throws), before any allocation.
@Suite struct LoadOptionsTests {
    /// The tiny model was trained for 256 positions: a longer context needs the caller's consent.
    @Test func aContextBeyondTrainingNeedsConsent() async throws {
        do {
            _ = try await Swiftlet.Model.load(TinyModelFiles.source, options: .init(contextLength: 1024))
            Issue.record("a context beyond the trained length was accepted")
        } catch {
            // `error` is a SwiftletError: the facade's functions declare `throws(SwiftletError)`.
            #expect(error == .contextBeyondTraining(requested: 1024, trained: 256))
            #expect(error.description.contains("256"))
        }
        let model = try await Swiftlet.Model.load(
            TinyModelFiles.source, options: .init(contextLength: 1024, allowContextBeyondTraining: true))
        #expect(model.contextLength == 1024)
    }

    @Test func aFileThatIsNotAModelIsAModelFileError() async {
        do {
            _ = try await Swiftlet.Model.load("/nonexistent.gguf")
            Issue.record("loaded a missing file")
        } catch {
            guard case .modelFile(let path, let reason) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(path == "/nonexistent.gguf" && !reason.isEmpty)
        }
    }

    /// The memory check compares what the caches and scratch need with a budget's smallest figure, and
    /// says both, before anything is allocated.
    @Test func memoryIsCheckedBeforeAllocating() throws {
        let network = try Transformer(path: TinyModelFiles.source)
        let need = network.memoryNeeded(context: 4096, sequences: 8)
        let one = network.memoryNeeded(context: 4096)
        #expect(need.cache == 8 * one.cache && need.workspace == one.workspace)
        // 2 layers × (32 + 32) F16 values per position: 256 bytes a position, a sequence.
        #expect(one.cache == 4096 * 256)
        let tight = MemoryBudget(systemAvailable: 6 << 30, addressSpaceLimit: 3 << 20, addressSpaceUsed: 1 << 20)
        #expect(tight.available == 2 << 20)
        do {
            try network.checkMemory(context: 4096, sequences: 8, budget: tight)
            Issue.record("8 MiB of cache fit in 2 MiB")
        } catch {
            guard case .insufficientMemory(let shortfall) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(shortfall.neededBytes == need.cache + need.workspace && shortfall.availableBytes == 2 << 20)
            #expect(shortfall.description.hasPrefix("the KV cache (4096 tokens × 8 sequences) with its scratch memory needs"))
            #expect(shortfall.description.contains("address-space limit 3.0 MiB, 1.0 MiB of it in use"))
        }
        let roomy = MemoryBudget(systemAvailable: 1 << 30, addressSpaceLimit: nil, addressSpaceUsed: 1 << 20)
        try network.checkMemory(context: 4096, sequences: 8, budget: roomy)
        // Nothing known, nothing limited.
        try MemoryBudget(systemAvailable: nil, addressSpaceLimit: nil, addressSpaceUsed: nil).check(Int.max, for: "x")
        // This process's own figures are read (Linux).
        #expect(MemoryBudget.current().systemAvailable ?? 0 > 0)
    }
}

/// `keyCacheType` / `valueCacheType`: what a Q8_0 cache needs of the model, and what the caches then take.
@Suite struct CacheTypeOptionsTests {
    /// The tiny model's heads hold 16 values: not a whole Q8_0 block, refused as llama.cpp refuses it.
    @Test func q8_0NeedsHeadSizesOf32() async throws {
        for options in [Swiftlet.Model.LoadOptions(contextLength: 64, keyCacheType: .q8_0),
                        Swiftlet.Model.LoadOptions(contextLength: 64, valueCacheType: .q8_0)] {
            do {
                _ = try await Swiftlet.Model.load(TinyModelFiles.source, options: options)
                Issue.record("a Q8_0 cache over 16-value heads was accepted")
            } catch {
                guard case .invalidOption(let message) = error else {
                    Issue.record("unexpected error \(error)")
                    continue
                }
                #expect(message.contains("q8_0") && message.contains("16"))
            }
        }
    }

    /// The engine's KV-cache bytes follow the types: F32 K beside F16 V is 3/2 of F16's.
    @Test func kvBytesFollowTheTypes() async throws {
        let f16 = try await Swiftlet.Model.load(TinyModelFiles.source, options: .init(contextLength: 64))
        let mixed = try await Swiftlet.Model.load(TinyModelFiles.source,
                                                  options: .init(contextLength: 64, keyCacheType: .f32))
        #expect(f16.metrics.kvCacheBytes == 64 * 256)
        #expect(mixed.metrics.kvCacheBytes == 64 * 256 * 3 / 2)
    }
}
