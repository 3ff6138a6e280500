import Foundation
import Synchronization
import SwiftletKVCache
import SwiftletKernels

/// One layer's attention hyperparameters: what a model says when it asks to attend.
public struct AttentionShape: Sendable, Equatable {
    public var headCount: Int
    public var headCountKV: Int
    /// Size of one query/key head.
    public var keyLength: Int
    /// Size of one value head.
    public var valueLength: Int
    /// The layer's sliding window, or nil for full causal attention.
    public var window: Int?
    /// Multiplier of q·k before the softmax (llama.cpp's `kq_scale`).
    public var scale: Float
    /// Gemma 2's attention-logit soft-capping: scores become cap·tanh(score / cap).
    public var logitSoftcap: Float?

    public init(headCount: Int, headCountKV: Int, keyLength: Int, valueLength: Int, window: Int?, scale: Float,
                logitSoftcap: Float? = nil) {
        self.headCount = headCount
        self.headCountKV = headCountKV
        self.keyLength = keyLength
        self.valueLength = valueLength
        self.window = window
        self.scale = scale
        self.logitSoftcap = logitSoftcap
    }

    /// Floats of one position's keys / values (all KV heads).
    public var keyWidth: Int { headCountKV * keyLength }
    public var valueWidth: Int { headCountKV * valueLength }
    /// Floats of one token's queries / outputs (all query heads).
    public var queryWidth: Int { headCount * keyLength }
    public var outputWidth: Int { headCount * valueLength }

    /// What the score kernels multiply q·k by: with soft-capping, ggml folds 1/cap into the scale and
    /// applies cap·tanh afterwards (`ggml_compute_forward_flash_attn_ext_f16`).
    var scoreScale: Float { logitSoftcap.map { scale / $0 } ?? scale }
}

/// Causal grouped-query attention over a sequence's KV cache: the one place that decides which kernel,
/// split, tile and order of operations an attention takes. Each path follows the ggml function that
/// llama.cpp's CPU backend runs for the same batch, so the numbers are llama.cpp's:
///
/// - 64 tokens or more: keys and values read as floats, scores in tiles
///   (`ggml_compute_forward_flash_attn_ext_tiled`, GGML_FA_TILE_Q);
/// - fewer: the cache's F16 rows read in place, q rounded to F16, an F16 V accumulator
///   (`ggml_compute_forward_flash_attn_ext_f16_one_chunk`);
/// - one token over 512 cells or more: the same, the cells split between threads and the partials merged,
///   as llama.cpp splits the KV cache per thread.
///
/// An F32 cache takes plain float attention (no llama.cpp counterpart is reproduced), and so does a cache
/// with a Q8_0 K or V: its rows are dequantized (x = d·q) and attended as floats, tiled from 64 tokens.
public final class CachedAttention: Sendable {
    let pool: ThreadPool

    public init(pool: ThreadPool) { self.pool = pool }

    /// Batches at least this long take llama.cpp's tiled flash attention (F32 q and accumulator, keys in
    /// tiles of 64; ``attentionScores``, ``attendTiledRows``); shorter ones its one-row kernel.
    public static let tiledAttentionMinimumTokens = 64

