/// Everything that can be wrong with a vocabulary in GGUF metadata. Each message names the key at fault.
public enum TokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    case missingKey(String)
    case wrongType(key: String, expected: String)
    case inconsistentArrays(key: String, count: Int, tokenCount: Int)
    case unsupportedModel(String)
    case invalidTokenID(key: String, id: Int, vocabularySize: Int)
    case emptyVocabulary

    public var description: String {
        switch self {
        case .missingKey(let k): "tokenizer metadata is missing \(k)"
        case .wrongType(let k, let e): "tokenizer metadata \(k) is not \(e)"
        case .inconsistentArrays(let k, let c, let n):
            "tokenizer metadata \(k) has \(c) entries but tokenizer.ggml.tokens has \(n)"
        case .unsupportedModel(let m): "unsupported tokenizer model \"\(m)\" (supported: gpt2, llama, bert)"
        case .invalidTokenID(let k, let id, let n): "\(k) = \(id) is outside the vocabulary (0..<\(n))"
        case .emptyVocabulary: "tokenizer.ggml.tokens is empty"
        }
    }
}
