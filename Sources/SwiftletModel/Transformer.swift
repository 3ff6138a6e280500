import Foundation
import Synchronization
import SwiftletKVCache
import SwiftletKernels

/// The pieces every architecture's forward pass is built from: the thread pool, reusable workspaces,
/// the activation dump, and the shared steps (linear layers, row norms, attention over the KV cache,
/// the output head). Each architecture file strings these together top to bottom.
final class Runtime: Sendable {
    let config: ModelConfig
    let pool: ThreadPool
    let dumper: ActivationDump?
    private let spare = Mutex<[Workspace]>([])

    init(config: ModelConfig, threads: Int, dumpDirectory: String?) {
        self.config = config
        pool = ThreadPool(threads: max(1, threads))
        dumper = dumpDirectory.map(ActivationDump.init(directory:))
    }

    /// Runs `body` with a workspace fit for `tokens` × `context`, taken from (and returned to) a pool.
    func withWorkspace<R>(tokens: Int, context: Int, _ body: (Workspace) throws -> R) rethrows -> R {
        let ws = spare.withLock { list -> Workspace? in
            guard let i = list.firstIndex(where: { $0.maxTokens >= tokens && $0.context >= context }) else { return nil }
            return list.remove(at: i)
        } ?? Workspace(config: config, maxTokens: tokens, context: context)
        defer { spare.withLock { $0.append(ws) } }
        return try body(ws)
    }

    @inline(__always)
    func dump(_ name: String, _ layer: Int?, _ p: UnsafePointer<Float>, _ count: Int) {
        dumper?.write(name, layer, p, count: count)
    }

    /// y (n, w.rows) = x (n, w.columns) · wᵀ: the matvec path for one token, matmul for a batch.
    @inline(__always)
    func linear(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, tokens n: Int) {
        if n == 1 { matvec(w, x, y, pool: pool) } else { matmul(w, x, tokens: n, y, pool: pool) }
    }

    /// Several products of the same input (q, k, v; gate, up) in one job on the pool.
    @inline(__always)
    func linear(_ products: [(weight: WeightMatrix, output: UnsafeMutablePointer<Float>)], _ x: UnsafePointer<Float>, tokens n: Int) {
        matmul(products, x, tokens: n, pool: pool)
    }

    /// `body` over `0..<rows`, in one range per thread when a batch has enough rows (the element-wise
    /// steps of a prompt are otherwise left to one thread while the other waits). Rows are independent,
    /// so the split does not change any number.
    func forRows(_ rows: Int, _ body: (Range<Int>) -> Void) {
        let pieces = rows >= 16 ? pool.threadCount : 1
        if pieces == 1 { body(0..<rows); return }
        pool.parallelFor(pieces) { i in body((rows * i / pieces)..<(rows * (i + 1) / pieces)) }
    }

    /// RMS-normalises each of `rows` rows of `width` floats, times `weight`.
    func normRows(_ x: UnsafePointer<Float>, _ weight: Vector, _ out: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        forRows(rows) { range in
            for r in range {
                rmsNorm(x + r * width, weight: weight.pointer, out: out + r * width, count: width, epsilon: config.rmsEpsilon)
            }
        }
    }

    /// The gated feed-forward activation, row by row: out = act(gate) · up over `rows` rows of `width`.
    func gatedActivation(_ act: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void,
                         gate: UnsafePointer<Float>, up: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        forRows(rows) { range in
            act(gate + range.lowerBound * width, up + range.lowerBound * width, out + range.lowerBound * width, range.count * width)
        }
    }

    /// The gated feed-forward block, on the first `rows` rows of ws.x: ws.xb2 (rows, dim) =
    /// down · (act(gate · norm(x)) ⊙ (up · norm(x))), its steps dumped under llama.cpp's names (the
    /// activation's as `activationName`: ffn_swiglu, ffn_geglu).
    func gatedFeedForward(layer l: Int, norm: Vector, gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix,
                          activation: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void,
                          activationName: String, ws: Workspace, rows m: Int) {
        let dim = config.embeddingLength, ff = config.feedForwardLength
        normRows(ws.x, norm, ws.xb, rows: m, width: dim)
        dump("ffn_norm", l, ws.xb, m * dim)
        linear([(gate, ws.hb), (up, ws.hb2)], ws.xb, tokens: m)        // gate, up (m, ff)
        dump("ffn_gate", l, ws.hb, m * ff)
        dump("ffn_up", l, ws.hb2, m * ff)
        gatedActivation(activation, gate: ws.hb, up: ws.hb2, out: ws.hb, rows: m, width: ff)
        dump(activationName, l, ws.hb, m * ff)
        linear(down, ws.hb, ws.xb2, tokens: m)                         // (m, dim)
        dump("ffn_out", l, ws.xb2, m * dim)
    }

