/// Counters the engine keeps for monitoring (the server's /metrics).
public struct EngineMetrics: Sendable {
    /// Generations submitted since load.
    public var requests = 0
    /// Generations waiting for a free sequence.
    public var queueDepth = 0
    /// Generations running now.
    public var activeSequences = 0
    /// Prompt tokens evaluated (cached ones excluded).
    public var promptTokens = 0
    /// Prompt tokens reused from a sequence's cache instead of evaluated.
    public var cachedPromptTokens = 0
    /// Tokens generated.
    public var completionTokens = 0
    /// Generations that ended (any finish reason).
    public var finishedRequests = 0
    /// Sum over finished generations of the seconds to their first token.
    public var timeToFirstTokenSecondsTotal = 0.0
    /// Sum over finished generations of the seconds spent after their first token.
    public var generationSecondsTotal = 0.0
    /// Sum over finished generations of the tokens generated after the first.
    public var generatedAfterFirstTotal = 0
    /// Bytes of KV cache allocated for all sequences.
    public var kvCacheBytes = 0
    /// Bytes the prompt cache holds in host memory, and its entries (``Model/LoadOptions/promptCacheBytes``).
    public var promptCacheBytes = 0
    public var promptCacheEntries = 0
    /// Background generations suspended so that a foreground one could start.
    public var suspendedRequests = 0
    /// Decoding steps run, and the sequences they advanced in all (their ratio is the mean batch).
    public var decodeSteps = 0
    public var decodeRows = 0
    /// Tokens per second over every finished request's generation phase.
    public var tokensPerSecond: Double {
        generationSecondsTotal > 0 ? Double(generatedAfterFirstTotal) / generationSecondsTotal : 0
    }

    mutating func record(_ s: GenerationSummary) {
        finishedRequests += 1
        timeToFirstTokenSecondsTotal += s.timeToFirstToken
        generationSecondsTotal += s.generationSeconds
        generatedAfterFirstTotal += max(0, s.completionTokens - 1)
    }

    /// Adds `other`'s counters; its gauges replace these when `gauges` is set.
    mutating func accumulate(_ other: EngineMetrics, gauges: Bool = false) {
        requests += other.requests
        promptTokens += other.promptTokens
        cachedPromptTokens += other.cachedPromptTokens
        completionTokens += other.completionTokens
        finishedRequests += other.finishedRequests
        timeToFirstTokenSecondsTotal += other.timeToFirstTokenSecondsTotal
        generationSecondsTotal += other.generationSecondsTotal
        generatedAfterFirstTotal += other.generatedAfterFirstTotal
        suspendedRequests += other.suspendedRequests
        decodeSteps += other.decodeSteps
        decodeRows += other.decodeRows
        if gauges {
            queueDepth = other.queueDepth
            activeSequences = other.activeSequences
            kvCacheBytes = other.kvCacheBytes
            promptCacheBytes = other.promptCacheBytes
            promptCacheEntries = other.promptCacheEntries
        }
    }
}
