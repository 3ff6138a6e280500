import Foundation
import Synchronization
import SwiftletChat
import SwiftletGrammar
import SwiftletKVCache
import SwiftletModel
import SwiftletSampling
import SwiftletTokenizer

/// Runs every generation of one loaded model on a dedicated thread.
///
/// The model's memory is split into `parallel` sequences (slots), each with its own KV cache of
/// `context` positions. A request waits in a FIFO queue until a slot is free, then takes the free slot
/// whose cached tokens share the longest prefix with its prompt (so a conversation's next turn evaluates
/// only its new tokens). Active sequences advance in turns: a chunk of prompt or one decoded token each,
/// so one long prompt does not stall the others' streams.
final class Scheduler: @unchecked Sendable {
    // @unchecked: all mutable state is guarded by `condition`, except each slot's cache, which only the
    // scheduler thread touches.
    let model: SwiftletModel.Transformer
    let tokenizer: Tokenizer
    let endOfGeneration: Set<Int>
    let context: Int
    /// Prompt tokens evaluated per turn of a sequence, so others keep streaming during a long prompt.
    let prefillChunk = 256

    private let condition = NSCondition()
    private var slots: [Slot]
    private var waiting: [Job] = []
    private var active: [Job] = []
    private var stopped = false
    let metrics = Mutex(EngineMetrics())

    final class Slot {
        /// The slot's cache and the tokens it holds (prefix reuse, saved prompt logits).
        let sequence: SequenceState
        var busy = false
        var lastUsed: UInt64 = 0
        init(cache: KVCache) { sequence = SequenceState(cache: cache) }
    }

    /// One request in flight.
    final class Job: @unchecked Sendable {
        let prompt: [Int]
        let options: GenerationOptions
        let continuation: AsyncThrowingStream<GenerationEvent, any Error>.Continuation
        let cancelled = Atomic<Bool>(false)
        let enqueued = DispatchTime.now().uptimeNanoseconds
        var slot: Slot?
        var sampler: Sampler
        var stops: StopStringMatcher
        var decoder: StreamingDecoder
        /// Prompt tokens already in the cache (reused or evaluated).
        var evaluated = 0
        var cached = 0
        var generated: [Int] = []
        var pendingToken: Int?
        /// Logits saved with the slot's sequence for this very prompt (see ``SequenceState``).
        var reusedLogits: [Float]?
        var started: UInt64 = 0
        var firstToken: UInt64 = 0
        var promptDone: UInt64 = 0
        /// The grammar the tokens must follow, if any.
        var grammar: GrammarMatcher?
        /// Reads a chat answer's text into content, reasoning and tool calls; nil passes text through.
        var reader: ChatOutputParser?
        /// Tool calls begun so far: their ids and names, and their arguments as generated.
        var calls: [ChatToolCall] = []

        init(prompt: [Int], options: GenerationOptions, sampler: Sampler, tokenizer: Tokenizer,
             output: GenerationOutput, continuation: AsyncThrowingStream<GenerationEvent, any Error>.Continuation) {
            self.prompt = prompt
            self.options = options
            self.sampler = sampler
            self.grammar = output.grammar
            self.reader = output.reader
            self.stops = StopStringMatcher(stops: options.stop)
            self.decoder = StreamingDecoder(tokenizer: tokenizer)
            self.continuation = continuation
        }
    }

