import Foundation
import Synchronization
import SwiftletAttention
import SwiftletKVCache
import SwiftletKernels

/// The pieces every architecture's forward pass is built from: the thread pool, reusable workspaces,
/// the activation dump, and the shared steps (linear layers, row norms, attention over the KV cache,
/// the output head). Each architecture file strings these together top to bottom.
final class Runtime: Sendable {
    let config: ModelConfig
    let pool: ThreadPool
    let dumper: ActivationDump?
    let attention: CachedAttention
    private let spare = Mutex<[Workspace]>([])

    init(config: ModelConfig, threads: Int, dumpDirectory: String?) {
        self.config = config
        pool = ThreadPool(threads: max(1, threads))
        attention = CachedAttention(pool: pool)
        dumper = dumpDirectory.map(ActivationDump.init(directory:))
    }

    /// Runs `body` with a workspace fit for `tokens` × `context`, taken from (and returned to) a pool.
    /// When no spare one fits, the spares are freed first and the new one covers their sizes too: the
    /// pool then holds one workspace per concurrent pass, as large as the largest batch and context seen,
    /// instead of one per shape (tens of MB each at a large vocabulary or feed-forward width).
    func withWorkspace<R>(tokens: Int, context: Int, _ body: (Workspace) throws -> R) rethrows -> R {
        let taken = spare.withLock { list -> (fit: Workspace?, tokens: Int, context: Int) in
            if let i = list.firstIndex(where: { $0.maxTokens >= tokens && $0.context >= context }) {
                return (list.remove(at: i), tokens, context)
            }
            let size = list.reduce((tokens, context)) { (max($0.0, $1.maxTokens), max($0.1, $1.context)) }
            list.removeAll()  // freed here, before the new one is allocated
            return (nil, size.0, size.1)
        }
        let ws = taken.fit ?? Workspace(config: config, maxTokens: taken.tokens, context: taken.context)
        defer { spare.withLock { $0.append(ws) } }
        return try body(ws)
    }

    /// Bytes held by the workspaces waiting in the pool.
    var spareWorkspaceBytes: Int { spare.withLock { $0.reduce(0) { $0 + $1.byteCount } } }

    @inline(__always)
    func dump(_ name: String, _ layer: Int?, _ p: UnsafePointer<Float>, _ count: Int) {
        dumper?.write(name, layer, p, count: count)
    }

    /// y (n, w.rows) = x (n, w.columns) · wᵀ: the matvec path for one token, matmul for a batch, summed in
    /// `order` (a decoding step of several sequences passes ``ProductOrder/tokenwise``: see ``Workspace/order``).
    @inline(__always)
    func linear(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, tokens n: Int,
                order: ProductOrder = .matrixProduct) {
        if n == 1 { matvec(w, x, y, pool: pool) } else { matmul([(w, y)], x, tokens: n, pool: pool, order: order) }
    }

