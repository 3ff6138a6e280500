import Foundation
import SwiftletProvider
import Testing

/// The provider's wire types, decoded and encoded without a network or a model.
@Suite struct ProviderCodingTests {
    func decode(_ json: String) throws -> ChatCompletionRequest {
        try JSONDecoder().decode(ChatCompletionRequest.self, from: Data(json.utf8))
    }

    @Test func librechatShapedRequestDecodes() throws {
        let r = try decode("""
            {"model":"m","stream":true,"user":"0123456789abcdef01234567","temperature":0.7,"stop":["\\n\\n"],
             "max_completion_tokens":100,"unknown_option":{"deep":[1,2,3]},"tools":[],"tool_choice":"auto",
             "messages":[{"role":"developer","content":"Be brief."},
                         {"role":"user","content":[{"type":"text","text":"Hi"},{"type":"image_url","image_url":{"url":"data:x"}}]},
                         {"role":"assistant","content":null,"tool_calls":[]},
                         {"role":"tool","tool_call_id":"c1","content":"42"}]}
            """)
        #expect(r.stream == true)
        #expect(r.maxCompletionTokens == 100)
        #expect(r.stop?.values == ["\n\n"])
        #expect(r.messages.map(\.role) == ["developer", "user", "assistant", "tool"])
        #expect(r.messages[1].content?.text == "Hi")
        #expect(r.messages[2].content == nil)
        #expect(r.messages[3].toolCallID == "c1")
    }

    @Test func stopAsOneString() throws {
        #expect(try decode(#"{"messages":[],"stop":"END"}"#).stop?.values == ["END"])
    }

    @Test func imageOnlyContentHasNoText() throws {
        let r = try decode(#"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}"#)
        #expect(r.messages[0].content?.text == nil)
    }

    @Test func wrongTypesFailToDecode() {
        #expect(throws: DecodingError.self) { try decode(#"{"messages":"hi"}"#) }
        #expect(throws: DecodingError.self) { try decode(#"{"messages":[],"temperature":"hot"}"#) }
        #expect(throws: DecodingError.self) { try decode(#"{"messages":[{"role":"user","content":5}]}"#) }
        #expect(throws: DecodingError.self) { try decode(#"{"model":"m"}"#) }
    }

    @Test func errorsHaveOpenAIsShape() throws {
        let e = OpenAIError.modelNotFound("gpt-4o", available: "mine")
        let object = try JSONSerialization.jsonObject(with: ChatProvider.json(e), options: []) as? [String: Any]
        let body = try #require(object?["error"] as? [String: Any])
        #expect(body["code"] as? String == "model_not_found")
        #expect(body["param"] as? String == "model")
        #expect(body["type"] as? String == "invalid_request_error")
        #expect((body["message"] as? String)?.contains("gpt-4o") == true)
        #expect(e.status == 404)
        // null fields are written, not left out.
        let bare = String(decoding: ChatProvider.json(OpenAIError.server("boom")), as: UTF8.self)
        #expect(bare.contains(#""code":null"#) && bare.contains(#""param":null"#))
    }

    @Test func chunksWriteFinishReasonNullUntilTheEnd() throws {
        let chunk = ChatCompletionChunk(id: "c", created: 1, model: "m", choices: [.init(index: 0, delta: .init(role: "assistant", content: ""), finishReason: nil)])
        let text = String(decoding: ChatProvider.json(chunk), as: UTF8.self)
        #expect(text.contains(#""finish_reason":null"#))
        #expect(text.contains(#""role":"assistant""#))
        #expect(!text.contains("usage"))
        let usage = Usage(promptTokens: 10, completionTokens: 5, cachedTokens: 7)
        let u = String(decoding: ChatProvider.json(usage), as: UTF8.self)
        #expect(u == #"{"completion_tokens":5,"prompt_tokens":10,"prompt_tokens_details":{"cached_tokens":7},"total_tokens":15}"#)
    }

    @Test func modelListHasContextLength() throws {
        let list = ModelList(data: [.init(id: "m", created: 1, ownedBy: "swiftlet", contextLength: 4096)])
        let text = String(decoding: ChatProvider.json(list), as: UTF8.self)
        #expect(text == #"{"data":[{"context_length":4096,"created":1,"id":"m","object":"model","owned_by":"swiftlet"}],"object":"list"}"#)
    }
}
