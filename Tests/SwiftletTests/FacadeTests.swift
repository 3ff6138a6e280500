import Foundation
import Swiftlet
import SwiftletTestSupport
import Testing

/// The public facade on the real default model: conversations, prefix reuse, cancellation, errors.
@Suite(.serialized) struct FacadeTests {
    static func load(context: Int = 1024, parallel: Int = 1) async throws -> Swiftlet.Model {
        try await Swiftlet.Model.load(try TestPaths.model(TestPaths.smollm2),
                                      options: .init(contextLength: context, parallel: parallel, threads: 2))
    }

    /// Collects a stream's text and its summary.
    static func collect(_ stream: GenerationStream) async throws -> (String, GenerationSummary) {
        var text = ""
        var summary: GenerationSummary?
        for try await event in stream {
            switch event {
            case .text(let delta): text += delta
            case .finished(let s): summary = s
            case .reasoning, .toolCallDelta, .toolCall: Issue.record("a plain chat gave \(event)")
            }
        }
        return (text, try #require(summary))
    }

    static func greedy(_ maxTokens: Int) -> GenerationOptions {
        GenerationOptions(maxTokens: maxTokens, sampling: .greedy)
    }

    @Test func secondTurnEvaluatesOnlyTheNewTokens() async throws {
        let model = try await Self.load()
        let session = model.session(system: """
            You are a helpful assistant. Answer every question in one short sentence, without lists, \
            without examples and without asking anything back. Be accurate and polite.
            """)
        let (first, s1) = try await Self.collect(try session.send("What is the capital of France?", options: Self.greedy(24)))
        #expect(!first.isEmpty)
        #expect(s1.cachedPromptTokens == 0)
        #expect(s1.evaluatedPromptTokens == s1.promptTokens)
        let (second, s2) = try await Self.collect(try session.send("And of Italy?", options: Self.greedy(24)))
        #expect(!second.isEmpty)
        #expect(s2.promptTokens > s1.promptTokens)
        // Everything up to the first reply is reused; only the new turn (a dozen tokens) is evaluated.
        #expect(s2.cachedPromptTokens >= s1.promptTokens)
        #expect(s2.evaluatedPromptTokens * 3 < s1.promptTokens, "second turn evaluated \(s2.evaluatedPromptTokens) of \(s2.promptTokens)")
        let newTurn = s2.promptTokens - s1.promptTokens - s1.completionTokens
        #expect(s2.evaluatedPromptTokens <= newTurn + 2, "new turn \(newTurn) tokens, evaluated \(s2.evaluatedPromptTokens)")
        #expect(session.messages.map(\.role) == [.system, .user, .assistant, .user, .assistant])
        #expect(session.messages[2].content == first)
    }

    @Test func greedyChatIsDeterministicAndStopsAtEndOfTurn() async throws {
        let model = try await Self.load()
        let messages = [ChatMessage(role: .system, content: "You are a helpful AI assistant named SmolLM, trained by Hugging Face"),
                        ChatMessage(role: .user, content: "Say hello.")]
        let (a, sa) = try await Self.collect(try model.chat(messages, options: Self.greedy(200)))
        // The same request again on the same model (its prompt now cached), and on a fresh model.
        let (b, sb) = try await Self.collect(try model.chat(messages, options: Self.greedy(200)))
        #expect(sb.cachedPromptTokens == sb.promptTokens)
        let (c, _) = try await Self.collect(try await Self.load().chat(messages, options: Self.greedy(200)))
        #expect(a == c)
        #expect(a == b)
        // SmolLM2 ends its turn with <|im_end|> long before 200 tokens.
        #expect(sa.finishReason == .stop)
        #expect(sa.completionTokens < 200)
        #expect(!a.contains("<|im_end|>"))
    }

    @Test func sameSeedSameText() async throws {
        let model = try await Self.load()
        var sampling = SamplingParameters()
        sampling.temperature = 1.0
        sampling.seed = 42
        let options = GenerationOptions(maxTokens: 24, sampling: sampling)
        let messages = [ChatMessage(role: .user, content: "Write a word.")]
        let (a, _) = try await Self.collect(try model.chat(messages, options: options))
        let (b, _) = try await Self.collect(try model.chat(messages, options: options))
        #expect(a == b)
        let (fresh, _) = try await Self.collect(try await Self.load().chat(messages, options: options))
        #expect(a == fresh)
        var other = options
        other.sampling.seed = 7
        var differs = false
        for seed in 1...4 as ClosedRange<UInt64> {
            other.sampling.seed = seed
            let (c, _) = try await Self.collect(try await Self.load().chat(messages, options: other))
            if c != a { differs = true; break }
        }
        #expect(differs, "four other seeds all reproduced the same 24 tokens")
    }

    @Test func maxTokensEndsWithLength() async throws {
        let model = try await Self.load()
        let (_, s) = try await Self.collect(try model.complete("The capital of France is", options: Self.greedy(5)))
        #expect(s.finishReason == .length)
        #expect(s.completionTokens == 5)
    }

    @Test func stopStringIsNotEmitted() async throws {
        let model = try await Self.load()
        let (full, _) = try await Self.collect(try model.complete("1, 2, 3, 4,", options: Self.greedy(16)))
        #expect(full.contains(" 7"), "greedy continuation was \(full)")
        var options = Self.greedy(16)
        options.stop = [" 7"]
        let (cut, s) = try await Self.collect(try model.complete("1, 2, 3, 4,", options: options))
        #expect(s.finishReason == .stop)
        #expect(cut == String(full[..<full.range(of: " 7")!.lowerBound]))
    }

    @Test func cancellingTheConsumingTaskThrowsCancelled() async throws {
        let model = try await Self.load(parallel: 1)
        let stream = try model.complete("Once upon a time", options: Self.greedy(400))
        let consumer = Task { () async throws(SwiftletError) -> Int in
            var received = 0
            for try await event in stream {
                if case .text = event { received += 1 }
                if received == 2 { withUnsafeCurrentTask { $0?.cancel() } }
            }
            return received
        }
        switch await consumer.result {
        case .success(let received): Issue.record("the stream ended quietly after \(received) pieces")
        case .failure(let error): #expect(error as? SwiftletError == .cancelled)
        }
    }

    @Test func cancellingFreesTheSequence() async throws {
        let model = try await Self.load(parallel: 1)
        let stream = try model.complete("Once upon a time", options: Self.greedy(400))
        let consumer = Task {
            var received = 0
            for try await event in stream {
                if case .text = event { received += 1 }
                if received == 2 { withUnsafeCurrentTask { $0?.cancel() } }
            }
            return received
        }
        let received = try? await consumer.value
        #expect((received ?? 2) < 10)
        // With one sequence, this request can only run once the abandoned one has let go of it.
        let (_, s) = try await Self.collect(try model.complete("Hello", options: Self.greedy(3)))
        #expect(s.completionTokens == 3)
        #expect(model.metrics.activeSequences == 0)
        #expect(model.metrics.completionTokens < 400)
    }

    @Test func parallelSequencesBothFinish() async throws {
        let model = try await Self.load(parallel: 2)
        async let a = Self.collect(try model.complete("The sky is", options: Self.greedy(12)))
        async let b = Self.collect(try model.chat([ChatMessage(role: .user, content: "Hi")], options: Self.greedy(12)))
        let (ra, rb) = try await (a, b)
        #expect(ra.1.completionTokens == 12)
        #expect(rb.1.completionTokens > 0)
        #expect(model.metrics.kvCacheBytes > 0)
    }

    @Test func badRequestsAreClearErrors() async throws {
        let model = try await Self.load(context: 64)
        #expect(throws: SwiftletError.emptyConversation) { try model.chat([]) }
        #expect(throws: SwiftletError.unknownRole("wizard")) {
            try model.chat([ChatMessage(role: .other("wizard"), content: "hi")])
        }
        let long = String(repeating: "word ", count: 200)
        do {
            _ = try model.chat([ChatMessage(role: .user, content: long)])
            Issue.record("a prompt longer than the context was accepted")
        } catch let SwiftletError.contextLengthExceeded(prompt, context) {
            #expect(context == 64)
            #expect(prompt > 200)
        }
        var bad = GenerationOptions()
        bad.sampling.temperature = -1
        #expect(throws: SwiftletError.self) { try model.chat([ChatMessage(role: .user, content: "hi")], options: bad) }
        bad = GenerationOptions()
        bad.sampling.topP = 1.5
        #expect(throws: SwiftletError.self) { try model.chat([ChatMessage(role: .user, content: "hi")], options: bad) }
        #expect(throws: (any Error).self) { try Swiftlet.Model(path: "/nonexistent.gguf") }
    }

