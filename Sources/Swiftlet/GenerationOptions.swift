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

/// The stream `Model.chat` and `Model.complete` return: text deltas, then one
/// ``GenerationEvent/finished(_:)``.
///
/// The generation stops within one token, and its sequence is freed, when the consuming task is
/// cancelled, when the consumer stops iterating (leaves its `for try await` loop early, or its iterator
/// is released), or when ``cancel()`` is called.
public struct GenerationStream: AsyncSequence, Sendable {
    public typealias Element = GenerationEvent
    public typealias Failure = any Error

    let base: AsyncThrowingStream<GenerationEvent, any Error>
    let stop: @Sendable () -> Void

    init(base: AsyncThrowingStream<GenerationEvent, any Error>, stop: @escaping @Sendable () -> Void) {
        self.base = base
        self.stop = stop
    }

    /// Stops the generation.
    public func cancel() { stop() }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), stopper: Stopper(stop))
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<GenerationEvent, any Error>.AsyncIterator
        let stopper: Stopper

        public mutating func next() async throws -> GenerationEvent? { try await base.next() }
    }

    /// Stops the generation when the last iterator holding it goes away.
    final class Stopper: Sendable {
        let stop: @Sendable () -> Void
        init(_ stop: @escaping @Sendable () -> Void) { self.stop = stop }
        deinit { stop() }
    }
}