    /// Several products of the same input (q, k, v; gate, up) in one job on the pool.
    @inline(__always)
    func linear(_ products: [(weight: WeightMatrix, output: UnsafeMutablePointer<Float>)], _ x: UnsafePointer<Float>,
                tokens n: Int, order: ProductOrder = .matrixProduct) {
        matmul(products, x, tokens: n, pool: pool, order: order)
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

    /// act(gate) ⊙ up over `count` values (``swiglu``, ``geglu``).
    typealias GatedActivation = (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void

    /// The gated feed-forward activation, row by row: out = act(gate) · up over `rows` rows of `width`.
    func gatedActivation(_ act: GatedActivation,
                         gate: UnsafePointer<Float>, up: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        forRows(rows) { range in
            act(gate + range.lowerBound * width, up + range.lowerBound * width, out + range.lowerBound * width, range.count * width)
        }
    }

    /// The gated feed-forward block on the first `rows` rows of ws.xb (already normed): ws.xb2 (rows, dim) =
    /// down · (act(gate · x) ⊙ (up · x)), its steps dumped under llama.cpp's names (the activation's as
    /// `activationName`: ffn_swiglu, ffn_geglu).
    func gatedFeedForward(layer l: Int, _ w: FeedForwardWeights, activation: GatedActivation, activationName: String,
                          ws: Workspace, rows m: Int) {
        let dim = config.embeddingLength, ff = w.gate.rows
        linear([(w.gate, ws.hb), (w.up, ws.hb2)], ws.xb, tokens: m, order: ws.order)  // gate, up (m, ff)
        dump("ffn_gate", l, ws.hb, m * ff)
        dump("ffn_up", l, ws.hb2, m * ff)
        gatedActivation(activation, gate: ws.hb, up: ws.hb2, out: ws.hb, rows: m, width: ff)
        dump(activationName, l, ws.hb, m * ff)
        linear(w.down, ws.hb, ws.xb2, tokens: m, order: ws.order)       // (m, dim)
        dump("ffn_out", l, ws.xb2, m * dim)
    }

    /// The attention projections of ws.xb (n, dim): ws.q, ws.k, ws.v, plus their biases and per-head
    /// norms where the layer has them (dumped as llama.cpp names them before RoPE).
    func projectQKV(layer l: Int, _ a: AttentionWeights, ws: Workspace, tokens n: Int) {
        let c = config
        linear([(a.wq, ws.q), (a.wk, ws.k), (a.wv, ws.v)], ws.xb, tokens: n, order: ws.order)
        if let bq = a.bq { addBias(ws.q, bq, rows: n) }
        if let bk = a.bk { addBias(ws.k, bk, rows: n) }
        if let bv = a.bv { addBias(ws.v, bv, rows: n) }
        if let qNorm = a.qNorm {
            normRows(ws.q, qNorm, ws.q, rows: n * c.headCount, width: c.keyLength)
            dump("Qcur_normed", l, ws.q, n * c.headCount * c.keyLength)
        }
        if let kNorm = a.kNorm {
            normRows(ws.k, kNorm, ws.k, rows: n * c.headCountKV, width: c.keyLength)
            dump("Kcur_normed", l, ws.k, n * c.keyWidth)
        }
    }

    /// Dumps q, k and v after RoPE as llama.cpp names them.
    func dumpQKV(_ l: Int, _ ws: Workspace, tokens n: Int) {
        dump("Qcur", l, ws.q, n * config.headCount * config.keyLength)
        dump("Kcur", l, ws.k, n * config.keyWidth)
        dump("Vcur", l, ws.v, n * config.valueWidth)
    }

    /// Adds a bias vector to each row.
    func addBias(_ x: UnsafeMutablePointer<Float>, _ bias: Vector, rows: Int) {
        for r in 0..<rows { add(x + r * bias.count, bias.pointer, out: x + r * bias.count, count: bias.count) }
    }

    /// Rotates q (n, heads × keyLength) and k (n, kvHeads × keyLength) of the batch's rows for their
    /// positions, each angle divided by its frequency factor when the model has them (`rope_freqs`).
    func applyRoPE(q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>, batch: SequenceBatch, layer: Int,
                   factors: Vector? = nil) {
        let n = batch.count
        let c = config
        let base = c.ropeBase(ofLayer: layer), fs = c.ropeFrequencyScale(ofLayer: layer)
        let ropeDim = c.ropeDimensionCount
        let yarn = c.ropeExtensionFactor == 0 && c.ropeAttentionFactor == 1 ? nil
            : YaRN(extensionFactor: c.ropeExtensionFactor, attentionFactor: c.ropeAttentionFactor, ropeDim: ropeDim,
                   originalContext: c.ropeOriginalContextLength, base: base)
        forRows(n) { tokens in withUnsafeTemporaryAllocation(of: Float.self, capacity: max(2, ropeDim)) { angles in
            let cos = angles.baseAddress!, sin = cos + ropeDim / 2
            for t in tokens {
                ropeAngles(position: batch.positions[t], ropeDim: ropeDim, base: base, freqScale: fs,
                           factors: factors.map { UnsafePointer($0.pointer) }, yarn: yarn, cos: cos, sin: sin)
                rope(q + t * c.headCount * c.keyLength, heads: c.headCount, headDim: c.keyLength, ropeDim: ropeDim,
                     cos: cos, sin: sin, style: c.ropeStyle)
                rope(k + t * c.keyWidth, heads: c.headCountKV, headDim: c.keyLength, ropeDim: ropeDim,
                     cos: cos, sin: sin, style: c.ropeStyle)
            }
        } }
    }

    /// Attention of layer `layer` for the batch in ws.q, ws.k, ws.v into ws.att, each sequence's rows over
    /// its own cache: the model says what to attend; ``CachedAttention`` decides how.
    func attend(layer: Int, ws: Workspace, batch: SequenceBatch, scale: Float) throws(ModelError) {
        let c = config
        let shape = AttentionShape(headCount: c.headCount, headCountKV: c.headCountKV, keyLength: c.keyLength,
                                   valueLength: c.valueLength, window: c.window(ofLayer: layer), scale: scale,
                                   logitSoftcap: c.attentionLogitSoftcap)
        let qWidth = c.headCount * c.keyLength, outWidth = c.headCount * c.valueLength
        if batch.parts.count > 1, batch.parts.allSatisfy({ $0.rows.count == 1 }) {
            // A decoding step of several sequences: one dispatch for all of them.
            let done: Bool
            do {
                done = try attention.attendOnePerSequence(layer: layer, q: ws.q, k: ws.k, v: ws.v, out: ws.att,
                                                          caches: batch.parts.map(\.cache), shape: shape)
            } catch { throw .cache(error) }
            if done {
                dump("kqv_out", layer, ws.att, batch.count * outWidth)
                return
            }
        }
        for part in batch.parts {
            let r = part.rows.lowerBound
            do {
                try attention.attend(layer: layer, q: ws.q + r * qWidth, k: ws.k + r * c.keyWidth,
                                     v: ws.v + r * c.valueWidth, out: ws.att + r * outWidth, tokens: part.rows.count,
                                     start: part.start, cache: part.cache, shape: shape, scratch: ws.attention)
            } catch { throw .cache(error) }
        }
        dump("kqv_out", layer, ws.att, batch.count * outWidth)
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
    func emitLogits(ws: Workspace, rows: Range<Int>, norm: Vector, output: WeightMatrix, bias: Vector? = nil,
                    _ body: (Int, UnsafeBufferPointer<Float>) throws -> Void) rethrows {
        let dim = config.embeddingLength, vocab = config.vocabularySize
        var r = 0
        while r < rows.count {
            let m = min(ws.logitChunk, rows.count - r)
            normRows(ws.x + r * dim, norm, ws.xb, rows: m, width: dim)
            dump("result_norm", nil, ws.xb, m * dim)
            linear(output, ws.xb, ws.logits, tokens: m, order: ws.order)
            if let bias { addBias(ws.logits, bias, rows: m) }
            if let cap = config.finalLogitSoftcap {
                // Gemma 2 (llama.cpp: ggml_scale by 1/cap, ggml_tanh, ggml_scale by cap).
                for i in 0..<(m * vocab) { ws.logits[i] = tanhf(ws.logits[i] * (1 / cap)) * cap }
            }
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