    init(model: SwiftletModel.Transformer, tokenizer: Tokenizer, endOfGeneration: Set<Int>, context: Int,
         parallel: Int, keyCache: KVStorageType = .f16, valueCache: KVStorageType = .f16) throws(ModelError) {
        self.model = model
        self.tokenizer = tokenizer
        self.endOfGeneration = endOfGeneration
        self.context = context
        var slots: [Slot] = []
        for _ in 0..<parallel {
            slots.append(Slot(cache: try model.makeCache(context: context, keyStorage: keyCache, valueStorage: valueCache)))
        }
        self.slots = slots
        metrics.withLock { m in m.kvCacheBytes = slots.reduce(0) { $0 + $1.sequence.cache.byteCount } }
        // The thread holds the scheduler until `shutdown()` ends its loop.
        let thread = Thread { self.run() }
        thread.name = "swiftlet-scheduler"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Queues a generation of `prompt` and returns its event stream.
    func submit(prompt: [Int], options: GenerationOptions,
                output: GenerationOutput = GenerationOutput()) throws(SwiftletError) -> GenerationStream {
        guard !prompt.isEmpty else { throw SwiftletError.emptyPrompt }
        guard prompt.count < context else {
            throw SwiftletError.contextLengthExceeded(promptTokens: prompt.count, contextLength: context)
        }
        if let max = options.maxTokens, max < 0 {
            throw SwiftletError.invalidOption("maxTokens must be at least 0, got \(max)")
        }
        let sampler: Sampler
        do { sampler = try Sampler(parameters: options.sampling) } catch {
            throw SwiftletError.invalidOption(error.description)
        }
        let (stream, continuation) = AsyncThrowingStream<GenerationEvent, any Error>.makeStream()
        let job = Job(prompt: prompt, options: options, sampler: sampler, tokenizer: tokenizer, output: output,
                      continuation: continuation)
        continuation.onTermination = { [weak self, job] _ in
            job.cancelled.store(true, ordering: .relaxed)
            self?.wake()
        }
        condition.lock()
        waiting.append(job)
        metrics.withLock { $0.requests += 1; $0.queueDepth = waiting.count }
        condition.signal()
        condition.unlock()
        return GenerationStream(base: stream) { [weak self, job] in
            guard !job.cancelled.load(ordering: .relaxed) else { return }
            job.cancelled.store(true, ordering: .relaxed)
            self?.wake()
        }
    }

    /// Lets the scheduler thread end once every queued and running generation has finished (the model
    /// is gone, but streams a caller still holds complete normally).
    func shutdown() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func wake() {
        condition.lock()
        condition.signal()
        condition.unlock()
    }

    // MARK: - The scheduler thread

    private func run() {
        var clock: UInt64 = 0
        while true {
            condition.lock()
            while !stopped && active.isEmpty && waiting.isEmpty { condition.wait() }
            if stopped && active.isEmpty && waiting.isEmpty {
                condition.unlock()
                return
            }
            var abandoned: [Job] = []
            waiting.removeAll { job in
                guard job.cancelled.load(ordering: .relaxed) else { return false }
                abandoned.append(job)
                return true
            }
            while !waiting.isEmpty, let slot = bestFreeSlot(for: waiting[0].prompt) {
                let job = waiting.removeFirst()
                slot.busy = true
                job.slot = slot
                active.append(job)
            }
            metrics.withLock { $0.queueDepth = waiting.count; $0.activeSequences = active.count }
            let turn = active
            condition.unlock()

            // Finished outside the lock: ending a stream runs its termination handler, which takes the lock.
            for job in abandoned {
                // Never started: its summary says so, with the time it waited.
                let waited = Double(DispatchTime.now().uptimeNanoseconds - job.enqueued) / 1e9
                job.continuation.yield(.finished(GenerationSummary(
                    finishReason: .cancelled, promptTokens: job.prompt.count, cachedPromptTokens: 0,
                    completionTokens: 0, timeToFirstToken: 0, promptSeconds: 0, generationSeconds: 0,
                    queueSeconds: waited)))
                job.continuation.finish()
            }

            for job in turn {
                clock += 1
                job.slot?.lastUsed = clock
                let done: Bool
                do {
                    done = try step(job)
                } catch {
                    // The cache may hold part of a failed batch: forget it rather than reuse it.
                    job.slot?.sequence.reset()
                    job.continuation.finish(throwing: SwiftletError.engine(String(describing: error)))
                    done = true
                }
                if done { release(job) }
            }
        }
    }

    /// The free slot sharing the longest prefix with `prompt`; among equals, the least recently used.
    private func bestFreeSlot(for prompt: [Int]) -> Slot? {
        slots.filter { !$0.busy }.max { a, b in
            let pa = commonPrefixLength(a.sequence.tokens, prompt), pb = commonPrefixLength(b.sequence.tokens, prompt)
            return pa != pb ? pa < pb : a.lastUsed > b.lastUsed
        }
    }

    private func release(_ job: Job) {
        condition.lock()
        job.slot?.busy = false
        active.removeAll { $0 === job }
        metrics.withLock { $0.activeSequences = active.count }
        condition.unlock()
    }

    /// Advances `job` by one turn; returns true when it has finished.
    private func step(_ job: Job) throws -> Bool {
        if job.cancelled.load(ordering: .relaxed) {
            if job.started == 0 { job.started = DispatchTime.now().uptimeNanoseconds }
            return finish(job, .cancelled)
        }
        guard let slot = job.slot else { return true }
        let now = DispatchTime.now().uptimeNanoseconds

        if job.started == 0 {
            job.started = now
            let (cached, logits) = slot.sequence.reuse(for: job.prompt)
            job.cached = cached
            job.evaluated = cached
            job.reusedLogits = logits
            metrics.withLock { $0.cachedPromptTokens += job.cached }
        }

        var logits: [Float]
        if let reused = job.reusedLogits {
            logits = reused
            job.reusedLogits = nil
            job.promptDone = DispatchTime.now().uptimeNanoseconds
        } else if job.evaluated < job.prompt.count {
            let end = min(job.prompt.count, job.evaluated + prefillChunk)
            let chunk = Array(job.prompt[job.evaluated..<end])
            logits = try slot.sequence.evaluate(chunk, model: model,
                                                completing: end == job.prompt.count ? job.prompt : nil)
            metrics.withLock { $0.promptTokens += chunk.count }
            job.evaluated = end
            if end < job.prompt.count { return false }
            job.promptDone = DispatchTime.now().uptimeNanoseconds
        } else if let token = job.pendingToken {
            guard slot.sequence.cache.count < context else { return finish(job, .length) }
            logits = try slot.sequence.evaluate([token], model: model)
        } else {
            return finish(job, .length)
        }

        if let max = job.options.maxTokens, job.generated.count >= max { return finish(job, .length) }
        let history = job.prompt + job.generated
        let token: Int
        if var grammar = job.grammar {
            // llama.cpp's common_sampler_sample: the free choice if the grammar allows it, else a second
            // draw among the tokens it allows; nothing allowed ends the generation.
            guard let chosen = job.sampler.sample(&logits, history: history, isAllowed: { grammar.allows($0) },
                                                  restrict: { grammar.mask(&$0) })
            else { return finish(job, .stop) }
            if !endOfGeneration.contains(chosen) { try grammar.accept(chosen) }
            job.grammar = grammar
            token = chosen
        } else {
            token = job.sampler.sample(&logits, history: history)
        }
        if job.firstToken == 0 { job.firstToken = DispatchTime.now().uptimeNanoseconds }
        if endOfGeneration.contains(token) {
            return finish(job, .stop)
        }
        job.generated.append(token)
        job.pendingToken = token
        metrics.withLock { $0.completionTokens += 1 }

        let piece = job.decoder.append(token)
        let (emit, hitStop) = job.stops.feed(piece)
        if !emit.isEmpty { publish(emit, job) }
        if hitStop { return finish(job, .stop, flush: false) }
        if let max = job.options.maxTokens, job.generated.count >= max { return finish(job, .length) }
        if slot.sequence.cache.count >= context { return finish(job, .length) }
        return false
    }

    /// Passes generated text on: as it is, or read into content, reasoning and tool calls.
    private func publish(_ text: String, _ job: Job) {
        guard job.reader != nil else {
            job.continuation.yield(.text(text))
            return
        }
        for event in job.reader!.feed(text) { publish(event, job) }
    }

    private func publish(_ event: ChatOutputEvent, _ job: Job) {
        switch event {
        case .content(let text):
            if !text.isEmpty { job.continuation.yield(.text(text)) }
        case .reasoning(let text):
            if !text.isEmpty { job.continuation.yield(.reasoning(text)) }
        case .toolCallStart(let index, let name):
            guard index == job.calls.count else { return }
            let id = "call_" + String((0..<24).map { _ in Scheduler.idCharacters.randomElement() ?? "a" })
            job.calls.append(ChatToolCall(id: id, name: name, arguments: ""))
            job.continuation.yield(.toolCallDelta(ToolCallDelta(index: index, id: id, name: name, arguments: "")))
        case .toolCallArguments(let index, let delta):
            guard job.calls.indices.contains(index), !delta.isEmpty else { return }
            job.calls[index].arguments += delta
            job.continuation.yield(.toolCallDelta(ToolCallDelta(index: index, arguments: delta)))
        case .toolCallID:
            // The id the model wrote (Mistral) comes after the call began; the one already sent stays.
            break
        case .toolCallEnd(let index):
            guard job.calls.indices.contains(index) else { return }
            job.continuation.yield(.toolCall(job.calls[index]))
        }
    }

    static let idCharacters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

    private func finish(_ job: Job, _ reason: FinishReason, flush: Bool = true) -> Bool {
        if flush {
            let (emit, _) = job.stops.feed(job.decoder.flush())
            let rest = emit + job.stops.flush()
            if !rest.isEmpty { publish(rest, job) }
        }
        if job.reader != nil {
            for event in job.reader!.finish() { publish(event, job) }
        }
        let reason = reason == .stop && !job.calls.isEmpty ? FinishReason.toolCalls : reason
        let now = DispatchTime.now().uptimeNanoseconds
        let promptDone = job.promptDone == 0 ? now : job.promptDone
        let first = job.firstToken == 0 ? now : job.firstToken
        let summary = GenerationSummary(
            finishReason: reason,
            promptTokens: job.prompt.count,
            cachedPromptTokens: job.cached,
            completionTokens: job.generated.count,
            timeToFirstToken: Double(first - job.started) / 1e9,
            promptSeconds: Double(promptDone - job.started) / 1e9,
            generationSeconds: Double(now - first) / 1e9,
            queueSeconds: Double(job.started - job.enqueued) / 1e9)
        metrics.withLock { $0.record(summary) }
        // Free the sequence before the caller hears of the end, so what it does next finds it free.
        release(job)
        job.continuation.yield(.finished(summary))
        job.continuation.finish()
        return true
    }
}

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
}

/// How a generation's tokens are chosen and its text read, beyond sampling: the grammar they must follow
/// and the chat format that separates the answer from reasoning and tool calls.
struct GenerationOutput: Sendable {
    var grammar: GrammarMatcher?
    var reader: ChatOutputParser?
}