    /// Attends `n` new tokens at positions start..<start+n of `layer` over the cache.
    ///
    /// Stores the new K/V rows (`k`: (n, keyWidth), `v`: (n, valueWidth)) in the cache first and reads
    /// every attended row back from it, so the batched and the one-token paths see the same (F16-rounded,
    /// by default) keys and values, as llama.cpp does. Writes `out` (n, outputWidth) from `q`
    /// (n, queryWidth). `scratch` must hold the cache's capacity.
    public func attend(layer: Int, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                       out: UnsafeMutablePointer<Float>, tokens n: Int, start: Int, cache: KVCache,
                       shape: AttentionShape, scratch: AttentionScratch) throws(KVCacheError) {
        let window = shape.window
        let first = firstAttendedPosition(for: start, window: window)
        let halfAccumulator = cache.keyStorage == .f16 && cache.valueStorage == .f16
            && n < Self.tiledAttentionMinimumTokens
        var halfRows: KVHalfRows?
        for t in 0..<n {
            try cache.store(layer: layer, position: start + t, key: k + t * shape.keyWidth,
                            value: v + t * shape.valueWidth)
        }
        if halfAccumulator {
            halfRows = try cache.halfRows(layer: layer, positions: first..<(start + n))
        } else {
            try cache.readKeys(layer: layer, positions: first..<(start + n), into: scratch.keys)
            try cache.readValues(layer: layer, positions: first..<(start + n), into: scratch.values)
        }
        if n >= Self.tiledAttentionMinimumTokens {
            attendBatched(q: q, out: out, tokens: n, start: start, first: first, shape: shape, scratch: scratch)
            return
        }
        let span = start + n - first
        let c = shape
        if let halfRows {
            attendHalfRows(n, tokensPerUnitChoice: n, q: q, out: out, shape: c, span: span) { t in
                (halfRows, start + t, n == 1 ? keyValueSplit(position: start, window: window, capacity: cache.capacity) : nil)
            }
            return
        }
        let units = n * c.headCount
        let chunks = min(units, pool.threadCount * 4)
        pool.parallelFor(chunks) { chunk in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: max(span, c.keyLength))
            defer { scores.deallocate() }
            for unit in (units * chunk / chunks)..<(units * (chunk + 1) / chunks) {
                let t = unit / c.headCount, h = unit % c.headCount, kvh = h / (c.headCount / c.headCountKV)
                let pos = start + t
                let attended = (firstAttendedPosition(for: pos, window: window) - first)...(pos - first)
                attendFloat(q: q + t * c.queryWidth + h * c.keyLength, keys: scratch.keys + kvh * c.keyLength,
                            values: scratch.values + kvh * c.valueLength, positions: attended, shape: c,
                            out: out + t * c.outputWidth + h * c.valueLength, scores: scores)
            }
        }
    }

    /// One new token for each of several sequences (a continuous-batching decoding step): row i of `q`,
    /// `k`, `v` and `out` belongs to `caches[i]`, at the position after those it holds. The units of work
    /// are those ``attend(layer:q:k:v:out:tokens:start:cache:shape:scratch:)`` gives each sequence alone,
    /// so each row's numbers are the same; they are spread over the threads in one dispatch instead of one
    /// per sequence (a sequence alone has as few units as it has KV heads, fewer than the threads' share).
    /// Returns false, having done nothing, unless every cache stores F16 keys and values.
    public func attendOnePerSequence(layer: Int, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                                     v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, caches: [KVCache],
                                     shape c: AttentionShape) throws(KVCacheError) -> Bool {
        guard caches.allSatisfy({ $0.keyStorage == .f16 && $0.valueStorage == .f16 }) else { return false }
        let window = c.window
        var rows: [KVHalfRows] = []
        for (i, cache) in caches.enumerated() {
            try cache.store(layer: layer, position: cache.count, key: k + i * c.keyWidth, value: v + i * c.valueWidth)
        }
        for cache in caches {
            let start = cache.count
            rows.append(try cache.halfRows(layer: layer, positions: firstAttendedPosition(for: start, window: window)..<(start + 1)))
        }
        // Each sequence's units are chosen as for one token alone.
        attendHalfRows(caches.count, tokensPerUnitChoice: 1, q: q, out: out, shape: c,
                       span: rows.map(\.positions.count).max() ?? 1) { s in
            let pos = caches[s].count
            return (rows[s], pos, keyValueSplit(position: pos, window: window, capacity: caches[s].capacity))
        }
        return true
    }

    /// One-row attention of `count` query rows over F16 rows read in place, row i (of `q` and `out`)
    /// attending `row(i).rows` at position `row(i).position`, split as `row(i).kvSplit` says.
    ///
    /// One unit per row, KV head, share of its query heads and part of a split cache: the heads of a share
    /// make one pass over the K and V rows together. A KV head's query heads go to separate units only when
    /// there are fewer (token, KV head) units than threads for `tokensPerUnitChoice` tokens (one KV head,
    /// decoding) and the cache is not split; otherwise reading the rows once per query head costs more
    /// than the uneven split saves. The parts of a split cache are units of their own, so the threads share
    /// a KV head's cells (whole KV heads per thread would leave one of two threads two of three heads'
    /// work); their undivided outputs are merged in order afterwards. `span` is the most positions a row
    /// attends.
    private func attendHalfRows(_ count: Int, tokensPerUnitChoice tokens: Int, q: UnsafePointer<Float>,
                                out: UnsafeMutablePointer<Float>, shape c: AttentionShape, span: Int,
                                _ row: (Int) -> (rows: KVHalfRows, position: Int, kvSplit: (cells: Int, parts: Int)?)) {
        let group = c.headCount / c.headCountKV
        let splits = (0..<count).map { row($0).kvSplit }
        // Split caches give every thread a part already: a KV head's query heads then stay together.
        let shares = tokens * c.headCountKV >= pool.threadCount || splits.allSatisfy({ $0 != nil }) ? 1 : group
        let headsPerShare = group / shares
        let perRow = c.headCountKV * shares
        // keyValueSplit splits a cache into one part per thread; rows without a split use part 0 alone.
        let parts = splits.contains { $0 != nil } ? pool.threadCount : 1
        let units = count * perRow * parts
        let chunks = min(units, pool.threadCount * 4)
        // Head h of row t, part p: its undivided output at partials + ((t·headCount + h)·parts + p)·valueLength,
        // its maximum and sum at stats[(t·headCount + h)·parts + p].
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: count * c.headCount * parts * c.valueLength)
        let stats = UnsafeMutablePointer<(maximum: Float, sum: Float)>.allocate(capacity: count * c.headCount * parts)
        defer { partials.deallocate(); stats.deallocate() }
        pool.parallelFor(chunks) { chunk in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: headsPerShare * (span + c.keyLength + 2))
            defer { scratch.deallocate() }
            for unit in (units * chunk / chunks)..<(units * (chunk + 1) / chunks) {
                let part = unit % parts, rest = unit / parts
                let t = rest / perRow, kvh = (rest / shares) % c.headCountKV
                let firstHead = kvh * group + (rest % shares) * headsPerShare
                let (rows, pos, _) = row(t)
                let attended = firstAttendedPosition(for: pos, window: c.window)..<(pos + 1)
                let q = q + t * c.queryWidth + firstHead * c.keyLength
                let first = (t * c.headCount + firstHead) * parts + part
                guard let kvSplit = splits[t] else {
                    if part == 0 {
                        attendHalf(q: q, heads: headsPerShare, rows: rows, kvHead: kvh, positions: attended, shape: c,
                                   out: out + t * c.outputWidth + firstHead * c.valueLength, outStride: c.valueLength,
                                   normalize: true, stats: stats + first, statsStride: parts, scratch: scratch)
                    }
                    continue
                }
                precondition(kvSplit.parts == parts, "a split cache has one part per thread")
                // llama.cpp's split: each part's cells as their own range.
                let per = (kvSplit.cells + parts - 1) / parts
                let lo = max(attended.lowerBound, part * per), hi = min(attended.upperBound, (part + 1) * per)
                if hi <= lo {
                    for g in 0..<headsPerShare { stats[first + g * parts] = (-.infinity, 0) }
                } else {
                    attendHalf(q: q, heads: headsPerShare, rows: rows, kvHead: kvh, positions: lo..<hi, shape: c,
                               out: partials + first * c.valueLength, outStride: parts * c.valueLength,
                               normalize: false, stats: stats + first, statsStride: parts, scratch: scratch)
                }
            }
        }
        for t in 0..<count where splits[t] != nil {
            for h in 0..<c.headCount {
                let first = (t * c.headCount + h) * parts
                mergeAttentionPartials(partials + first * c.valueLength, stats: stats + first, count: parts,
                                       length: c.valueLength, out: out + t * c.outputWidth + h * c.valueLength)
            }
        }
    }

    /// Attention of a long batch as matrix products, as ggml's tiled flash attention forms it: per head
    /// and chunk of tokens, the scores S = Q·Kᵀ × scale over every position the chunk sees, then the
    /// masked (causal, and the sliding window) online softmax times V in tiles of 64 keys.
    /// scratch.keys/values hold positions first..<start+n.
    private func attendBatched(q: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, tokens n: Int, start: Int,
                               first: Int, shape c: AttentionShape, scratch: AttentionScratch) {
        let window = c.window
        let chunk = 32, chunks = (n + chunk - 1) / chunk
        let group = c.headCount / c.headCountKV
        // Every KV head's keys in panels of eight, once per layer (each query chunk reads them).
        let span = start + n - first, panelFloats = keyPanelCount(positions: span, length: c.keyLength)
        let panels = UnsafeMutablePointer<Float>.allocate(capacity: c.headCountKV * panelFloats)
        // And every KV head's values side by side (row j of head h at (h·span + j)·valueLength), so that a
        // tile's 64 value rows are one contiguous run for the prefetchers, not rows a cache row apart.
        let valueRows = UnsafeMutablePointer<Float>.allocate(capacity: c.headCountKV * span * c.valueLength)
        defer { panels.deallocate(); valueRows.deallocate() }
        pool.parallelFor(c.headCountKV) { kvh in
            packKeyPanels(keys: scratch.keys + kvh * c.keyLength, keyStride: c.keyWidth, positions: span,
                          length: c.keyLength, into: panels + kvh * panelFloats)
            for j in 0..<span {
                (valueRows + (kvh * span + j) * c.valueLength).update(
                    from: scratch.values + j * c.valueWidth + kvh * c.valueLength, count: c.valueLength)
            }
        }
        // The last chunks first: a chunk's work grows with the positions it sees, so the threads claim the
        // largest units first and the smallest last, and finish nearly together (a unit's sums are its own).
        pool.parallelFor(c.headCount * chunks) { unit in
            let h = unit % c.headCount, t0 = (chunks - 1 - unit / c.headCount) * chunk
            let m = min(n, t0 + chunk) - t0, kvh = h / group
            // From the panel holding the chunk's first attended key; keys before it are masked below.
            let lo = first + (firstAttendedPosition(for: start + t0, window: window) - first) / 8 * 8
            let hi = start + t0 + m
            let p = hi - lo
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: m * p)
            defer { scores.deallocate() }
            attentionScores(q: q + t0 * c.queryWidth + h * c.keyLength, queryStride: c.queryWidth,
                            keyPanels: panels + kvh * panelFloats + (lo - first) * c.keyLength,
                            rows: m, positions: p, length: c.keyLength, scale: c.scoreScale, into: scores)
            if let cap = c.logitSoftcap { softcap(scores, count: m * p, cap: cap) }
            var r = 0
            while r < m {
                let count = min(4, m - r)
                attendTiledRows(count, scores: scores + r * p, scoreStride: p, p0: lo,
                                attended: { k in
                                    let position = start + t0 + r + k
                                    return firstAttendedPosition(for: position, window: window)...position
                                },
                                values: valueRows + (kvh * span + lo - first) * c.valueLength,
                                valueStride: c.valueLength, length: c.valueLength,
                                out: out + (t0 + r) * c.outputWidth + h * c.valueLength, outputStride: c.outputWidth)
                r += count
            }
        }
    }

    /// softmax(q·Kᵀ × scale) · V in F32 (keys/values rows are strided by the cache row widths).
    private func attendFloat(q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                             positions: ClosedRange<Int>, shape c: AttentionShape, out: UnsafeMutablePointer<Float>,
                             scores: UnsafeMutablePointer<Float>) {
        let lo = positions.lowerBound
        for j in positions { scores[j - lo] = dot(q, keys + j * c.keyWidth, count: c.keyLength) * c.scoreScale }
        if let cap = c.logitSoftcap { softcap(scores, count: positions.count, cap: cap) }
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

    /// llama.cpp's one-row flash attention over an F16 cache (`ggml_compute_forward_flash_attn_ext_f16_one_chunk`):
    /// q rounded to F16, an online softmax whose V accumulator is rounded to F16 after every step.
    /// Matching it matters: small models are sensitive to these roundings at the 0.1-nat level.
    ///
    /// Runs the `heads` query heads of KV head `kvHead` together over `positions` (q holds them one after
    /// the other; head g's output goes to `out + g·outStride`, its maximum and sum to
    /// `stats[g·statsStride]`), reading the cache's F16 rows in place: first every score (they do not
    /// depend on the softmax, so the dot products overlap), then the online softmax over V. Each head's
    /// numbers are those of attending it alone. With `normalize` false the outputs stay undivided, one
    /// part of a split cache to merge (``mergeAttentionPartials``), as llama.cpp does.
    /// `scratch` holds heads × (keyLength + positions.count + 2) floats.
    private func attendHalf(q: UnsafePointer<Float>, heads: Int, rows: KVHalfRows, kvHead: Int,
                            positions: Range<Int>, shape c: AttentionShape, out: UnsafeMutablePointer<Float>,
                            outStride: Int, normalize: Bool, stats: UnsafeMutablePointer<(maximum: Float, sum: Float)>,
                            statsStride: Int, scratch: UnsafeMutablePointer<Float>) {
        let count = positions.count, scale = c.scoreScale
        let qHalf = scratch, scores = scratch + heads * c.keyLength
        for i in 0..<(heads * c.keyLength) { qHalf[i] = Float(Float16(q[i])) }
        precondition(positions.upperBound <= rows.positions.upperBound, "attended positions outside the cache view")
        let firstSlot = rows.slot(of: positions.lowerBound)
        let keys = rows.keys + kvHead * c.keyLength, values = rows.values + kvHead * c.valueLength
        // The AVX2 kernels prefetch the rows they read. Elsewhere the scores go in runs of 16 rows, and
        // before each run the rows of the next are touched (the portable build has no prefetch), so
        // their loads overlap this run's products, and V is in cache for the second pass.
        let run = kernelsUseAVX2 ? max(1, count) : 16
        var touched: UInt16 = 0
        var slot = firstSlot
        for start in stride(from: 0, to: count, by: run) {
            let n = min(run, count - start)
            var aheadSlot = (slot + run) % rows.ringRows
            for _ in 0..<max(0, min(run, count - start - run)) {
                let kr = UnsafeRawPointer(keys + aheadSlot * rows.keyWidth)
                let vr = UnsafeRawPointer(values + aheadSlot * rows.valueWidth)
                touched &+= kr.load(as: UInt16.self) &+ kr.load(fromByteOffset: 2 * c.keyLength - 2, as: UInt16.self)
                touched &+= vr.load(as: UInt16.self) &+ vr.load(fromByteOffset: 2 * c.valueLength - 2, as: UInt16.self)
                aheadSlot = rows.slot(after: aheadSlot)
            }
            scoresOfHeads(heads: heads, q: qHalf, keys: keys, rowStride: rows.keyWidth, firstSlot: slot,
                          ringRows: rows.ringRows, count: n, length: c.keyLength, scale: scale,
                          scores: scores + start, scoreStride: count)
            slot = (slot + n) % rows.ringRows
        }
        touchSink.store(Int(touched), ordering: .relaxed)  // an observable use, so the loads stay
        if let cap = c.logitSoftcap { softcap(scores, count: heads * count, cap: cap) }
        // The heads of a KV head in passes of up to four (each pass reads the value rows once).
        var g = 0
        while g < heads {
            let n = min(4, heads - g)
            attendRoundingToHalf(heads: n, scores: scores + g * count, scoreStride: count, count: count,
                                 values: values, rowStride: rows.valueWidth, firstSlot: firstSlot,
                                 ringRows: rows.ringRows, length: c.valueLength, out: out + g * outStride,
                                 outStride: outStride, normalize: normalize, stats: stats + g * statsStride,
                                 statsStride: statsStride)
            g += n
        }
    }
}

