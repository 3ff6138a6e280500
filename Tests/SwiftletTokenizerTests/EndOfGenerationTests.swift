import Testing
import SwiftletTokenizer

struct EndOfGenerationTests {
    @Test func declaredIdsAndMarkerTexts() {
        let tokens = ["<pad>", "<eos>", "<bos>", "hello", "<end_of_turn>", "<start_of_turn>"]
        #expect(EndOfGeneration.tokenIDs(tokens: tokens, declared: [1, nil]) == [1, 4])
        #expect(EndOfGeneration.tokenIDs(tokens: ["<|im_end|>", "x"], declared: [99]) == [0])
    }

    /// Each family's end-of-turn marker, and llama.cpp's exceptions where `<|end|>` or `</s>` closes
    /// something else.
    @Test func everyFamilysMarker() {
        let llama3 = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|eom_id|>", "hi"]
        #expect(EndOfGeneration.tokenIDs(tokens: llama3, declared: [1]) == [1, 2, 3])
        #expect(EndOfGeneration.tokenIDs(tokens: ["<s>", "</s>", "<|end|>", "<|user|>"], declared: [1]) == [1, 2])
        #expect(EndOfGeneration.tokenIDs(tokens: ["<bos>", "<eos>", "<end_of_turn>"], declared: [1]) == [1, 2])
        #expect(EndOfGeneration.tokenIDs(tokens: ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], declared: [0]) == [0, 2])
        let harmony = ["<|return|>", "<|call|>", "<|end|>", "<|start|>"]
        #expect(EndOfGeneration.tokenIDs(tokens: harmony, declared: []) == [0, 1])
    }
}

/// llama.cpp makes every end-of-generation marker a control token at load: Gemma 3's file stores `</s>`
/// as user-defined, yet llama.cpp matches it in text only when special tokens are parsed, and does not
/// render it.
@Suite struct EndOfGenerationMarkersAreControlTokens {
    @Test func gemma3EndOfSentence() throws {
        let tok = try Support.tokenizer(model: "gemma-3-270m-q4_k_m.gguf")
        let special = tok.encode("</s>", addBOS: false, parseSpecial: true)
        #expect(special.count == 1)
        let id = try #require(special.first)
        #expect(tok.isControl(id))
        #expect(!tok.encode("a</s>b", addBOS: false, parseSpecial: false).contains(id))
        #expect(tok.decode([id]) == "" && tok.decode([id], renderSpecial: true) == "</s>")
    }
}
