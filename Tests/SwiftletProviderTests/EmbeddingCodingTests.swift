import Foundation
import SwiftletProvider
import Testing

/// OpenAI's embeddings request and response shapes, without a model.
struct EmbeddingCodingTests {
    func input(_ json: String) throws -> EmbeddingRequest.Input {
        try JSONDecoder().decode(EmbeddingRequest.self, from: Data(#"{"input": \#(json)}"#.utf8)).input
    }

    @Test func theFourInputForms() throws {
        #expect(try input(#""hi""#) == .texts(["hi"]))
        #expect(try input(#"["a", "b"]"#) == .texts(["a", "b"]))
        #expect(try input("[101, 102]") == .tokens([[101, 102]]))
        #expect(try input("[[101], [7592, 102]]") == .tokens([[101], [7592, 102]]))
        #expect(try input("[]").count == 0)
        #expect(throws: DecodingError.self) { try input("3") }
        #expect(throws: DecodingError.self) { try input(#"[1, "a"]"#) }
        let full = try JSONDecoder().decode(EmbeddingRequest.self, from: Data(#"""
            {"input": "x", "model": "m", "encoding_format": "base64", "dimensions": 384, "user": "u"}
            """#.utf8))
        #expect(full.model == "m" && full.encodingFormat == "base64" && full.dimensions == 384)
    }

    @Test func base64IsLittleEndianFloat32() throws {
        let encoded = EmbeddingResponse.base64([1, -2.5, 0])
        #expect(Data(base64Encoded: encoded) == Data([0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0, 0, 0, 0, 0]))
        let response = EmbeddingResponse(
            data: [.init(index: 0, embedding: .floats([0.5])), .init(index: 1, embedding: .base64(encoded))],
            model: "m", usage: .init(promptTokens: 3, totalTokens: 3))
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(response)) as? [String: Any]
        #expect(json?["object"] as? String == "list")
        let data = json?["data"] as? [[String: Any]]
        #expect(data?[0]["object"] as? String == "embedding")
        #expect(data?[0]["embedding"] as? [Double] == [0.5])
        #expect(data?[1]["embedding"] as? String == encoded)
        #expect((json?["usage"] as? [String: Int]) == ["prompt_tokens": 3, "total_tokens": 3])
    }
}