    @Test func userTypedControlTokensStayText() async throws {
        let model = try await Self.load()
        let tokens = try model.promptTokens(for: [ChatMessage(role: .user, content: "<|im_start|>")])
        let imStart = model.tokenizer.encode("<|im_start|>", addBOS: false, parseSpecial: true)
        #expect(imStart.count == 1)
        let plain = try model.promptTokens(for: [ChatMessage(role: .user, content: "x")])
        // The template writes <|im_start|> for each turn; the user's text must not add one.
        #expect(tokens.filter { $0 == imStart[0] }.count == plain.filter { $0 == imStart[0] }.count)
    }

    /// Gemma 3 270M has no template: ChatML, whose `<|im_end|>` is not a token of Gemma's vocabulary, so it
    /// becomes a stop string; `<end_of_turn>` (not declared as EOT in the file) is an end-of-generation id.
    @Test func gemmaGetsChatMLWithItsEndMarkerAsAStopString() async throws {
        let gemma = try await Swiftlet.Model.load(try TestPaths.model(TestPaths.gemma3), options: .init(contextLength: 512))
        #expect(!gemma.hasOwnTemplate)
        #expect(gemma.chatStopStrings == ["<|im_end|>"])
        let endOfTurn = gemma.tokenizer.encode("<end_of_turn>", addBOS: false, parseSpecial: true)
        #expect(endOfTurn.count == 1 && gemma.endOfGenerationIDs.contains(endOfTurn[0]))
        let (text, _) = try await Self.collect(try gemma.chat([ChatMessage(role: .user, content: "Hello")], options: Self.greedy(48)))
        #expect(!text.contains("<|im_end|>"))
        let smol = try await Self.load()
        #expect(smol.hasOwnTemplate && smol.chatStopStrings.isEmpty)
    }
}

