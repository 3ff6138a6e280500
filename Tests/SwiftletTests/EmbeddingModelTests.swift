import Foundation
import Swiftlet
import SwiftletTestSupport
import Testing

/// The facade over an embedding model (all-MiniLM-L6-v2, TestPaths.minilm): texts tokenized and embedded,
/// token counts for usage, truncation, and the errors that separate embedding from generation.
@Suite(.serialized) struct EmbeddingModelTests {
    struct Reference: Decodable {
        struct Input: Decodable { let text: String; let tokens: [Int]; let embedding: [Float] }
        let inputs: [Input]
    }
    static let hasModel = TestPaths.hasMiniLM
    static let reason: Comment = "all-MiniLM-L6-v2 is not in $SWIFTLET_MODELS: run Scripts/fetch-models.sh minilm"

    static func reference() throws -> [Reference.Input] {
        let url = TestPaths.fixtures.appendingPathComponent("embeddings/minilm-reference.json")
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url)).inputs
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var ab = 0.0, aa = 0.0, bb = 0.0
        for (x, y) in zip(a, b) { ab += Double(x * y); aa += Double(x * x); bb += Double(y * y) }
        return ab / (aa * bb).squareRoot()
    }

    @Test(.enabled(if: hasModel, reason))
    func embedsTextsLikeTheReference() async throws {
        let model = try await Model.load(try #require(TestPaths.minilm("f32")))
        #expect(model.isEmbeddingModel)
        #expect(model.embeddingLength == 384)
        #expect(model.contextLength == 512)
        #expect(model.metrics.kvCacheBytes == 0)
        let inputs = try Self.reference()
        let result = try await model.embeddings(inputs.map(\.text))
        #expect(result.tokenCounts == inputs.map(\.tokens.count))
        #expect(result.totalTokens == inputs.reduce(0) { $0 + $1.tokens.count })
        for (vector, input) in zip(result.embeddings, inputs) {
            #expect(Self.cosine(vector, input.embedding) >= 0.9999, "\(input.text)")
        }
        // The token-id form gives the same vectors; a text alone gives its vector in the batch.
        let byTokens = try await model.embeddings(tokens: inputs.map(\.tokens))
        #expect(byTokens.embeddings == result.embeddings)
        #expect(try await model.embed([inputs[2].text]) == [result.embeddings[2]])
    }

    /// Requests at the same time (each with its own scratch memory, sharing the thread pool) give the
    /// vectors they give one after another.
    @Test(.enabled(if: hasModel, reason))
    func concurrentCallsGiveTheSameVectors() async throws {
        let model = try await Model.load(try #require(TestPaths.minilm("f32")))
        let texts = try Self.reference().map(\.text)
        let alone = try await model.embed(texts)
        let orders = (0..<8).map { i in Array((0..<texts.count).shuffled().prefix(2 + i % 4)) }
        try await withThrowingTaskGroup(of: ([Int], [[Float]]).self) { group in
            for order in orders {
                group.addTask { (order, try await model.embed(order.map { texts[$0] })) }
            }
            for try await (order, vectors) in group {
                #expect(vectors == order.map { alone[$0] })
            }
        }
    }

    @Test(.enabled(if: hasModel, reason))
    func refusesGenerationTooLongAndEmptyInputs() async throws {
        let model = try await Model.load(try #require(TestPaths.minilm("f32")))
        #expect(throws: SwiftletError.embeddingModel(model.id)) {
            _ = try model.chat([ChatMessage(role: .user, content: "hi")])
        }
        #expect(throws: SwiftletError.embeddingModel(model.id)) { _ = try model.complete("hi") }
        let long = String(repeating: "the ", count: 600)
        await #expect(throws: SwiftletError.inputTooLong(index: 1, tokens: 602, limit: 512)) {
            _ = try await model.embed(["short", long])
        }
        await #expect(throws: SwiftletError.emptyInput(index: 0)) { _ = try await model.embeddings(tokens: [[]]) }
        // Truncation keeps the first 511 tokens and the closing [SEP].
        let cut = try await model.embeddings([long], truncate: true)
        #expect(cut.tokenCounts == [512])
        let ids = [101] + Array(repeating: 1996, count: 510) + [102]
        #expect(try await model.embeddings(tokens: [ids]).embeddings == cut.embeddings)
    }

    @Test func aDecoderIsNotAnEmbeddingModel() async throws {
        let model = try await Model.load(TestPaths.fixtures.appendingPathComponent("tiny-llama-f32.gguf").path,
                                         options: .init(contextLength: 64))
        #expect(!model.isEmbeddingModel)
        await #expect(throws: SwiftletError.notEmbeddingModel(model.id)) { _ = try await model.embed(["hi"]) }
    }
}
