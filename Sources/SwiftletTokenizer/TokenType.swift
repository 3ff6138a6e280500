/// A token's kind, as GGUF's `tokenizer.ggml.token_type` numbers it (llama.cpp's values).
public enum TokenType: Int, Sendable {
    case undefined = 0
    case normal = 1
    case unknown = 2
    /// Structural tokens (`<|im_start|>`, `<bos>`): matched in text only when special parsing is on.
    case control = 3
    /// Added tokens matched in text always (Gemma's `\n` and whitespace runs).
    case userDefined = 4
    case unused = 5
    /// SentencePiece byte-fallback tokens `<0xNN>`.
    case byte = 6
}
