import Foundation
import Synchronization
import SwiftletChat
import SwiftletGrammar
import SwiftletKVCache
import SwiftletModel
import SwiftletSampling
import SwiftletTokenizer

/// Runs every generation of one loaded model on a dedicated thread, with continuous batching.
///
/// The model's memory is split into `parallel` sequences (slots), each with its own KV cache of
/// `context` positions. A request waits in a queue until a slot is free, then takes the free slot whose
/// cached tokens share the longest prefix with its prompt (so a conversation's next turn evaluates only
/// its new tokens), or restores a longer prefix from the host-memory ``PromptCache``.
///
/// Each step of the loop evaluates up to ``prefillBudget`` prompt tokens (whole chunks of
/// ``prefillChunk``, the oldest request first), then advances every decoding sequence by one token in
/// a single forward pass (``SequenceState/decode(_:model:)``), so a request that arrives mid-stream joins
/// at the next step and a long prompt holds the streams up for one chunk at a time.
///
/// Background requests (``GenerationPriority/background``) start, and evaluate their prompts, only
/// while no foreground request waits; one that holds a slot a foreground request needs is suspended
/// (its sequence goes to the prompt cache) and resumes later where it stopped.
final class Scheduler: @unchecked Sendable {
    // @unchecked: all mutable state is guarded by `condition`, except the slots' sequences and the prompt
    // cache, which only the scheduler thread touches.
    let model: SwiftletModel.Transformer
    let tokenizer: Tokenizer
    let endOfGeneration: Set<Int>
    let context: Int
    /// Prompt tokens evaluated per forward pass of one sequence. Fixed, so that a prompt's numbers do not
    /// depend on what else runs (the products' order of additions depends on the batch size).
    let prefillChunk = 256
    /// Prompt tokens evaluated per step of the loop, between two decoding steps of the running streams:
    /// whole chunks, at least one, until this many (a few short prompts, or one chunk of a long one).
    let prefillBudget = 64

    private let condition = NSCondition()
    private var slots: [Slot]
    private var waiting: [Job] = []
    private var active: [Job] = []
    private var stopped = false
    private let promptCache: PromptCache
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
        /// Set when the job gets a slot; its sequence is set up at the next step.
        var needsSetup = false
        var sampler: Sampler
        var stops: StopStringMatcher
        var decoder: StreamingDecoder
        /// The tokens the sequence must hold before the next step: the prompt, or for a suspended job
        /// that resumes, the prompt and what it generated before its pending token.
        var needed: [Int]
        /// How many of `needed` the cache holds.
        var evaluated = 0
        /// Whether the job is evaluating `needed` to resume (its next token is chosen already).
        var resuming = false
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

        var isBackground: Bool { options.priority == .background }
        var inPrompt: Bool { slot != nil && !needsSetup && evaluated < needed.count }

