import SwiftletGGUF
import SwiftletKVCache

/// A loaded decoder-only transformer language model: hyperparameters, weights bound in the file's mapping, and a
/// forward pass.
///
/// ```swift
/// let model = try Transformer(path: "SmolLM2-135M-Instruct.Q4_1.gguf", threads: 2)
/// let cache = try model.makeCache(context: 2048)
/// var logits = try model.forward(promptIDs, cache: cache)       // batched prompt
/// logits = try model.forward([next], cache: cache)              // one-token decode
/// ```
/// The weights are never copied to the heap (only the small norm vectors are); they stay valid while
/// the model lives. Safe to share across tasks; each sequence uses its own ``KVCache``.
public final class Transformer: Sendable {
    public let file: GGUFFile
    public let config: ModelConfig
    let architecture: any Architecture

    /// Opens `path` and binds its tensors.
    /// - Parameters:
    ///   - threads: worker threads for the matrix products.
    ///   - dumpDirectory: when set, every named intermediate activation is appended to
    ///     `<dir>/<name>-<layer>.f32` (a debugging aid; slow).
    public convenience init(path: String, threads: Int = 2, dumpDirectory: String? = nil) throws {
        try self.init(file: GGUFFile(path: path), threads: threads, dumpDirectory: dumpDirectory)
    }

    public init(file: GGUFFile, threads: Int = 2, dumpDirectory: String? = nil) throws(ModelError) {
        self.file = file
        let config = try ModelConfig(file)
        self.config = config
        let runtime = Runtime(config: config, threads: threads, dumpDirectory: dumpDirectory)
        // ModelConfig has found the architecture in the registry already.
        architecture = try architectures[config.architecture]!.init(runtime: runtime,
                                                                    tensors: TensorBinder(file: file, config: config))
    }

    /// Bytes of scratch activations the engine keeps between passes (beside the weights and the caches):
    /// one workspace per concurrent pass, each as large as the largest batch and context it has served.
    public var workspaceBytes: Int { architecture.runtime.spareWorkspaceBytes }

    /// The cache shape of each layer (sliding-window layers carry their window).
    public var cacheLayers: [KVLayerShape] {
        (0..<config.blockCount).map {
            KVLayerShape(keyWidth: config.keyWidth, valueWidth: config.valueWidth, window: config.window(ofLayer: $0))
        }
    }

    /// Bytes `sequences` KV caches of `context` positions take, and the scratch memory of one forward pass
    /// over that context (activations of a `maxBatch` batch, the cache's rows as floats, logits).
    public func memoryNeeded(context: Int, sequences: Int = 1, maxBatch: Int = 512,
                             storage: KVStorageType = .f16) -> (cache: Int, workspace: Int) {
        memoryNeeded(context: context, sequences: sequences, maxBatch: maxBatch, keyStorage: storage,
                     valueStorage: storage)
    }

    /// ``memoryNeeded(context:sequences:maxBatch:storage:)`` for caches storing K and V in their own types.
    public func memoryNeeded(context: Int, sequences: Int = 1, maxBatch: Int = 512, keyStorage: KVStorageType,
                             valueStorage: KVStorageType) -> (cache: Int, workspace: Int) {
        let c = config, batch = max(1, min(maxBatch, context))
        let perToken = 3 * c.embeddingLength + c.headCount * c.keyLength + c.keyWidth + c.valueWidth
            + c.headCount * c.valueLength + 2 * c.feedForwardLength
        // A mixture of experts' scratch: each route's output, one expert's tokens, gate and up.
        let k = c.expertUsedCount
        let experts = c.expertCount == 0 ? 0
            : batch * (k + 1) * c.embeddingLength + 2 * max(batch, k) * c.feedForwardLength
        let floats = batch * perToken + experts + context * (c.keyWidth + c.valueWidth)
            + min(batch, 32) * c.vocabularySize
        let one = KVCache.byteCount(layers: cacheLayers, capacity: context, maxBatch: batch, keyStorage: keyStorage,
                                    valueStorage: valueStorage)
        let (cache, o1) = one.multipliedReportingOverflow(by: max(1, sequences))
        let (workspace, o2) = floats.multipliedReportingOverflow(by: MemoryLayout<Float>.size)
        return (o1 ? Int.max : cache, o2 ? Int.max : workspace)
    }

