/// What can be wrong with a vocabulary in a GGUF file.
public enum TokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    case missingKey(String)
    case unsupportedModel(String)
    case inconsistentArrays(String)
    case invalidTokenID(key: String, id: Int, vocabularySize: Int)
    case invalidMerge(index: Int, text: String)

    public var description: String {
        switch self {
        case .missingKey(let key): "vocabulary error: metadata key '\(key)' is missing or has the wrong type"
        case .unsupportedModel(let m): "vocabulary error: tokenizer model '\(m)' is not supported (expected gpt2 or llama)"
        case .inconsistentArrays(let m): "vocabulary error: \(m)"
        case .invalidTokenID(let key, let id, let n): "vocabulary error: \(key) = \(id) is outside the vocabulary of \(n) tokens"
        case .invalidMerge(let i, let text): "vocabulary error: merge \(i) '\(text)' is not two tokens separated by a space"
        }
    }
}

/// A token's kind, as `tokenizer.ggml.token_type` stores it.
public enum TokenType: Int32, Sendable {
    case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}
