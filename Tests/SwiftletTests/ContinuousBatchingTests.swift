import Foundation
import Swiftlet
import SwiftletTestSupport
import Testing

/// Continuous batching, the prompt cache and background priority, on the real models.
@Suite(.serialized) struct ContinuousBatchingTests {
    static func load(_ file: String = TestPaths.smollm2, parallel: Int, context: Int = 1024,
                     promptCacheBytes: Int = Model.LoadOptions.defaultPromptCacheBytes) async throws -> Model {
        try await Model.load(try TestPaths.model(file),
                             options: .init(contextLength: context, parallel: parallel, threads: 2,
                                            promptCacheBytes: promptCacheBytes))
    }

    /// Greedy options that never end early (every end-of-generation token banned).
    static func long(_ model: Model, _ tokens: Int, priority: GenerationPriority = .foreground) -> GenerationOptions {
        var sampling = SamplingParameters.greedy
        for id in model.endOfGenerationIDs { sampling.logitBias[id] = -1000 }
        return GenerationOptions(maxTokens: tokens, sampling: sampling, priority: priority)
    }

    static func collect(_ stream: GenerationStream) async throws -> (text: String, summary: GenerationSummary) {
        var text = ""
        var summary: GenerationSummary?
        for try await event in stream {
            if case .text(let delta) = event { text += delta }
            if case .finished(let s) = event { summary = s }
        }
        return (text, try #require(summary))
    }

    static let prompts = [
        "The history of the printing press", "Why the sky is blue:", "def fibonacci(n):", "Once upon a time, a fox",
        "A recipe for bread. Ingredients:", "The three laws of motion are", "Dear diary, today I", "SELECT name FROM",
    ]

    /// The same request gives the same tokens alone and among seven others that start at other times
    /// (some join while it streams): each sequence's numbers do not depend on the batch.
    @Test(arguments: [TestPaths.smollm2, TestPaths.gemma3])
    func outputDoesNotDependOnTheBatch(file: String) async throws {
        let model = try await Self.load(file, parallel: 8)
        let prompts = Self.prompts.map { model.tokenizer.encode($0) }
        var alone: [String] = []
        for p in prompts { alone.append(try await Self.collect(try model.generate(tokens: p, options: Self.long(model, 40))).text) }
        let before = model.metrics
        let together = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for (i, p) in prompts.enumerated() {
                group.addTask {
                    try await Task.sleep(for: .milliseconds(60 * (i % 4)))
                    return (i, try await Self.collect(try model.generate(tokens: p, options: Self.long(model, 40))).text)
                }
            }
            var out = [String](repeating: "", count: prompts.count)
            for try await (i, text) in group { out[i] = text }
            return out
        }
        for i in prompts.indices { #expect(together[i] == alone[i], "\(file): request \(i) alone and in a batch") }
        let after = model.metrics
        let steps = after.decodeSteps - before.decodeSteps, rows = after.decodeRows - before.decodeRows
        #expect(rows > 2 * steps, "mean decoding batch \(Double(rows) / Double(max(1, steps))): sequences were not batched")
    }

    /// With one sequence, a side request (a title) takes the slot between two turns of a conversation;
    /// the prompt cache gives the next turn its prefix back.
    @Test func nextTurnAfterASideRequestIsCached() async throws {
        for cacheBytes in [Model.LoadOptions.defaultPromptCacheBytes, 0] {
            let model = try await Self.load(parallel: 1, promptCacheBytes: cacheBytes)
            var conversation = [ChatMessage(role: .system, content: String(repeating: "You answer briefly and kindly. ", count: 12)),
                                ChatMessage(role: .user, content: "What is the capital of France?")]
            let first = try await Self.collect(try model.chat(conversation, options: .init(maxTokens: 16, sampling: .greedy)))
            let title = [ChatMessage(role: .user, content: "Write a five-word title for: capital of France")]
            let side = try await Self.collect(try model.chat(title, options: .init(maxTokens: 8, sampling: .greedy)))
            #expect(side.summary.cachedPromptTokens < 8)
            conversation += [ChatMessage(role: .assistant, content: first.text), ChatMessage(role: .user, content: "And Italy?")]
            let second = try await Self.collect(try model.chat(conversation, options: .init(maxTokens: 8, sampling: .greedy)))
            if cacheBytes > 0 {
                #expect(second.summary.cachedPromptTokens >= first.summary.promptTokens,
                        "cached \(second.summary.cachedPromptTokens) of \(second.summary.promptTokens)")
                #expect(model.metrics.promptCacheEntries >= 1)
            } else {
                #expect(second.summary.cachedPromptTokens < 8, "no prompt cache, yet \(second.summary.cachedPromptTokens) cached")
            }
        }
    }

    /// With one sequence, a foreground request arriving while a background one generates is answered
    /// first; the background one is suspended and resumes where it stopped, with the text it gives alone.
    @Test func backgroundYieldsToForeground() async throws {
        let model = try await Self.load(parallel: 1)
        let background = model.tokenizer.encode("A long story about a lighthouse keeper:")
        let expected = try await Self.collect(try model.generate(tokens: background,
                                                                 options: Self.long(model, 200, priority: .background)))
        let other = try await Self.load(parallel: 1)
        let order = Order()
        async let bg: (text: String, summary: GenerationSummary) = {
            let r = try await Self.collect(try other.generate(tokens: background, options: Self.long(other, 200, priority: .background)))
            await order.note("background")
            return r
        }()
        try await Task.sleep(for: .milliseconds(400))
        let fg = try await Self.collect(try other.chat([ChatMessage(role: .user, content: "Hi!")],
                                                       options: .init(maxTokens: 8, sampling: .greedy)))
        await order.note("foreground")
        let done = try await bg
        #expect(await order.names == ["foreground", "background"])
        #expect(fg.summary.queueSeconds < 0.5, "the foreground request waited \(fg.summary.queueSeconds) s")
        #expect(done.text == expected.text, "the resumed background request changed its text")
        #expect(done.summary.completionTokens == 200)
        #expect(other.metrics.suspendedRequests == 1)
    }

    actor Order {
        var names: [String] = []
        func note(_ name: String) { names.append(name) }
    }
}