    /// Adds a bias vector to each row.
    func addBias(_ x: UnsafeMutablePointer<Float>, _ bias: Vector, rows: Int) {
        for r in 0..<rows { add(x + r * bias.count, bias.pointer, out: x + r * bias.count, count: bias.count) }
    }

    /// Rotates q (n, heads × keyLength) and k (n, kvHeads × keyLength) for positions start..<start+n.
    func applyRoPE(q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>, tokens n: Int, start: Int, layer: Int) {
        let c = config
        let style: RoPEStyle = c.ropeUsesHalves ? .neox : .normal
        let base = c.ropeBase(ofLayer: layer), fs = c.ropeFrequencyScale(ofLayer: layer)
        let ropeDim = c.ropeDimensionCount
        forRows(n) { tokens in withUnsafeTemporaryAllocation(of: Float.self, capacity: max(2, ropeDim)) { angles in
            let cos = angles.baseAddress!, sin = cos + ropeDim / 2
            for t in tokens {
                ropeAngles(position: start + t, ropeDim: ropeDim, base: base, freqScale: fs, cos: cos, sin: sin)
                rope(q + t * c.headCount * c.keyLength, heads: c.headCount, headDim: c.keyLength, ropeDim: ropeDim,
                     cos: cos, sin: sin, style: style)
                rope(k + t * c.keyWidth, heads: c.headCountKV, headDim: c.keyLength, ropeDim: ropeDim,
                     cos: cos, sin: sin, style: style)
            }
        } }
    }

    /// Batches at least this long take llama.cpp's tiled flash attention (GGML_FA_TILE_Q: F32 q and
    /// accumulator, keys in tiles of 64; ``attentionScores``, ``attendTiledRows``); shorter ones its
    /// one-row kernel (q rounded to F16, F16 V accumulator).
    static let tiledAttentionMinimumTokens = 64