/// The float copies of a cache's keys and values that the batched paths read: `capacity` positions.
public final class AttentionScratch: @unchecked Sendable {
    public let capacity: Int
    let keys: UnsafeMutablePointer<Float>
    let values: UnsafeMutablePointer<Float>

    /// Bytes the two copies hold.
    public let byteCount: Int

    public init(capacity: Int, keyWidth: Int, valueWidth: Int) {
        self.capacity = capacity
        keys = .allocate(capacity: max(1, capacity * keyWidth))
        values = .allocate(capacity: max(1, capacity * valueWidth))
        byteCount = (max(1, capacity * keyWidth) + max(1, capacity * valueWidth)) * MemoryLayout<Float>.stride
    }

    deinit {
        keys.deallocate()
        values.deallocate()
    }
}

/// cap·tanh(s) for each score already multiplied by scale/cap, as ggml's flash attention applies
/// `logit_softcap` (tanhf, the C library's).
@inline(__always)
func softcap(_ scores: UnsafeMutablePointer<Float>, count: Int, cap: Float) {
    for i in 0..<count { scores[i] = cap * tanhf(scores[i]) }
}

/// Where one-token attention stores the sum of the cache values it touches ahead of use (see
/// `attendHalf`): nothing reads it, but its store keeps the compiler from dropping those loads.
private let touchSink = Atomic<Int>(0)
