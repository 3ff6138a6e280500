/// WordPiece (BERT) encoding over a GGUF vocabulary in llama.cpp's "phantom space" form: a word-initial
/// piece is stored with a `▁` (U+2581) prefix, a continuation piece (`##ing` in BERT's `vocab.txt`) without
/// its `##`, and control tokens (`[CLS]`) as they are.
public enum WordPiece {
    /// Hugging Face's `max_input_chars_per_word`: a longer word is `[UNK]` without trying pieces.
    public static let maxInputCharactersPerWord = 100

    /// A `vocab.txt` / `tokenizer.json` token in the phantom-space form llama.cpp's converter writes
    /// (convert_hf_to_gguf.py `BertModel.set_vocab`): control tokens unchanged, `##x` → `x`, else `▁x`.
    public static func phantomText(_ token: String, isControl: Bool) -> String {
        if isControl { return token }
        // By bytes: as Characters, "##" followed by a combining mark is not two "#"s.
        let u = Array(token.utf8)
        if u.count >= 2 && u[0] == 0x23 && u[1] == 0x23 { return String(decoding: u[2...], as: UTF8.self) }
        return "\u{2581}" + token
    }
}

extension Vocabulary {
    /// Appends the ids of `text`'s words: greedy longest match first from each word's start, a `▁` prefix
    /// for the first piece, and the unknown token for a word no pieces cover or longer than
    /// ``WordPiece/maxInputCharactersPerWord`` characters. Mirrors llama.cpp's
    /// `llm_tokenizer_wpm_session::tokenize` and Hugging Face's `WordPiece` model.
    func wordPieceEncode(text: String, normalizer: BertNormalizer, unknownID: Int?, into out: inout [Int]) {
        for word in normalizer.words(text) {
            let scalars = word.unicodeScalars
            if scalars.count > WordPiece.maxInputCharactersPerWord {
                if let u = unknownID { out.append(u) }
                continue
            }
            // The word with its phantom prefix, and the byte offset where each character starts.
            var bytes: [UInt8] = [0xE2, 0x96, 0x81]
            var starts: [Int] = [0]
            for s in scalars {
                starts.append(bytes.count)
                bytes.append(contentsOf: String(s).utf8)
            }
            starts.remove(at: 1)  // the first character is matched together with the prefix
            starts.append(bytes.count)
            let mark = out.count
            var covered = true
            bytes.withUnsafeBufferPointer { b in
                var i = 0
                while i < starts.count - 1 {
                    var j = starts.count - 1
                    var found: Int32 = -1
                    while j > i {
                        let length = starts[j] - starts[i]
                        if length <= maxTokenBytes {
                            found = lookup.lookup(UnsafeBufferPointer(rebasing: b[starts[i]..<starts[j]]))
                            if found >= 0 { break }
                        }
                        j -= 1
                    }
                    guard found >= 0 else {
                        covered = false
                        return
                    }
                    out.append(Int(found))
                    i = j
                }
            }
            if !covered {
                out.removeSubrange(mark...)
                if let u = unknownID { out.append(u) }
            }
        }
    }
}
