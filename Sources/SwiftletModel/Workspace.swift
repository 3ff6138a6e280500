import SwiftletAttention
import SwiftletKernels

/// Scratch activations for one forward pass, sized for a batch and a context; reused across calls so
/// the decode loop does not allocate. Shapes are in comments as (rows, columns).
final class Workspace: @unchecked Sendable {
    let maxTokens: Int
    let context: Int
    let x: UnsafeMutablePointer<Float>      // (tokens, dim) residual stream
    let xb: UnsafeMutablePointer<Float>     // (tokens, dim) normed input / branch output
    let xb2: UnsafeMutablePointer<Float>    // (tokens, dim)
    let q: UnsafeMutablePointer<Float>      // (tokens, heads × keyLength)
    let k: UnsafeMutablePointer<Float>      // (tokens, kvHeads × keyLength)
    let v: UnsafeMutablePointer<Float>      // (tokens, kvHeads × valueLength)
    let att: UnsafeMutablePointer<Float>    // (tokens, heads × valueLength)
    let hb: UnsafeMutablePointer<Float>     // (tokens, ff)
    let hb2: UnsafeMutablePointer<Float>    // (tokens, ff)
    let attention: AttentionScratch         // the cache's keys and values as floats, for batched attention
    let logits: UnsafeMutablePointer<Float> // (logitChunk, vocab)
    /// A mixture-of-experts block's scratch (empty for dense models), kept here because a prompt's would
    /// otherwise be fresh pages (tens of MB) for every layer, each faulted in and zeroed by the kernel.
    let experts: ExpertScratch
    let logitChunk: Int
    /// The order the pass's matrix products sum in: ggml's for the batch size (a prompt), or each token
    /// as alone (``ProductOrder/tokenwise``: a decoding step of several sequences). Set per pass.
    var order: ProductOrder = .matrixProduct
    private var all: [UnsafeMutablePointer<Float>] = []
    /// Bytes this workspace holds, its attention scratch included.
    let byteCount: Int

    init(config c: ModelConfig, maxTokens: Int, context: Int) {
        self.maxTokens = maxTokens
        self.context = context
        logitChunk = min(maxTokens, 32)
        var all: [UnsafeMutablePointer<Float>] = []
        var floats = 0
        func make(_ n: Int, zeroed: Bool = true) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(1, n))
            if zeroed { p.initialize(repeating: 0, count: max(1, n)) }
            all.append(p)
            floats += max(1, n)
            return p
        }
        let n = maxTokens
        x = make(n * c.embeddingLength); xb = make(n * c.embeddingLength); xb2 = make(n * c.embeddingLength)
        q = make(n * c.headCount * c.keyLength); k = make(n * c.keyWidth); v = make(n * c.valueWidth)
        att = make(n * c.headCount * c.valueLength)
        hb = make(n * c.feedForwardLength); hb2 = make(n * c.feedForwardLength)
        attention = AttentionScratch(capacity: context, keyWidth: c.keyWidth, valueWidth: c.valueWidth)
        let k = c.expertUsedCount, moe = c.expertCount > 0
        let routeRows = moe ? n * k : 0, expertRows = moe ? n : 0, ffRows = moe ? max(n, k) : 0
        experts = ExpertScratch(outputs: make(routeRows * c.embeddingLength, zeroed: false),
                                input: make(expertRows * c.embeddingLength, zeroed: false),
                                gate: make(ffRows * c.feedForwardLength, zeroed: false),
                                up: make(ffRows * c.feedForwardLength, zeroed: false))
        // Every row of logits is written before it is read, and most passes write only the last token's:
        // left untouched, the other rows (a vocabulary each) never become resident.
        logits = make(logitChunk * c.vocabularySize, zeroed: false)
        self.all = all
        byteCount = floats * MemoryLayout<Float>.stride + attention.byteCount
    }

    deinit { all.forEach { $0.deallocate() } }

    /// Scratch of a mixture-of-experts block over up to `maxTokens` tokens, each choosing k experts.
    struct ExpertScratch {
        let outputs: UnsafeMutablePointer<Float>    // (tokens × k, dim) each route's expert output
        let input: UnsafeMutablePointer<Float>      // (tokens, dim) one expert's tokens, gathered
        let gate: UnsafeMutablePointer<Float>       // (max(tokens, k), ff)
        let up: UnsafeMutablePointer<Float>         // (max(tokens, k), ff)
    }
}