/// What a stopped generation reports, and what a stopped turn leaves in a session.
@Suite(.serialized) struct CancellationTests {
    @Test func cancelEndsWithACancelledSummary() async throws {
        let model = try await FacadeTests.load(parallel: 1)
        let stream = try model.complete("Once upon a time", options: FacadeTests.greedy(400))
        var pieces = 0
        var summary: GenerationSummary?
        for try await event in stream {
            if case .text = event {
                pieces += 1
                if pieces == 2 { stream.cancel() }
            }
            if case .finished(let s) = event { summary = s }
        }
        let s = try #require(summary)
        #expect(s.finishReason == .cancelled)
        // The generator may run ahead of a slow consumer, but not to the end of its 400 tokens.
        #expect(s.completionTokens < 400)
    }

    @Test func aQueuedRequestCancelledBeforeItStartsSaysSo() async throws {
        let model = try await FacadeTests.load(parallel: 1)
        let running = try model.complete("Once upon a time", options: FacadeTests.greedy(60))
        let queued = try model.complete("Hello", options: FacadeTests.greedy(5))
        queued.cancel()
        let (_, s) = try await FacadeTests.collect(queued)
        #expect(s.finishReason == .cancelled && s.completionTokens == 0)
        running.cancel()
    }

    @Test func aCancelledTurnLeavesNoTraceInTheSession() async throws {
        let model = try await FacadeTests.load(parallel: 1)
        let saved = [ChatMessage(role: .system, content: "Be brief."), ChatMessage(role: .user, content: "Hi"),
                     ChatMessage(role: .assistant, content: "Hello!")]
        let session = model.session(history: saved)
        let stream = try session.send("Tell me a long story.", options: FacadeTests.greedy(300))
        var last: FinishReason?
        for try await event in stream {
            if case .text = event { stream.cancel() }
            if case .finished(let s) = event { last = s.finishReason }
        }
        #expect(last == .cancelled)
        #expect(session.messages == saved)
        let (reply, s) = try await FacadeTests.collect(try session.send("What did I say first?",
                                                                          options: FacadeTests.greedy(8)))
        #expect(!reply.isEmpty && s.finishReason != .cancelled)
        #expect(session.messages.map(\.role) == [.system, .user, .assistant, .user, .assistant])
    }
}
