import SwiftletKVCache

/// The sequences one forward pass advances: the batch's rows in order, each sequence's rows contiguous,
/// with the KV cache they extend. A prompt is one sequence of many rows; a continuous-batching decoding
/// step is many sequences of one row each (llama.cpp's `llama_batch` with one `seq_id` per token).
struct SequenceBatch {
    /// One sequence's part of the batch.
    struct Part {
        let cache: KVCache
        /// Its rows in the batch.
        let rows: Range<Int>
        /// The position of its first row: the tokens its cache holds.
        let start: Int
    }

    let parts: [Part]
    /// The position of each row in its own sequence.
    let positions: [Int]
    /// Rows in the batch.
    var count: Int { positions.count }
    /// The context the caches were made for (the same for all): Phi-3's RoPE factors depend on it.
    var capacity: Int { parts[0].cache.capacity }

    /// `tokens` rows of one sequence, after the positions `cache` holds.
    init(cache: KVCache, tokens: Int) {
        parts = [Part(cache: cache, rows: 0..<tokens, start: cache.count)]
        positions = Array(cache.count..<(cache.count + tokens))
    }

    /// One row for each cache, after the positions it holds.
    init(caches: [KVCache]) {
        parts = caches.enumerated().map { Part(cache: $1, rows: $0..<($0 + 1), start: $1.count) }
        positions = caches.map(\.count)
    }
}
