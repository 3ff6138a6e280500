import SwiftletChat
import SwiftletGrammar
import SwiftletSampling

/// How to generate: length, sampling, stop strings, and what the output must look like.
public struct GenerationOptions: Sendable {
    /// The most tokens to generate; nil generates until an end-of-generation token or the context is full.
    public var maxTokens: Int?
    /// Sampler settings (temperature, top-k/p, penalties, seed…).
    public var sampling: SamplingParameters
    /// Generation stops when the text contains one of these; the stop string itself is not emitted.
    public var stop: [String]
    /// A GBNF grammar (llama.cpp's format) the output must follow: each token is chosen among those the
    /// grammar allows, and the end of generation only where the grammar can end.
    public var grammar: String?
    /// A JSON schema the output must follow (turned into a grammar as llama.cpp's converter does);
    /// `{"type": "object"}` asks for any JSON object. Keywords that cannot be enforced are an error.
    public var jsonSchema: JSONValue?
    /// Tools the model may call (chat only); calls arrive as ``GenerationEvent/toolCall(_:)``.
    public var tools: [ToolDefinition]
    /// Whether and which tool the model must call.
    public var toolChoice: ToolChoice
    /// Whether the model may call several tools in one answer.
    public var parallelToolCalls: Bool
    /// Extra variables for the chat template, such as `enable_thinking` (llama-server's
    /// `chat_template_kwargs`).
    public var templateVariables: [String: JSONValue]
    /// Whether the generation may wait for others: a ``GenerationPriority/background`` one (a chat title, a
    /// summary) starts, and evaluates its prompt, only while no foreground request is waiting.
    public var priority: GenerationPriority

    /// Options with the given values; by default llama.cpp's sampler settings, no token limit but the
    /// context, no stop strings and no constraint on the output.
    public init(maxTokens: Int? = nil, sampling: SamplingParameters = SamplingParameters(), stop: [String] = [],
                grammar: String? = nil, jsonSchema: JSONValue? = nil, tools: [ToolDefinition] = [],
                toolChoice: ToolChoice = .auto, parallelToolCalls: Bool = true,
                templateVariables: [String: JSONValue] = [:], priority: GenerationPriority = .foreground) {
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stop = stop
        self.grammar = grammar
        self.jsonSchema = jsonSchema
        self.tools = tools
        self.toolChoice = toolChoice
        self.parallelToolCalls = parallelToolCalls
        self.templateVariables = templateVariables
        self.priority = priority
    }
}

/// How a generation ranks against others waiting for the same model.
public enum GenerationPriority: String, Sendable, CaseIterable {
    /// Served first come, first served (the default).
    case foreground
    /// Served only when no foreground generation is waiting, so side requests never delay an answer.
    case background
}

/// Why a generation ended.
public enum FinishReason: String, Sendable {
    /// An end-of-generation token or a stop string.
    case stop
    /// `maxTokens` reached, or the context is full.
    case length
    /// The generation was stopped: ``GenerationStream/cancel()``, or the consuming task was cancelled
    /// (a consumer still iterating receives this last summary).
    case cancelled
    /// The answer ended with tool calls.
    case toolCalls = "tool_calls"
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

/// One event of a generation stream: text, reasoning and tool calls as they are produced, then a summary.
public enum GenerationEvent: Sendable {
    /// A piece of the answer.
    case text(String)
    /// A piece of the thinking a reasoning model does before it answers (`<think>…</think>`).
    case reasoning(String)
    /// A piece of a tool call as it is generated: the first piece of each call has its id and name, the
    /// following ones pieces of its arguments' JSON text. ``toolCall(_:)`` follows with the whole call.
    case toolCallDelta(ToolCallDelta)
    /// A complete tool call.
    case toolCall(ChatToolCall)
    /// The end, with counts and timings.
    case finished(GenerationSummary)
}

/// A piece of a tool call being generated.
public struct ToolCallDelta: Sendable, Equatable {
    /// Which call of the answer (0, 1, …).
    public var index: Int
    /// The call's id and function name, in its first piece only.
    public var id: String?
    public var name: String?
    /// A piece of the arguments' JSON text.
    public var arguments: String
}

/// The stream `Model.chat` and `Model.complete` return: text deltas, then one
/// ``GenerationEvent/finished(_:)``.
///
/// The generation stops within one token, and its sequence is freed, when the consuming task is
/// cancelled, when the consumer stops iterating (leaves its `for try await` loop early, or its iterator
/// is released), or when ``cancel()`` is called.
///
/// Iterating throws only ``SwiftletError`` (``SwiftletError/engine(_:)`` when the forward pass fails
/// mid-generation); errors found before generation starts are thrown by the call that returns the stream.
public struct GenerationStream: AsyncSequence, Sendable {
    public typealias Element = GenerationEvent
    public typealias Failure = SwiftletError

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

    /// Iterates the events; when the iterating task is cancelled before the `.finished` event, the
    /// generation stops and `next()` throws ``SwiftletError/cancelled`` instead of ending quietly.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<GenerationEvent, any Error>.AsyncIterator
        let stopper: Stopper
        var ended = false

        public mutating func next() async throws(SwiftletError) -> GenerationEvent? {
            let event: GenerationEvent?
            do { event = try await base.next() } catch { throw SwiftletError.wrapping(error) }
            return try settle(event)
        }

        public mutating func next(isolation actor: isolated (any Actor)?) async throws(SwiftletError)
            -> GenerationEvent? {
            let event: GenerationEvent?
            do { event = try await base.next(isolation: actor) } catch { throw SwiftletError.wrapping(error) }
            return try settle(event)
        }

        private mutating func settle(_ event: GenerationEvent?) throws(SwiftletError) -> GenerationEvent? {
            if case .finished = event { ended = true }
            if event == nil, !ended {
                ended = true
                if Task.isCancelled { throw .cancelled }
            }
            return event
        }
    }

    /// Stops the generation when the last iterator holding it goes away.
    final class Stopper: Sendable {
        let stop: @Sendable () -> Void
        init(_ stop: @escaping @Sendable () -> Void) { self.stop = stop }
        deinit { stop() }
    }
}