    /// Causal grouped-query attention of n new tokens at positions start..<start+n.
    ///
    /// Stores the new K/V rows in the cache first and reads every attended row back from it, so the
    /// batched and the one-token paths see the same (F16-rounded, by default) keys and values, as
    /// llama.cpp does. Writes ws.att (n, heads × valueLength).
    func attention(layer: Int, ws: Workspace, tokens n: Int, start: Int, cache: KVCache, scale: Float) throws(ModelError) {
        let c = config
        let window = c.window(ofLayer: layer)
        let first = firstAttendedPosition(for: start, window: window)
        let halfAccumulator = cache.storage == .f16 && n < Runtime.tiledAttentionMinimumTokens
        var halfRows: KVHalfRows?
        do {
            for t in 0..<n {
                try cache.store(layer: layer, position: start + t, key: ws.k + t * c.keyWidth, value: ws.v + t * c.valueWidth)
            }
            if halfAccumulator {
                halfRows = try cache.halfRows(layer: layer, positions: first..<(start + n))
            } else {
                try cache.readKeys(layer: layer, positions: first..<(start + n), into: ws.keys)
                try cache.readValues(layer: layer, positions: first..<(start + n), into: ws.values)
            }
        } catch {
            throw .cache(error)
        }
        if n >= Runtime.tiledAttentionMinimumTokens {
            attendBatched(layer: layer, ws: ws, tokens: n, start: start, first: first, scale: scale)
            return
        }
        let span = start + n - first
        if let halfRows {
            // One unit per token, KV head and share of its query heads: the heads of a share make one
            // pass over the K and V rows together. A KV head's query heads go to separate units only
            // when there are fewer (token, KV head) units than threads (Gemma 3 decoding: one KV head);
            // otherwise reading the rows once per query head costs more than the uneven split saves
            // (SmolLM2 at depth 1024: 3 units on 2 threads measured faster than 9).
            let group = c.headCount / c.headCountKV
            let shares = n * c.headCountKV >= pool.threadCount ? 1 : group
            let headsPerShare = group / shares
            let units = n * c.headCountKV * shares
            let chunks = min(units, pool.threadCount * 4)
            pool.parallelFor(chunks) { chunk in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: headsPerShare * (span + c.keyLength + 2))
                defer { scratch.deallocate() }
                for unit in (units * chunk / chunks)..<(units * (chunk + 1) / chunks) {
                    let t = unit / (c.headCountKV * shares), kvh = (unit / shares) % c.headCountKV
                    let firstHead = kvh * group + (unit % shares) * headsPerShare
                    let pos = start + t
                    attendHalf(q: ws.q + t * c.headCount * c.keyLength + firstHead * c.keyLength, heads: headsPerShare, rows: halfRows, kvHead: kvh,
                               positions: firstAttendedPosition(for: pos, window: window)...pos, scale: scale,
                               out: ws.att + t * c.headCount * c.valueLength + firstHead * c.valueLength, scratch: scratch,
                               kvSplit: n == 1 ? keyValueSplit(position: pos, window: window, capacity: cache.capacity) : nil)
                }
            }
            return
        }
        let units = n * c.headCount
        let chunks = min(units, pool.threadCount * 4)
        pool.parallelFor(chunks) { chunk in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(span, c.keyLength))
            defer { scratch.deallocate() }
            for unit in (units * chunk / chunks)..<(units * (chunk + 1) / chunks) {
                let t = unit / c.headCount, h = unit % c.headCount, kvh = h / (c.headCount / c.headCountKV)
                let pos = start + t
                let attended = (firstAttendedPosition(for: pos, window: window) - first)...(pos - first)
                let q = ws.q + t * c.headCount * c.keyLength + h * c.keyLength
                let out = ws.att + t * c.headCount * c.valueLength + h * c.valueLength
                attendFloat(q: q, keys: ws.keys + kvh * c.keyLength, values: ws.values + kvh * c.valueLength, positions: attended,
                            scale: scale, out: out, scores: scratch)
            }
        }
    }

    /// Attention of a long batch as matrix products: per head and chunk of tokens, the scores
    /// S = Q·Kᵀ × scale over every position the chunk sees, masked (causal, and the sliding window) and
    /// softmaxed per row, then S·V. ws.keys/ws.values hold positions first..<start+n.
    private func attendBatched(layer: Int, ws: Workspace, tokens n: Int, start: Int, first: Int, scale: Float) {
        let c = config, window = c.window(ofLayer: layer)
        let chunk = 32, chunks = (n + chunk - 1) / chunk
        let qStride = c.headCount * c.keyLength, oStride = c.headCount * c.valueLength
        let group = c.headCount / c.headCountKV
        // Every KV head's keys in panels of eight, once per layer (each query chunk reads them).
        let span = start + n - first, panelFloats = keyPanelCount(positions: span, length: c.keyLength)
        let panels = UnsafeMutablePointer<Float>.allocate(capacity: c.headCountKV * panelFloats)
        defer { panels.deallocate() }
        pool.parallelFor(c.headCountKV) { kvh in
            packKeyPanels(keys: ws.keys + kvh * c.keyLength, keyStride: c.keyWidth, positions: span, length: c.keyLength,
                          into: panels + kvh * panelFloats)
        }
        pool.parallelFor(c.headCount * chunks) { unit in
            let h = unit % c.headCount, t0 = (unit / c.headCount) * chunk
            let m = min(n, t0 + chunk) - t0, kvh = h / group
            // From the panel holding the chunk's first attended key; keys before it are masked below.
            let lo = first + (firstAttendedPosition(for: start + t0, window: window) - first) / 8 * 8, hi = start + t0 + m
            let p = hi - lo
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: m * p)
            defer { scores.deallocate() }
            attentionScores(q: ws.q + t0 * qStride + h * c.keyLength, queryStride: qStride,
                            keyPanels: panels + kvh * panelFloats + (lo - first) * c.keyLength,
                            rows: m, positions: p, length: c.keyLength, scale: scale, into: scores)
            var r = 0
            while r < m {
                let count = min(4, m - r)
                attendTiledRows(count, scores: scores + r * p, scoreStride: p, p0: lo,
                                attended: { k in firstAttendedPosition(for: start + t0 + r + k, window: window)...(start + t0 + r + k) },
                                values: ws.values + (lo - first) * c.valueWidth + kvh * c.valueLength, valueStride: c.valueWidth,
                                length: c.valueLength, out: ws.att + (t0 + r) * oStride + h * c.valueLength, outputStride: oStride)
                r += count
            }
        }
    }

    /// softmax(q·Kᵀ × scale) · V in F32 (keys/values rows are strided by the cache row widths).
    private func attendFloat(q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                             positions: ClosedRange<Int>, scale: Float, out: UnsafeMutablePointer<Float>,
                             scores: UnsafeMutablePointer<Float>) {
        let c = config, lo = positions.lowerBound
        for j in positions { scores[j - lo] = dot(q, keys + j * c.keyWidth, count: c.keyLength) * scale }
        softmax(scores, count: positions.count)
        out.update(repeating: 0, count: c.valueLength)
        for j in positions {
            let v = values + j * c.valueWidth, p = scores[j - lo]
            for i in 0..<c.valueLength { out[i] += p * v[i] }
        }
    }

    /// How llama.cpp splits the KV cache for one token's attention at `position`, or nil when it does
    /// not: its view of the cache holds n_kv = max(256, position + 1 rounded up to 256) cells (at most
    /// the cache size), and from 512 cells on each of its threads takes ⌈n_kv / threads⌉ consecutive
    /// cells, merged afterwards. A cell is a position here while positions fit its cache: a sliding-window
    /// layer's cache holds window + 512 cells rounded up to 256 (its default micro-batch), after which
    /// cells are reused and no longer follow positions (not reproduced: such layers then attend in one
    /// range).
    func keyValueSplit(position: Int, window: Int?, capacity: Int) -> (cells: Int, parts: Int)? {
        let roundUp = { (x: Int) in (x + 255) / 256 * 256 }
        var size = roundUp(capacity)
        if let window { size = min(size, roundUp(window + 512)) }
        guard pool.threadCount > 1, position < size else { return nil }
        let cells = min(size, max(256, roundUp(position + 1)))
        return cells >= 512 ? (cells, pool.threadCount) : nil
    }

    /// llama.cpp's one-row flash attention over an F16 cache: q rounded to F16, an online softmax
    /// whose V accumulator is rounded to F16 after every step. Matching it matters: small models are
    /// sensitive to these roundings at the 0.1-nat level.
    ///
    /// Runs the `heads` query heads of KV head `kvHead` together (q and out hold them one after the
    /// other), reading the cache's F16 rows in place: first every score (they do not depend on the
    /// softmax, so the dot products overlap), then the online softmax over V. Each head's numbers are
    /// those of attending it alone. `scratch` holds heads × (keyLength + positions.count + 2) floats.
    /// `kvSplit` (one token: ``keyValueSplit(position:window:capacity:)``) attends each part of the
    /// cells alone and merges them, as llama.cpp does.
    private func attendHalf(q: UnsafePointer<Float>, heads: Int, rows: KVHalfRows, kvHead: Int, positions: ClosedRange<Int>,
                            scale: Float, out: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                            kvSplit: (cells: Int, parts: Int)? = nil) {
        let c = config, count = positions.count
        let qHalf = scratch, scores = scratch + heads * c.keyLength
        for i in 0..<(heads * c.keyLength) { qHalf[i] = Float(Float16(q[i])) }
        precondition(positions.upperBound < rows.positions.upperBound, "attended positions outside the cache view")
        let firstSlot = rows.slot(of: positions.lowerBound)
        let keys = rows.keys + kvHead * c.keyLength, values = rows.values + kvHead * c.valueLength
        var slot = firstSlot
        // Rows a few positions ahead are touched early (Swift has no prefetch instruction): the loads
        // overlap the dot products instead of stalling them, and V is in cache for the second pass.
        let ahead = 8
        var aheadSlot = (firstSlot + ahead) % rows.ringRows
        var touched: UInt16 = 0
        for j in 0..<count {
            if j + ahead < count {
                let kr = UnsafeRawPointer(keys + aheadSlot * rows.keyWidth), vr = UnsafeRawPointer(values + aheadSlot * rows.valueWidth)
                touched &+= kr.load(as: UInt16.self) &+ kr.load(fromByteOffset: 2 * c.keyLength - 2, as: UInt16.self)
                touched &+= vr.load(as: UInt16.self) &+ vr.load(fromByteOffset: 2 * c.valueLength - 2, as: UInt16.self)
                aheadSlot = rows.slot(after: aheadSlot)
            }
            // Rows in pairs: two independent sums per query head (an odd last row pairs with itself).
            guard j % 2 == 0 else { continue }
            let next = j + 1 < count ? rows.slot(after: slot) : slot
            let k0 = keys + slot * rows.keyWidth, k1 = keys + next * rows.keyWidth
            for g in 0..<heads {
                let (s0, s1) = dotHalfPair(qHalf + g * c.keyLength, k0, k1, count: c.keyLength)
                scores[g * count + j] = s0 * scale
                if j + 1 < count { scores[g * count + j + 1] = s1 * scale }
            }
            slot = rows.slot(after: next)
        }
        touchSink.store(Int(touched), ordering: .relaxed)  // an observable use, so the loads stay
        guard let kvSplit else {
            for g in 0..<heads {
                attendRoundingToHalf(scores: scores + g * count, count: count, values: values, rowStride: rows.valueWidth,
                                     firstSlot: firstSlot, ringRows: rows.ringRows, length: c.valueLength, out: out + g * c.valueLength)
            }
            return
        }
        // llama.cpp's split: each part's cells as their own range, then merged in order.
        let per = (kvSplit.cells + kvSplit.parts - 1) / kvSplit.parts
        withUnsafeTemporaryAllocation(of: Float.self, capacity: kvSplit.parts * c.valueLength) { partials in
            withUnsafeTemporaryAllocation(of: (maximum: Float, sum: Float).self, capacity: kvSplit.parts) { stats in
                for g in 0..<heads {
                    for part in 0..<kvSplit.parts {
                        let lo = max(positions.lowerBound, part * per), hi = min(positions.upperBound + 1, (part + 1) * per)
                        stats[part] = hi > lo
                            ? attendRoundingToHalf(scores: scores + g * count + (lo - positions.lowerBound), count: hi - lo, values: values,
                                                   rowStride: rows.valueWidth, firstSlot: rows.slot(of: lo), ringRows: rows.ringRows,
                                                   length: c.valueLength, out: partials.baseAddress! + part * c.valueLength, normalize: false)
                            : (-.infinity, 0)
                    }
                    mergeAttentionPartials(partials.baseAddress!, stats: stats.baseAddress!, count: kvSplit.parts, length: c.valueLength,
                                           out: out + g * c.valueLength)
                }
            }
        }
    }

    /// Fills ws.x (n, dim) with the embeddings of `tokens`, times the architecture's scale.
    func embed(_ tokens: ArraySlice<Int>, _ table: WeightMatrix, into x: UnsafeMutablePointer<Float>) throws(ModelError) {
        let dim = config.embeddingLength
        for (t, token) in tokens.enumerated() {
            do { try embeddingRow(table, token: token, into: x + t * dim) } catch { throw .kernel("token_embd.weight: \(error)") }
            if config.embeddingScale != 1 { scale(x + t * dim, by: config.embeddingScale, count: dim) }
        }
    }

    /// Final norm and output head for the batch rows in `rows`, whose states ``keepLogitRows(_:of:tokens:width:)``
    /// has moved to the front of ws.x; calls `body(row, logits)` in order.
    func emitLogits(ws: Workspace, rows: Range<Int>, norm: Vector, output: WeightMatrix,
                    _ body: (Int, UnsafeBufferPointer<Float>) throws -> Void) rethrows {
        let dim = config.embeddingLength, vocab = config.vocabularySize
        var r = 0
        while r < rows.count {
            let m = min(ws.logitChunk, rows.count - r)
            normRows(ws.x + r * dim, norm, ws.xb, rows: m, width: dim)
            dump("result_norm", nil, ws.xb, m * dim)
            linear(output, ws.xb, ws.logits, tokens: m)
            dump("result_output", nil, ws.logits, m * vocab)
            for i in 0..<m { try body(rows.lowerBound + r + i, UnsafeBufferPointer(start: ws.logits + i * vocab, count: vocab)) }
            r += m
        }
    }

    /// Before the last layer's feed-forward block: keeps only the batch rows whose logits are wanted,
    /// moved to the front of x (n, width), and returns how many. llama.cpp drops the other rows at the
    /// same point, so its feed-forward products there run on as many tokens as logits are wanted, and
    /// which kernel (and so which order of additions) a product takes depends on that count.
    func keepLogitRows(_ rows: Range<Int>, of x: UnsafeMutablePointer<Float>, tokens n: Int, width: Int) -> Int {
        guard rows.count < n else { return n }
        if rows.lowerBound > 0, !rows.isEmpty {
            memmove(x, x + rows.lowerBound * width, rows.count * width * MemoryLayout<Float>.stride)
        }
        return rows.count
    }
}

/// One architecture's forward pass over a batch already checked to fit the cache.
protocol TransformerArchitecture: Sendable {
    var runtime: Runtime { get }
    /// Evaluates `tokens` at positions cache.count..., stores their K/V, and emits logits for the batch
    /// rows in `logitRows` (indices into `tokens`). Does not commit the cache.
    func forwardBatch(_ tokens: ArraySlice<Int>, cache: KVCache, ws: Workspace, logitRows: Range<Int>,
                      _ body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws
}

/// Where one-token attention stores the sum of the cache values it touches ahead of use (see
/// `attendHalf`): nothing reads it, but its store keeps the compiler from dropping those loads.
private let touchSink = Atomic<Int>(0)