    /// Throws ``ModelError/insufficientMemory(_:)`` when ``memoryNeeded(context:sequences:maxBatch:storage:)``
    /// exceeds what `budget` has available; call it before allocating caches for a context from user input.
    public func checkMemory(context: Int, sequences: Int = 1, maxBatch: Int = 512, storage: KVStorageType = .f16,
                            budget: MemoryBudget = .current()) throws(ModelError) {
        try checkMemory(context: context, sequences: sequences, maxBatch: maxBatch, keyStorage: storage,
                        valueStorage: storage, budget: budget)
    }

    /// ``checkMemory(context:sequences:maxBatch:storage:budget:)`` for caches storing K and V in their own types.
    public func checkMemory(context: Int, sequences: Int = 1, maxBatch: Int = 512, keyStorage: KVStorageType,
                            valueStorage: KVStorageType, budget: MemoryBudget = .current()) throws(ModelError) {
        let need = memoryNeeded(context: context, sequences: sequences, maxBatch: maxBatch, keyStorage: keyStorage,
                                valueStorage: valueStorage)
        let what = sequences == 1 ? "the KV cache (\(context) tokens) with its scratch memory"
            : "the KV cache (\(context) tokens × \(sequences) sequences) with its scratch memory"
        let (total, overflow) = need.cache.addingReportingOverflow(need.workspace)
        do { try budget.check(overflow ? Int.max : total, for: what) } catch { throw .insufficientMemory(error) }
    }

    /// Throws ``ModelError/contextBeyondTraining(requested:trained:)`` when `context` exceeds the model's
    /// trained context length (`<arch>.context_length`) and `allowBeyondTraining` is false.
    public func checkContext(_ context: Int, allowBeyondTraining: Bool) throws(ModelError) {
        let trained = config.trainedContextLength
        guard allowBeyondTraining || trained <= 0 || context <= trained else {
            throw .contextBeyondTraining(requested: context, trained: trained)
        }
    }

    /// A fresh KV cache for one sequence of up to `context` positions; its memory (and a forward pass's
    /// scratch memory) is checked against what is available first
    /// (``checkMemory(context:sequences:maxBatch:storage:budget:)``).
    public func makeCache(context: Int, maxBatch: Int = 512, storage: KVStorageType = .f16) throws(ModelError) -> KVCache {
        try makeCache(context: context, maxBatch: maxBatch, keyStorage: storage, valueStorage: storage)
    }

    /// A fresh KV cache storing K rows as `keyStorage` and V rows as `valueStorage` (llama.cpp's
    /// `--cache-type-k` / `--cache-type-v`), after ``checkCacheTypes(keyStorage:valueStorage:)`` and the
    /// memory check of ``makeCache(context:maxBatch:storage:)``.
    public func makeCache(context: Int, maxBatch: Int = 512, keyStorage: KVStorageType,
                          valueStorage: KVStorageType) throws(ModelError) -> KVCache {
        try checkCacheTypes(keyStorage: keyStorage, valueStorage: valueStorage)
        try checkMemory(context: context, maxBatch: maxBatch, keyStorage: keyStorage, valueStorage: valueStorage)
        do {
            return try KVCache(layers: cacheLayers, capacity: context, maxBatch: min(maxBatch, context),
                               keyStorage: keyStorage, valueStorage: valueStorage)
        } catch { throw .cache(error) }
    }

    /// Throws ``ModelError/cache(_:)`` (a layout mismatch naming the head size) unless each attention head's
    /// K and V are whole blocks of their storage types: a Q8_0 cache needs head sizes that are multiples
    /// of 32, as llama.cpp refuses a block size that does not divide `n_embd_head_k` / `n_embd_head_v`
    /// (`llama_init_from_model`).
    public func checkCacheTypes(keyStorage: KVStorageType, valueStorage: KVStorageType) throws(ModelError) {
        let c = config
        for (what, length, type) in [("K", c.keyLength, keyStorage), ("V", c.valueLength, valueStorage)]
        where length % type.blockSize != 0 {
            throw .cache(.layoutMismatch("\(what) cache type \(type.rawValue) with block size \(type.blockSize) "
                + "does not divide the head size \(length) of this model"))
        }
    }

