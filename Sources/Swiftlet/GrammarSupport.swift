import SwiftletGrammar
import SwiftletTokenizer

extension GrammarVocabulary {
    /// The vocabulary of `tokenizer` for grammars: each token's bytes as llama.cpp's `token_to_piece`
    /// gives them with special tokens rendered (a control token is its text), and the tokens that end a
    /// generation, which a grammar allows only where it can end.
    public convenience init(tokenizer: Tokenizer, endOfGeneration: Set<Int>) {
        self.init(pieces: (0..<tokenizer.vocabularySize).map { tokenizer.tokenBytes($0) },
                  endOfGeneration: endOfGeneration)
    }
}

extension Grammar {
    /// Parses GBNF text whose token references (`<|im_end|>`, `<[42]>`) name tokens of `tokenizer`, as
    /// llama.cpp's parser looks them up: a text reference must be exactly one token.
    public init(_ text: String, tokenizer: Tokenizer) throws(GrammarError) {
        try self.init(text, tokenID: { name in
            let ids = tokenizer.encode(name, addBOS: false, parseSpecial: true)
            return ids.count == 1 && tokenizer.tokenText(ids[0]) == name ? ids[0] : nil
        })
    }
}
