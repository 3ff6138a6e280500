import Foundation
import Testing
import SwiftletGGUF
import SwiftletTokenizer

struct TokenizerTests {
    static func tiny() throws -> Tokenizer {
        try Tokenizer(metadata: GGUFFile(path: Paths.fixtures.appendingPathComponent("tiny-llama-f32.gguf").path).metadata)
    }

    @Test func tinyVocabularyMergesByRank() throws {
        let t = try Self.tiny()
        #expect(t.kind == .bytePairEncoding)
        let ids = t.encode("the cat in there")
        #expect(t.decode(ids) == "the cat in there")
        #expect(ids.count < "the cat in there".utf8.count)
        #expect(ids.contains(t.tokenID(forText: "the")!))
    }

    @Test func controlTokensOnlyWithParseSpecial() throws {
        let t = try Self.tiny()
        let start = t.tokenID(forText: "<|im_start|>")!
        #expect(t.encode("<|im_start|>user").first == start)
        #expect(!t.encode("<|im_start|>user", parseSpecial: false).contains(start))
        #expect(t.decode(t.encode("<|im_start|>user", parseSpecial: false)) == "<|im_start|>user")
    }

    @Test func segmentsKeepMessageContentUnparsed() throws {
        let t = try Self.tiny()
        let start = t.tokenID(forText: "<|im_start|>")!
        let ids = t.encode(segments: [("<|im_start|>user\n", parseSpecial: true), ("<|im_start|>", parseSpecial: false)])
        #expect(ids.filter { $0 == start }.count == 1)
    }

    @Test func emptyAndInvalidInput() throws {
        let t = try Self.tiny()
        #expect(t.encode("", addBOS: false).isEmpty)
        #expect(t.encode("", addBOS: true) == [t.bosID!])
        let invalid: [UInt8] = [0x61, 0xFF, 0xC3, 0x28, 0x62]
        let ids = t.encode(bytes: invalid, addBOS: false)
        // Each invalid byte becomes U+FFFD, as llama.cpp decodes it.
        #expect(t.decode(ids) == "a\u{FFFD}\u{FFFD}(b")
    }

    @Test func longSingleLineIsLinear() throws {
        let t = try Self.tiny()
        let line = String(repeating: "a", count: 200_000)
        let ids = t.encode(line, addBOS: false)
        #expect(t.decode(ids) == line)
    }

    @Test func streamingDecoderHoldsIncompleteUTF8() throws {
        let t = try Self.tiny()
        // "é" is two bytes; byte tokens deliver them one at a time.
        let ids = t.encode("é", addBOS: false)
        #expect(ids.count == 2)
        var d = t.makeStreamingDecoder()
        #expect(d.append(ids[0]) == "")
        #expect(d.append(ids[1]) == "é")
        var e = t.makeStreamingDecoder()
        #expect(e.append(ids[0]) == "")
        #expect(e.flush() == "\u{FFFD}")
    }

    @Test func inconsistentVocabularyIsAnError() throws {
        var m = try GGUFFile(path: Paths.fixtures.appendingPathComponent("tiny-llama-f32.gguf").path).metadata
        m["tokenizer.ggml.token_type"] = .array(.int32([1, 1]))
        #expect(throws: TokenizerError.self) { try Tokenizer(metadata: m) }
        m["tokenizer.ggml.token_type"] = nil
        m["tokenizer.ggml.bos_token_id"] = .uint32(999_999)
        #expect(throws: TokenizerError.self) { try Tokenizer(metadata: m) }
        m["tokenizer.ggml.bos_token_id"] = nil
        m["tokenizer.ggml.merges"] = nil
        #expect(throws: TokenizerError.missingKey("tokenizer.ggml.merges")) { try Tokenizer(metadata: m) }
        m["tokenizer.ggml.model"] = .string("wordpiece")
        #expect(throws: TokenizerError.unsupportedModel("wordpiece")) { try Tokenizer(metadata: m) }
        m["tokenizer.ggml.tokens"] = nil
        #expect(throws: TokenizerError.self) { try Tokenizer(metadata: m) }
    }

    @Test func unknownPreTokenizerFallsBackWithAWarning() throws {
        var m = try GGUFFile(path: Paths.fixtures.appendingPathComponent("tiny-llama-f32.gguf").path).metadata
        m["tokenizer.ggml.pre"] = .string("made-up")
        let t = try Tokenizer(metadata: m)
        #expect(t.warnings.count == 1)
        #expect(t.decode(t.encode("hello there")) == "hello there")
    }

    @Test func endOfGenerationIncludesMarkerTokens() throws {
        let t = try Self.tiny()
        #expect(t.endOfGenerationIDs.contains(t.tokenID(forText: "<|im_end|>")!))
        #expect(t.endOfGenerationIDs.contains(t.tokenID(forText: "<|endoftext|>")!))
    }
}