    /// Evaluates `tokens` after the positions already in `cache`, appending them to it, and calls
    /// `body(index, logits)` for each index of `tokens` in `logitRows` (in order). The prompt is
    /// processed in batches of up to `batchSize` (default: the cache's maximum batch); a batch of one
    /// token takes the matrix-vector path.
    public func evaluate(_ tokens: [Int], cache: KVCache, logitRows: Range<Int>, batchSize: Int? = nil,
                         _ body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        guard !tokens.isEmpty else { throw ModelError.emptyInput }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= config.vocabularySize }) {
            throw ModelError.tokenOutOfRange(token: bad, vocabularySize: config.vocabularySize)
        }
        guard cache.layers == cacheLayers else { throw ModelError.cache(.layoutMismatch("cache was not made for this model")) }
        guard cache.count + tokens.count <= cache.capacity else {
            throw ModelError.cache(.capacityExceeded(requested: cache.count + tokens.count, capacity: cache.capacity))
        }
        let batch = max(1, min(batchSize ?? cache.maxBatch, cache.maxBatch))
        let rows = logitRows.clamped(to: 0..<tokens.count)
        try architecture.runtime.withWorkspace(tokens: min(batch, tokens.count), context: cache.capacity) { ws in
            var s = 0
            while s < tokens.count {
                let e = min(tokens.count, s + batch)
                // The part of `rows` inside this batch, as batch indices (empty when they lie elsewhere).
                let local = (min(max(rows.lowerBound, s), e) - s)..<(max(min(rows.upperBound, e), s) - s)
                do throws(KVCacheError) { try cache.reserve(e - s) } catch { throw ModelError.cache(error) }
                try architecture.forwardBatch(tokens[s..<e], batch: SequenceBatch(cache: cache, tokens: e - s), ws: ws,
                                              logitRows: local) { i, logits in
                    try body(s + i, logits)
                }
                do throws(KVCacheError) { try cache.commit(e - s) } catch { throw ModelError.cache(error) }
                s = e
            }
        }
    }

    /// One decoding step of several sequences in one forward pass (continuous batching): `tokens[i]` is
    /// appended to `caches[i]`, and the result's element i is the logits after it.
    ///
    /// Each weight matrix is read once for all the sequences, and every product sums each token's
    /// outputs as the one-token step does (``ProductOrder/tokenwise``); attention runs over each
    /// sequence's own cache. So each sequence's logits are those ``forward(_:cache:batchSize:)`` would
    /// give it alone, to the bit, whatever else is in the batch.
    public func decode(_ tokens: [Int], caches: [KVCache]) throws -> [[Float]] {
        guard !tokens.isEmpty, tokens.count == caches.count else {
            throw ModelError.invalidBatch("\(tokens.count) tokens for \(caches.count) caches")
        }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= config.vocabularySize }) {
            throw ModelError.tokenOutOfRange(token: bad, vocabularySize: config.vocabularySize)
        }
        let capacity = caches[0].capacity
        for (i, cache) in caches.enumerated() {
            guard cache.layers == cacheLayers else { throw ModelError.cache(.layoutMismatch("cache was not made for this model")) }
            guard cache.capacity == capacity else {
                throw ModelError.invalidBatch("the caches of one step must share a context length")
            }
            guard !caches[..<i].contains(where: { $0 === cache }) else {
                throw ModelError.invalidBatch("a cache appears twice in one step")
            }
            do throws(KVCacheError) { try cache.reserve(1) } catch { throw ModelError.cache(error) }
        }
        if tokens.count == 1 { return [try forward(tokens, cache: caches[0])] }
        var out = [[Float]](repeating: [], count: tokens.count)
        try architecture.runtime.withWorkspace(tokens: tokens.count, context: capacity) { ws in
            ws.order = .tokenwise
            defer { ws.order = .matrixProduct }
            try architecture.forwardBatch(tokens[...], batch: SequenceBatch(caches: caches), ws: ws,
                                          logitRows: 0..<tokens.count) { i, logits in out[i] = Array(logits) }
        }
        for cache in caches {
            do throws(KVCacheError) { try cache.commit(1) } catch { throw ModelError.cache(error) }
        }
        return out
    }

    /// Evaluates `tokens` and returns the logits after the last one (vocabulary-size floats).
    public func forward(_ tokens: [Int], cache: KVCache, batchSize: Int? = nil) throws -> [Float] {
        var out: [Float] = []
        try evaluate(tokens, cache: cache, logitRows: (tokens.count - 1)..<tokens.count, batchSize: batchSize) { _, l in
            out = Array(l)
        }
        return out
    }
}
