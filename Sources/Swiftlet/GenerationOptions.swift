import SwiftletSampling

/// How to generate: length, sampling and stop strings.
public struct GenerationOptions: Sendable {
    /// The most tokens to generate; nil generates until an end-of-generation token or the context is full.
    public var maxTokens: Int?
    /// Sampler settings (temperature, top-k/p, penalties, seed…).
    public var sampling: SamplingParameters
    /// Generation stops when the text contains one of these; the stop string itself is not emitted.
    public var stop: [String]

    /// Options with the given values; by default llama.cpp's sampler settings, no token limit but the
    /// context, and no stop strings.
    public init(maxTokens: Int? = nil, sampling: SamplingParameters = SamplingParameters(), stop: [String] = []) {
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stop = stop
    }
}

/// Why a generation ended.
public enum FinishReason: String, Sendable {
    /// An end-of-generation token or a stop string.
    case stop
    /// `maxTokens` reached, or the context is full.
    case length
    /// The consumer stopped listening.
    case cancelled
}

/// What a finished generation reports.
public struct GenerationSummary: Sendable {
    public var finishReason: FinishReason
    /// Tokens in the prompt.
    public var promptTokens: Int
    /// Prompt tokens whose keys and values were reused from the cache (not evaluated again).
    public var cachedPromptTokens: Int
    /// Prompt tokens actually evaluated: `promptTokens - cachedPromptTokens`.
    public var evaluatedPromptTokens: Int { promptTokens - cachedPromptTokens }
    /// Tokens generated (an end-of-generation token is not counted).
    public var completionTokens: Int
    /// Seconds from the request's start of processing to the first generated token.
    public var timeToFirstToken: Double
    /// Seconds spent evaluating the prompt.
    public var promptSeconds: Double
    /// Seconds spent generating after the first token.
    public var generationSeconds: Double
    /// Seconds the request waited in the queue for a free sequence.
    public var queueSeconds: Double

    /// Generated tokens per second (after the first).
    public var tokensPerSecond: Double {
        completionTokens > 1 && generationSeconds > 0 ? Double(completionTokens - 1) / generationSeconds : 0
    }
}

/// One event of a generation stream: text as it is produced, then a summary.
public enum GenerationEvent: Sendable {
    case text(String)
    case finished(GenerationSummary)
}

/// The stream `Model.chat` and `Model.complete` return. Cancelling the consuming task (or dropping the
/// stream) stops the generation within one token and frees its sequence.
public typealias GenerationStream = AsyncThrowingStream<GenerationEvent, any Error>