        init(prompt: [Int], options: GenerationOptions, sampler: Sampler, tokenizer: Tokenizer,
             output: GenerationOutput, continuation: AsyncThrowingStream<GenerationEvent, any Error>.Continuation) {
            self.prompt = prompt
            self.needed = prompt
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
         parallel: Int, promptCacheBytes: Int, keyCache: KVStorageType = .f16,
         valueCache: KVStorageType = .f16) throws(ModelError) {
        self.model = model
        self.tokenizer = tokenizer
        self.endOfGeneration = endOfGeneration
        self.context = context
        promptCache = PromptCache(limit: promptCacheBytes)
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
            admit()
            let foregroundWaiting = waiting.contains { !$0.isBackground }
            metrics.withLock { $0.queueDepth = waiting.count; $0.activeSequences = active.count }
            let turn = active
            condition.unlock()

            // Finished outside the lock: ending a stream runs its termination handler, which takes the lock.
            for job in abandoned where job.started == 0 {
                // Never started: its summary says so, with the time it waited.
                let waited = Double(DispatchTime.now().uptimeNanoseconds - job.enqueued) / 1e9
                job.continuation.yield(.finished(GenerationSummary(
                    finishReason: .cancelled, promptTokens: job.prompt.count, cachedPromptTokens: 0,
                    completionTokens: 0, timeToFirstToken: 0, promptSeconds: 0, generationSeconds: 0,
                    queueSeconds: waited)))
                job.continuation.finish()
            }
            // A suspended job that was cancelled while waiting to resume ends as a cancelled generation.
            for job in abandoned where job.started != 0 { _ = finish(job, .cancelled) }

            var running: [Job] = []
            for job in turn {
                clock += 1
                job.slot?.lastUsed = clock
                if job.cancelled.load(ordering: .relaxed) {
                    if job.started == 0 { job.started = DispatchTime.now().uptimeNanoseconds }
                    _ = finish(job, .cancelled)
                } else {
                    if job.needsSetup { setUp(job) }
                    running.append(job)
                }
            }
            running = prefill(running, foregroundWaiting: foregroundWaiting)
            decode(running)
        }
    }

    /// Gives waiting jobs free slots: foreground jobs first, in arrival order; background jobs only when
    /// no foreground job waits. A foreground job that finds every slot busy takes one from a running
    /// background job, which is suspended. Called with the lock held.
    private func admit() {
        while let index = waiting.firstIndex(where: { !$0.isBackground }) ?? waiting.indices.first {
            let job = waiting[index]
            var slot = bestFreeSlot(for: job.needed)
            if slot == nil, !job.isBackground, let victim = active.last(where: { $0.isBackground }) {
                // The victim's sequence stays in its slot until the foreground job's setup saves it to
                // the prompt cache; it resumes from there.
                active.removeAll { $0 === victim }
                victim.slot?.busy = false
                slot = victim.slot
                victim.slot = nil
                victim.needsSetup = false
                // With its next token chosen, it needs what it generated before that; otherwise its prompt.
                victim.resuming = victim.pendingToken != nil
                victim.needed = victim.prompt + (victim.resuming ? victim.generated.dropLast() : [])
                waiting.insert(victim, at: 0)
                metrics.withLock { $0.suspendedRequests += 1 }
            }
            guard let slot, let at = waiting.firstIndex(where: { $0 === job }) else { return }
            waiting.remove(at: at)
            slot.busy = true
            job.slot = slot
            job.needsSetup = true
            active.append(job)
        }
    }

    /// The free slot sharing the longest prefix with `tokens`; among equals, the least recently used.
    private func bestFreeSlot(for tokens: [Int]) -> Slot? {
        slots.filter { !$0.busy }.max { a, b in
            let pa = commonPrefixLength(a.sequence.tokens, tokens), pb = commonPrefixLength(b.sequence.tokens, tokens)
            return pa != pb ? pa < pb : a.lastUsed > b.lastUsed
        }
    }

    /// Sets up a job's sequence in its new slot: what the slot held goes to the prompt cache unless the
    /// job keeps all of it; then the longest prefix of what the job needs comes from the slot itself or
    /// from the prompt cache, whichever gives more.
    private func setUp(_ job: Job) {
        guard let slot = job.slot else { return }
        job.needsSetup = false
        job.reusedLogits = nil
        let sequence = slot.sequence
        let shared = commonPrefixLength(sequence.tokens, job.needed)
        if shared < sequence.tokens.count { promptCache.save(sequence) }
        let margin = job.resuming ? 0 : 1
        let inSlot = min(shared, max(0, job.needed.count - margin))
        if let restored = promptCache.restore(into: sequence, for: job.needed, beyond: inSlot, margin: margin) {
            job.evaluated = restored
        } else if job.resuming {
            sequence.keep(inSlot)
            job.evaluated = sequence.tokens.count
        } else {
            let (cached, logits) = sequence.reuse(for: job.prompt)
            job.evaluated = cached
            job.reusedLogits = logits
        }
        metrics.withLock { m in
            m.promptCacheBytes = promptCache.bytes
            m.promptCacheEntries = promptCache.entries.count
        }
        if job.evaluated == job.needed.count { job.resuming = false }
        if job.started == 0 {
            job.started = DispatchTime.now().uptimeNanoseconds
            job.cached = job.evaluated
            metrics.withLock { $0.cachedPromptTokens += job.cached }
        }
    }

    private func release(_ job: Job) {
        condition.lock()
        job.slot?.busy = false
        active.removeAll { $0 === job }
        metrics.withLock { $0.activeSequences = active.count }
        condition.unlock()
    }

    /// Evaluates up to ``prefillBudget`` tokens of the jobs still in their prompts, oldest first
    /// (background jobs only while no foreground job waits or evaluates a prompt), and samples the first
    /// token of each prompt it completes. Returns the jobs still running.
    private func prefill(_ jobs: [Job], foregroundWaiting: Bool) -> [Job] {
        var budget = prefillBudget
        var ended: [ObjectIdentifier] = []
        let foregroundInPrompt = foregroundWaiting || jobs.contains { $0.inPrompt && !$0.isBackground }
        let candidates = jobs.filter { $0.inPrompt && (!$0.isBackground || !foregroundInPrompt) }
            .sorted { $0.enqueued < $1.enqueued }
        for job in candidates where budget > 0 {
            guard let slot = job.slot else { continue }
            while budget > 0, job.evaluated < job.needed.count {
                let end = min(job.needed.count, job.evaluated + prefillChunk)
                let chunk = Array(job.needed[job.evaluated..<end])
                let logits: [Float]
                do {
                    logits = try slot.sequence.evaluate(chunk, model: model,
                                                        completing: end == job.prompt.count && !job.resuming ? job.prompt : nil)
                } catch {
                    fail([job], error)
                    ended.append(ObjectIdentifier(job))
                    break
                }
                metrics.withLock { $0.promptTokens += chunk.count }
                budget -= chunk.count
                job.evaluated = end
                guard end == job.needed.count else { continue }
                if job.resuming {
                    job.resuming = false
                } else {
                    job.promptDone = DispatchTime.now().uptimeNanoseconds
                    if sample(job, logits) { ended.append(ObjectIdentifier(job)) }
                }
            }
        }
        // Prompts evaluated before in full: their saved logits give the first token.
        for job in jobs where job.reusedLogits != nil && !ended.contains(ObjectIdentifier(job)) {
            let logits = job.reusedLogits!
            job.reusedLogits = nil
            job.promptDone = DispatchTime.now().uptimeNanoseconds
            if sample(job, logits) { ended.append(ObjectIdentifier(job)) }
        }
        return jobs.filter { !ended.contains(ObjectIdentifier($0)) }
    }

    /// Advances every job that has a pending token by one token, all in one forward pass.
    private func decode(_ jobs: [Job]) {
        var steps: [(job: Job, slot: Slot, token: Int)] = []
        for job in jobs where !job.inPrompt && !job.needsSetup && job.reusedLogits == nil {
            guard let slot = job.slot else { continue }
            guard let token = job.pendingToken else {
                _ = finish(job, .length)
                continue
            }
            guard slot.sequence.cache.count < context else {
                _ = finish(job, .length)
                continue
            }
            steps.append((job, slot, token))
        }
        guard !steps.isEmpty else { return }
        let logits: [[Float]]
        do {
            logits = try SequenceState.decode(steps.map { ($0.slot.sequence, $0.token) }, model: model)
        } catch {
            fail(steps.map(\.job), error)
            return
        }
        metrics.withLock { $0.decodeSteps += 1; $0.decodeRows += steps.count }
        for (step, logits) in zip(steps, logits) { _ = sample(step.job, logits) }
    }

    /// Ends `jobs` with an engine error; their caches may hold part of the failed batch, so they are
    /// forgotten rather than reused.
    private func fail(_ jobs: [Job], _ error: any Error) {
        for job in jobs {
            job.slot?.sequence.reset()
            release(job)
            job.continuation.finish(throwing: SwiftletError.engine(String(describing: error)))
        }
    }

    /// Chooses the job's next token from `logits` and passes its text on; returns true when the job has
    /// finished.
    private func sample(_ job: Job, _ logits: [Float]) -> Bool {
        var logits = logits
        if let max = job.options.maxTokens, job.generated.count >= max { return finish(job, .length) }
        let history = job.prompt + job.generated
        let token: Int
        if var grammar = job.grammar {
            // llama.cpp's common_sampler_sample: the free choice if the grammar allows it, else a second
            // draw among the tokens it allows; nothing allowed ends the generation.
            guard let chosen = job.sampler.sample(&logits, history: history, isAllowed: { grammar.allows($0) },
                                                  restrict: { grammar.mask(&$0) })
            else { return finish(job, .stop) }
            if !endOfGeneration.contains(chosen) {
                do { try grammar.accept(chosen) } catch {
                    fail([job], error)
                    return true
                }
            }
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
        if let slot = job.slot, slot.sequence.cache.count >= context { return finish(job, .length) }
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

/// How a generation's tokens are chosen and its text read, beyond sampling: the grammar they must follow
/// and the chat format that separates the answer from reasoning and tool calls.
struct GenerationOutput: Sendable {
    var grammar: GrammarMatcher?
    var reader: ChatOutputParser?
}
