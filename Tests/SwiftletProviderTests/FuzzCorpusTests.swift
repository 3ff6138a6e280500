import Foundation
import SwiftletGrammar
import SwiftletProvider
import Testing

/// Replays the request fuzzer's committed corpus (Fuzz/Corpus/request: request bodies, and every input
/// that once broke the decoder) through the calls the fuzzer makes: decode and validate the body without a
/// model, then build the grammar of its JSON schema or GBNF. Each is accepted or an error, quickly.
struct FuzzCorpusTests {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/Corpus/request")

    @Test func corpusReplaysWithoutCrashOrDelay() throws {
        let files = try FileManager.default.contentsOfDirectory(at: Self.folder, includingPropertiesForKeys: nil)
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        #expect(files.count >= 30)
        var accepted = 0
        for url in files {
            let body = try Data(contentsOf: url)
            let start = ContinuousClock.now
            _ = try? JSONDecoder().decode(CompletionRequest.self, from: body)
            if let request = try? ChatProvider.decodeChatRequest(
                body: body, modelID: "smollm2", vocabularySize: 49_152, contextLength: 512) {
                accepted += 1
                if let schema = request.options.jsonSchema, let gbnf = try? JSONSchemaGrammar.gbnf(for: schema) {
                    _ = try? Grammar(gbnf)
                }
                if let gbnf = request.options.grammar { _ = try? Grammar(gbnf) }
                for tool in request.options.tools { _ = try? JSONSchemaGrammar.gbnf(for: tool.parameters) }
            }
            let elapsed = ContinuousClock.now - start
            #expect(elapsed < .seconds(2), "\(url.lastPathComponent) took \(elapsed)")
        }
        #expect(accepted >= 10)
    }

    @Test func decodedRequestCarriesTheBody() throws {
        let body = Data(#"""
            {"model": "smollm2", "stream": true, "stream_options": {"include_usage": true}, "max_tokens": 9000,
             "messages": [{"role": "user", "content": "Hi"}], "logit_bias": {"5": -100},
             "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]}
            """#.utf8)
        let request = try ChatProvider.decodeChatRequest(body: body, modelID: "smollm2", vocabularySize: 10,
                                                         contextLength: 512)
        #expect(request.messages.map(\.role) == [.user] && request.messages.map(\.content) == ["Hi"])
        #expect(request.isStreaming && request.includeUsage)
        #expect(request.options.maxTokens == 512)
        #expect(request.options.tools.map(\.name) == ["f"])
        #expect(throws: OpenAIError.self) {
            try ChatProvider.decodeChatRequest(body: body, modelID: "other", vocabularySize: 10, contextLength: 512)
        }
        #expect(throws: OpenAIError.self) {
            try ChatProvider.decodeChatRequest(body: body, modelID: "smollm2", vocabularySize: 5, contextLength: 512)
        }
    }
}
