import Foundation
import Testing
import SwiftletGGUF
import SwiftletTokenizer

@Suite struct TokenizerUnitTests {
    func tiny() throws -> Tokenizer {
        try Tokenizer(metadata: GGUFFile(path: Support.fixture("tiny-llama-f32.gguf")).metadata)
    }

    @Test func tinyFixtureRoundTrips() throws {
        let t = try tiny()
        #expect(t.model == .bytePairEncoding)
        #expect(t.preTokenizer == .smollm)
        #expect(t.vocabularySize == 271)
        #expect(t.warnings.isEmpty)
        for text in ["hello world", "", "a", "tab\there\n\n  x", "naïve 😀 中文", "123 4567"] {
            let ids = t.encode(text, parseSpecial: false)
            #expect(t.decode(ids) == text)
            #expect(ids.allSatisfy { $0 >= 0 && $0 < t.vocabularySize })
        }
        #expect(t.encode("").isEmpty)
    }

    @Test func controlTokensOnlyWithParseSpecial() throws {
        let t = try tiny()
        let im = t.encode("<|im_start|>", addBOS: false, parseSpecial: true)
        #expect(im == [1])
        let plain = t.encode("<|im_start|>", addBOS: false, parseSpecial: false)
        #expect(plain.count > 1 && !plain.contains(1))
        let mixed = t.encode(segments: [("<|im_start|>user\n", true), ("<|im_end|>", false), ("<|im_end|>", true)])
        #expect(mixed.first == 1 && mixed.last == 2 && mixed.filter { $0 == 2 }.count == 1)
        #expect(t.decode([1, 2]) == "" && t.decode([1], renderSpecial: true) == "<|im_start|>")
    }

    @Test func invalidUTF8BecomesReplacementCharacter() throws {
        let t = try tiny()
        let bad = t.encode(bytes: [0x61, 0xFF, 0x62, 0xC3], addBOS: false, parseSpecial: false)
        #expect(t.decode(bad) == "a\u{FFFD}b\u{FFFD}")
        let goodForm = t.encode("a\u{FFFD}b\u{FFFD}", addBOS: false, parseSpecial: false)
        #expect(bad == goodForm)
    }

    @Test func longSingleLineIsLinearish() throws {
        let t = try tiny()
        // One 1 MB pre-token (no spaces) takes the heap path; the same text split into words must agree
        // per word with the short path.
        let word = String(repeating: "abcab", count: 200_000)
        let ids = t.encode(word, addBOS: false, parseSpecial: false)
        #expect(t.decode(ids) == word)
        let small = String(repeating: "abcab", count: 20)  // 100 bytes: heap path
        let short = "abcab"
        #expect(t.decode(t.encode(small, addBOS: false)) == small)
        #expect(t.encode(short, addBOS: false).count <= 5)
    }

    @Test func inconsistentVocabularyIsATypedError() throws {
        let m = try GGUFFile(path: Support.fixture("tiny-llama-f32.gguf")).metadata
        var pairs = m.entries.map { ($0.key, $0.value) }
        pairs = pairs.map { $0.0 == "tokenizer.ggml.token_type" ? ($0.0, .array(.int32([1, 1, 3]))) : $0 }
        #expect(throws: TokenizerError.inconsistentArrays(key: "tokenizer.ggml.token_type", count: 3, tokenCount: 271)) {
            try Tokenizer(metadata: GGUFMetadata(pairs))
        }
        let noTokens = m.entries.filter { $0.key != "tokenizer.ggml.tokens" }.map { ($0.key, $0.value) }
        #expect(throws: TokenizerError.missingKey("tokenizer.ggml.tokens")) { try Tokenizer(metadata: GGUFMetadata(noTokens)) }
        let badModel = m.entries.map { $0.key == "tokenizer.ggml.model" ? ($0.key, GGUFValue.string("wordpiece")) : ($0.key, $0.value) }
        #expect(throws: TokenizerError.unsupportedModel("wordpiece")) { try Tokenizer(metadata: GGUFMetadata(badModel)) }
        let badBOS = m.entries.map { $0.key == "tokenizer.ggml.bos_token_id" ? ($0.key, GGUFValue.uint32(9999)) : ($0.key, $0.value) }
        #expect(throws: TokenizerError.self) { try Tokenizer(metadata: GGUFMetadata(badBOS)) }
    }

    @Test func unknownPreTokenizerFallsBackWithWarning() throws {
        let m = try GGUFFile(path: Support.fixture("tiny-llama-f32.gguf")).metadata
        let pairs = m.entries.map { $0.key == "tokenizer.ggml.pre" ? ($0.key, GGUFValue.string("martian")) : ($0.key, $0.value) }
        let t = try Tokenizer(metadata: GGUFMetadata(pairs))
        #expect(t.preTokenizer == .default)
        #expect(t.warnings.count == 1 && t.warnings[0].contains("martian"))
        #expect(t.decode(t.encode("it's 12345 ok")) == "it's 12345 ok")
    }

    @Test func streamingDecoderHoldsBackSplitCharacters() throws {
        let t = try tiny()
        let text = "x😀中y"
        let ids = t.encode(text, addBOS: false, parseSpecial: false)
        var d = StreamingDecoder(tokenizer: t)
        var out = ""
        for id in ids {
            let piece = d.append(id)
            #expect(!piece.contains("\u{FFFD}"))
            out += piece
        }
        out += d.flush()
        #expect(out == text)
        // The emoji is four byte tokens in the tiny vocabulary: nothing comes out until the fourth.
        let emoji = t.encode("😀", addBOS: false, parseSpecial: false)
        #expect(emoji.count == 4)
        var d2 = StreamingDecoder(tokenizer: t)
        #expect(emoji.dropLast().map { d2.append($0) } == ["", "", ""])
        #expect(d2.append(emoji[3]) == "😀")
        // An incomplete character left at the end is flushed as U+FFFD.
        var d3 = StreamingDecoder(tokenizer: t)
        #expect(d3.append(emoji[0]) == "")
        #expect(d3.flush() == "\u{FFFD}")
    }
}
