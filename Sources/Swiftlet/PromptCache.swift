import SwiftletKVCache
import SwiftletModel

/// KV prefixes kept in host memory after their sequence's slot went to another prompt (llama-server's
/// `--cache-ram`), so that a conversation's next turn, arriving after a title or summary request took
/// its slot, restores its prefix instead of evaluating it again, in whatever slot it lands.
///
/// Entries are whole sequences (prompt and answer), evicted least recently used first to stay within
/// `limit` bytes. Only the scheduler thread uses it.
final class PromptCache {
    struct Entry {
        let tokens: [Int]
        let cache: KVCache
        var lastUsed: UInt64
    }

    /// Bytes the entries may take in all.
    let limit: Int
    /// Sequences shorter than this are not worth a copy.
    let minimumTokens = 16
    private(set) var entries: [Entry] = []
    private(set) var bytes = 0
    private var clock: UInt64 = 0

    init(limit: Int) { self.limit = max(0, limit) }

    /// Keeps a copy of what `state` holds, unless an entry already holds it (or more of the same
    /// sequence). Entries it extends are dropped; the oldest go until the cache fits its limit.
    func save(_ state: SequenceState) {
        let tokens = state.tokens
        guard limit > 0, tokens.count >= minimumTokens else { return }
        if let i = entries.firstIndex(where: { $0.tokens.starts(with: tokens) }) {
            clock += 1
            entries[i].lastUsed = clock
            return
        }
        let size = KVCache.byteCount(layers: state.cache.layers, capacity: tokens.count,
                                     maxBatch: state.cache.maxBatch, keyStorage: state.cache.keyStorage,
                                     valueStorage: state.cache.valueStorage)
        // The limit is an upper bound, not a reservation: a copy the machine cannot spare now is skipped.
        guard size <= limit, (try? MemoryBudget.current().check(size + (256 << 20), for: "")) != nil,
              let copy = try? state.snapshot() else { return }
        entries.removeAll { entry in
            guard tokens.starts(with: entry.tokens) else { return false }
            bytes -= entry.cache.byteCount
            return true
        }
        while bytes + copy.cache.byteCount > limit, let oldest = entries.indices.min(by: {
            entries[$0].lastUsed < entries[$1].lastUsed
        }) {
            bytes -= entries[oldest].cache.byteCount
            entries.remove(at: oldest)
        }
        clock += 1
        entries.append(Entry(tokens: copy.tokens, cache: copy.cache, lastUsed: clock))
        bytes += copy.cache.byteCount
    }

    /// Restores into `state` the entry sharing the longest prefix with `tokens`, when that prefix is
    /// longer than `atLeast` (what the sequence can already give back). `margin` positions are left to
    /// evaluate (1 for a prompt, whose last token must run to give logits). Returns the positions
    /// restored, or nil when no entry beats `atLeast` or the copy fails.
    func restore(into state: SequenceState, for tokens: [Int], beyond atLeast: Int, margin: Int) -> Int? {
        var best: (index: Int, length: Int)?
        for (i, entry) in entries.enumerated() {
            let length = min(commonPrefixLength(entry.tokens, tokens), max(0, tokens.count - margin))
            if length > (best?.length ?? atLeast) { best = (i, length) }
        }
        guard let best else { return nil }
        clock += 1
        entries[best.index].lastUsed = clock
        let entry = entries[best.index]
        do {
            try state.restore(from: entry.cache, tokens: entry.tokens, count: best.length)
        } catch {
            return nil
        }
        return best.length
    }
}
