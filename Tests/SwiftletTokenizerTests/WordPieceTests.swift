import Foundation
import SwiftletGGUF
import SwiftletTokenizer
import Testing

/// WordPiece against Hugging Face `tokenizers` on all-MiniLM-L6-v2's vocabulary (Fixtures/wordpiece, made by
/// Scripts/record-wordpiece-references.py).
@Suite struct WordPieceTests {
    struct Case: Decodable {
        let text: String
        let ids: [Int]
        let ids_without_special: [Int]
    }

    struct References: Decodable {
        let special_tokens: [String: Int]
        let cases: [Case]
    }

    static func references() throws -> References {
        let data = try Data(contentsOf: URL(fileURLWithPath: Support.fixture("wordpiece/references.json")))
        return try JSONDecoder().decode(References.self, from: data)
    }

    /// The metadata llama.cpp's converter writes for the vocabulary (tokens in phantom-space form).
    static func metadata(lowercase: Bool? = true) throws -> GGUFMetadata {
        let refs = try references()
        let text = try String(contentsOfFile: Support.fixture("wordpiece/vocab.txt"), encoding: .utf8)
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        let specials = Set(refs.special_tokens.values)
        let tokens = lines.enumerated().map { WordPiece.phantomText($1, isControl: specials.contains($0)) }
        let types = lines.indices.map { specials.contains($0) ? Int32(3) : Int32(1) }
        var pairs: [(String, GGUFValue)] = [
            ("tokenizer.ggml.model", .string("bert")),
            ("tokenizer.ggml.tokens", .array(.string(tokens))),
            ("tokenizer.ggml.token_type", .array(.int32(types))),
            ("tokenizer.ggml.bos_token_id", .uint32(101)),
            ("tokenizer.ggml.eos_token_id", .uint32(102)),
            ("tokenizer.ggml.unknown_token_id", .uint32(100)),
            ("tokenizer.ggml.seperator_token_id", .uint32(102)),
            ("tokenizer.ggml.padding_token_id", .uint32(0)),
            ("tokenizer.ggml.mask_token_id", .uint32(103)),
            ("tokenizer.ggml.add_bos_token", .bool(true)),
            ("tokenizer.ggml.add_eos_token", .bool(true)),
        ]
        if let l = lowercase { pairs.append(("tokenizer.ggml.normalizer.lowercase", .bool(l))) }
        return GGUFMetadata(pairs)
    }

    @Test func matchesHuggingFaceTokenizers() throws {
        let t = try Tokenizer(metadata: Self.metadata())
        #expect(t.model == .wordPiece)
        #expect(t.classifierID == 101 && t.separatorID == 102 && t.unknownID == 100)
        for c in try Self.references().cases {
            #expect(t.encode(c.text) == c.ids, "\(c.text.debugDescription)")
            // Without special tokens, and with special-token text read as plain text: Hugging Face always
            // matches its special added tokens, so compare only texts without brackets.
            if !c.text.contains("[") {
                #expect(t.encode(c.text, addBOS: false, parseSpecial: false) == c.ids_without_special)
            }
        }
    }

    @Test func lowerCasingDefaultsToOnWhenTheKeyIsAbsent() throws {
        let t = try Tokenizer(metadata: Self.metadata(lowercase: nil))
        #expect(t.normalizer == BertNormalizer(lowercase: true, stripAccents: true))
        #expect(t.encode("Hello World", addBOS: false) == [7592, 2088])
    }

    @Test func casedNormalizationKeepsCaseAndAccents() throws {
        let t = try Tokenizer(metadata: Self.metadata(lowercase: false))
        #expect(t.normalizer == BertNormalizer(lowercase: false, stripAccents: false))
        // The uncased vocabulary has no "Hello"; "hello" still matches.
        #expect(t.encode("hello", addBOS: false) == [7592])
        #expect(t.encode("Hello", addBOS: false) != [7592])
    }

    @Test func normalizerWords() {
        let n = BertNormalizer()
        #expect(n.words("Héllo, WORLD!") == ["hello", ",", "world", "!"])
        #expect(n.words("我想apple") == ["我", "想", "apple"])
        #expect(n.words(" \t\n") == [])
        #expect(BertNormalizer(lowercase: false).words("Héllo") == ["Héllo"])
    }

    @Test func phantomForm() {
        #expect(WordPiece.phantomText("hello", isControl: false) == "\u{2581}hello")
        #expect(WordPiece.phantomText("##ing", isControl: false) == "ing")
        // A combining mark after "##" makes "#" + mark one Character; the prefix is still removed.
        #expect(WordPiece.phantomText("##\u{093F}", isControl: false) == "\u{093F}")
        #expect(WordPiece.phantomText("[CLS]", isControl: true) == "[CLS]")
        #expect(WordPiece.phantomText("[unused0]", isControl: false) == "\u{2581}[unused0]")
    }

    @Test func decodesWithSpacesBetweenWords() throws {
        let t = try Tokenizer(metadata: Self.metadata())
        let ids = t.encode("Embeddings work")
        #expect(ids.count == 7)  // [CLS] em ##bed ##ding ##s work [SEP]
        #expect(t.decode(ids) == " embeddings work")
        #expect(t.decode(ids, renderSpecial: true) == "[CLS] embeddings work[SEP]")
    }
}
