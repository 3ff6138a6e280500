import Foundation
import Swiftlet

/// `swiftlet bench --chat`: the latencies a chat user feels, beside bench's throughput figures: load time
/// (open to first logits), peak RSS, and time to first token of a ~500-token chat prompt and of the next
/// turn of the same conversation, which reuses the cached prefix.
enum BenchChat {
    struct Result {
        var model: String
        var threads: Int
        var loadSeconds: Double
        var firstTurn: [GenerationSummary] = []
        var secondTurn: [GenerationSummary] = []
    }

    /// About 500 tokens of prose for the first user message.
    static let longMessage: String = {
        let paragraph = """
            The history of mapmaking is a history of compromise. A sphere cannot be flattened onto a page \
            without stretching or tearing it, so every projection chooses what to keep true: areas, angles, \
            distances from one point, or the straightness of routes of constant bearing. Sailors loved the \
            Mercator projection because a straight line drawn on it could be steered with a single compass \
            heading, even though it swells Greenland to the size of Africa. Equal-area maps fix the swelling \
            but bend the shapes of coastlines near their edges.
            """
        return (0..<5).map { "Part \($0 + 1). " + paragraph }.joined(separator: "\n\n")
            + "\n\nIn two sentences, what is the main trade-off described above?"
    }()

    static func run(models: [String], threads: Int, repetitions: Int, json: Bool) async throws {
        var results: [Result] = []
        for path in models {
            let start = ProcessStats.now()
            let model = try await Swiftlet.Model.load(path, options: .init(contextLength: 2048, parallel: 1, threads: threads))
            for try await _ in try model.complete("Hello", options: GenerationOptions(maxTokens: 1, sampling: .greedy)) {}
            var result = Result(model: URL(fileURLWithPath: path).lastPathComponent, threads: threads,
                                loadSeconds: ProcessStats.now() - start)
            let options = GenerationOptions(maxTokens: 16, sampling: .greedy)
            // Repetition 0 warms up; a different system message per repetition keeps the first turn cold.
            for rep in 0...repetitions {
                let session = model.session(system: "You are a helpful assistant. This is conversation \(rep + 1).")
                let first = try await summary(of: session.send(longMessage, options: options))
                let second = try await summary(of: session.send("Now say it in one sentence.", options: options))
                if rep > 0 { result.firstTurn.append(first); result.secondTurn.append(second) }
            }
            results.append(result)
        }
        let rss = ProcessStats.peakResidentBytes()
        if json {
            print(JSONText.array(results.map { r in
                JSONText.object([
                    ("model_filename", JSONText.string(r.model)),
                    ("n_threads", String(r.threads)),
                    ("load_seconds", JSONText.number(r.loadSeconds)),
                    ("peak_rss_bytes", rss.map(String.init) ?? "null"),
                    ("first_turn_prompt_tokens", String(r.firstTurn.first?.promptTokens ?? 0)),
                    ("first_turn_ttft_ms", JSONText.number(mean(r.firstTurn.map(\.timeToFirstToken)) * 1000)),
                    ("second_turn_prompt_tokens", String(r.secondTurn.first?.promptTokens ?? 0)),
                    ("second_turn_cached_tokens", String(r.secondTurn.first?.cachedPromptTokens ?? 0)),
                    ("second_turn_ttft_ms", JSONText.number(mean(r.secondTurn.map(\.timeToFirstToken)) * 1000)),
                ])
            }))
        } else {
            print("| model | threads | load (open to first logits) | peak RSS | turn 1: prompt tokens | turn 1: TTFT | turn 2: prompt tokens (cached) | turn 2: TTFT |")
            print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
            for r in results {
                let t1 = r.firstTurn.first, t2 = r.secondTurn.first
                print(String(format: "| %@ | %d | %.2f s | %@ | %d | %.0f ms | %d (%d) | %.0f ms |",
                             r.model, r.threads, r.loadSeconds,
                             rss.map { String(format: "%.0f MiB", Double($0) / 1_048_576) } ?? "?",
                             t1?.promptTokens ?? 0, mean(r.firstTurn.map(\.timeToFirstToken)) * 1000,
                             t2?.promptTokens ?? 0, t2?.cachedPromptTokens ?? 0,
                             mean(r.secondTurn.map(\.timeToFirstToken)) * 1000))
            }
        }
    }

    static func summary(of stream: GenerationStream) async throws -> GenerationSummary {
        for try await event in stream {
            if case .finished(let s) = event { return s }
        }
        throw CLIError("a generation ended without a summary")
    }

    static func mean(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }
}
