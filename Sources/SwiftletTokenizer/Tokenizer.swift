import SwiftletGGUF

/// Text ↔ token ids for a GGUF model, matching llama.cpp's tokenizer id for id.
///
/// Built from the `tokenizer.ggml.*` metadata. Copies are cheap: the tables are shared and immutable.
public struct Tokenizer: Sendable {
    let vocab: Vocabulary
    /// The algorithm the vocabulary uses.
    public var model: TokenizerModel { vocab.model }
    /// The pre-tokenizer rule in use (byte-level BPE only).
    public var preTokenizer: PreTokenizer { vocab.preTokenizer }
    public let bosID: Int?
    public let eosID: Int?
    /// End of turn (`<|im_end|>`, `<end_of_turn>`, …): from `tokenizer.ggml.eot_token_id`, else by its text.
    public let eotID: Int?
    public let padID: Int?
    public let unknownID: Int?
    /// WordPiece: the separator that ends an encoded text (`[SEP]`; `tokenizer.ggml.seperator_token_id`,
    /// else EOS, else the token `[SEP]`).
    public let separatorID: Int?
    /// WordPiece: the token that starts an encoded text (`[CLS]`; `tokenizer.ggml.cls_token_id`, else BOS,
    /// else the token `[CLS]`).
    public let classifierID: Int?
    /// WordPiece: how text is normalized before it is split into pieces (from
    /// `tokenizer.ggml.normalizer.lowercase` and `.strip_accents`; both default to true, as in llama.cpp).
    public let normalizer: BertNormalizer
    /// Whether encoding adds BOS by default (`tokenizer.ggml.add_bos_token`).
    public let addBOS: Bool
    /// Whether encoding adds EOS by default (`tokenizer.ggml.add_eos_token`).
    public let addEOS: Bool
    /// Whether SentencePiece text gets a leading space (`tokenizer.ggml.add_space_prefix`).
    public let addSpacePrefix: Bool
    /// Problems that did not stop loading (an unknown pre-tokenizer name); the caller decides how to log.
    public let warnings: [String]

    public var vocabularySize: Int { vocab.texts.count }

    /// Reads the vocabulary from GGUF metadata.
    public init(metadata m: GGUFMetadata) throws(TokenizerError) {
        guard let modelName = m["tokenizer.ggml.model"]?.string else {
            throw m["tokenizer.ggml.model"] == nil
                ? .missingKey("tokenizer.ggml.model") : .wrongType(key: "tokenizer.ggml.model", expected: "a string")
        }
        guard let model = TokenizerModel(rawValue: modelName) else { throw .unsupportedModel(modelName) }
        guard let tv = m["tokenizer.ggml.tokens"] else { throw .missingKey("tokenizer.ggml.tokens") }
        guard let texts = tv.typedArray?.strings else {
            throw .wrongType(key: "tokenizer.ggml.tokens", expected: "an array of strings")
        }
        let n = texts.count
        guard n > 0 else { throw .emptyVocabulary }
        var types = [TokenType](repeating: .normal, count: n)
        if let v = m["tokenizer.ggml.token_type"] {
            guard let a = v.typedArray?.ints else {
                throw .wrongType(key: "tokenizer.ggml.token_type", expected: "an array of integers")
            }
            guard a.count == n else { throw .inconsistentArrays(key: "tokenizer.ggml.token_type", count: a.count, tokenCount: n) }
            types = a.map { TokenType(rawValue: $0) ?? .undefined }
        }
        // llama.cpp (llama-vocab.cpp) makes every end-of-generation marker a control token at load,
        // whatever the file says (Gemma 3 stores `</s>` as user-defined): it is then neither matched in
        // text without special-token parsing nor rendered when decoding.
        for (id, text) in texts.enumerated() where EndOfGeneration.markerTexts.contains(text) { types[id] = .control }
        var scores = [Float](repeating: 0, count: n)
        if let v = m["tokenizer.ggml.scores"] {
            guard let a = v.typedArray?.floats else {
                throw .wrongType(key: "tokenizer.ggml.scores", expected: "an array of floats")
            }
            guard a.count == n else { throw .inconsistentArrays(key: "tokenizer.ggml.scores", count: a.count, tokenCount: n) }
            scores = a
        } else if model == .sentencePiece {
            throw .missingKey("tokenizer.ggml.scores")
        }
        var mergeList: [String] = []
        if model == .bytePairEncoding {
            guard let v = m["tokenizer.ggml.merges"] else { throw .missingKey("tokenizer.ggml.merges") }
            guard let a = v.typedArray?.strings else {
                throw .wrongType(key: "tokenizer.ggml.merges", expected: "an array of strings")
            }
            mergeList = a
        }
        var warnings: [String] = []
        var pre = PreTokenizer.default
        if model == .bytePairEncoding {
            let name = m["tokenizer.ggml.pre"]?.string ?? "default"
            if let p = PreTokenizer.named(name) {
                pre = p
            } else {
                warnings.append("unknown pre-tokenizer \"\(name)\"; using llama.cpp's default split rule")
            }
        }

        func id(_ key: String) throws(TokenizerError) -> Int? {
            guard let v = m[key] else { return nil }
            guard let i = v.int else { throw .wrongType(key: key, expected: "an integer") }
            if i == -1 { return nil }
            guard i >= 0 && i < n else { throw .invalidTokenID(key: key, id: i, vocabularySize: n) }
            return i
        }
        bosID = try id("tokenizer.ggml.bos_token_id")
        eosID = try id("tokenizer.ggml.eos_token_id")
        padID = try id("tokenizer.ggml.padding_token_id")
        let unknown = try id("tokenizer.ggml.unknown_token_id")
        if model == .wordPiece {
            func named(_ t: String) -> Int? { texts.firstIndex(of: t) }
            unknownID = unknown ?? named("[UNK]")
            separatorID = try id("tokenizer.ggml.seperator_token_id") ?? eosID ?? named("[SEP]")
            classifierID = try id("tokenizer.ggml.cls_token_id") ?? bosID ?? named("[CLS]")
        } else {
            unknownID = unknown
            separatorID = try id("tokenizer.ggml.seperator_token_id")
            classifierID = try id("tokenizer.ggml.cls_token_id")
        }
        // llama.cpp (llama_vocab::impl::load): lower-casing defaults to true, accent stripping to lower-casing.
        let lower = m["tokenizer.ggml.normalizer.lowercase"]?.bool ?? true
        normalizer = BertNormalizer(lowercase: lower, stripAccents: m["tokenizer.ggml.normalizer.strip_accents"]?.bool)
        if let e = try id("tokenizer.ggml.eot_token_id") {
            eotID = e
        } else {
            let known = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>", "<|end▁of▁sentence|>"]
            eotID = known.lazy.compactMap { k in texts.firstIndex(of: k) }.first
        }
        addBOS = m["tokenizer.ggml.add_bos_token"]?.bool ?? (model != .bytePairEncoding)
        addEOS = m["tokenizer.ggml.add_eos_token"]?.bool ?? false
        addSpacePrefix = m["tokenizer.ggml.add_space_prefix"]?.bool ?? (model == .sentencePiece)
        self.warnings = warnings
        vocab = Vocabulary(model: model, texts: texts, types: types, scores: scores, mergeList: mergeList, preTokenizer: pre)
    }

    // MARK: Encoding

    /// Encodes text.
    /// - Parameters:
    ///   - addBOS: nil adds BOS (and EOS) as the metadata says; false adds neither (`llama-tokenize --no-bos`);
    ///     true adds BOS even when the metadata does not. WordPiece (as llama.cpp) adds `[CLS]` … `[SEP]`
    ///     unless this is false.
    ///   - parseSpecial: whether CONTROL tokens written in the text (`<|im_start|>`) become their ids.
    ///     USER_DEFINED tokens are always matched.
    public func encode(_ text: String, addBOS: Bool? = nil, parseSpecial: Bool = true) -> [Int] {
        encode(bytes: Array(text.utf8), addBOS: addBOS, parseSpecial: parseSpecial)
    }

    /// Encodes raw bytes; malformed UTF-8 is handled as llama.cpp does (U+FFFD for BPE, byte tokens for
    /// SentencePiece).
    public func encode(bytes: [UInt8], addBOS: Bool? = nil, parseSpecial: Bool = true) -> [Int] {
        encode(segments: [(bytes, parseSpecial)], addBOS: addBOS)
    }

    /// Encodes consecutive segments, each with its own special-token parsing: a chat template's own text
    /// with parsing on, message content with it off so a user cannot inject `<|im_start|>`.
    public func encode(segments: [(text: String, parseSpecial: Bool)], addBOS: Bool? = nil) -> [Int] {
        encode(segments: segments.map { (Array($0.text.utf8), $0.parseSpecial) }, addBOS: addBOS)
    }

    func encode(segments: [([UInt8], Bool)], addBOS: Bool?) -> [Int] {
        var out: [Int] = []
        let special = addBOS != false
        if vocab.model == .wordPiece { return encodeWordPiece(segments: segments, special: special) }
        if special, addBOS == true || self.addBOS, let b = bosID { out.append(b) }
        var prevSpecial = true
        var spmCache: [ArraySlice<UInt8>: [Int]] = [:]
        var bpeCache: [ArraySlice<UInt8>: [Int]] = [:]
        for (bytes, parse) in segments {
            let fragments = bytes.withUnsafeBufferPointer { vocab.specials.partition($0, parseSpecial: parse) }
            for f in fragments {
                switch f {
                case .token(let t):
                    out.append(Int(t))
                    prevSpecial = true
                case .text(let r):
                    switch vocab.model {
                    case .bytePairEncoding:
                        bytes.withUnsafeBufferPointer { vocab.bpeEncode(text: UnsafeBufferPointer(rebasing: $0[r]), cache: &bpeCache, into: &out) }
                    case .wordPiece:
                        break  // encodeWordPiece
                    case .sentencePiece:
                        var t: [UInt8] = []
                        t.reserveCapacity(r.count + 8)
                        if addSpacePrefix && prevSpecial { t.append(contentsOf: [0xE2, 0x96, 0x81]) }
                        for b in bytes[r] {
                            if b == 0x20 { t.append(contentsOf: [0xE2, 0x96, 0x81]) } else { t.append(b) }
                        }
                        vocab.spmEncodeFragment(t, cache: &spmCache, into: &out)
                    }
                    prevSpecial = false
                }
            }
        }
        if special, self.addEOS, let e = eosID { out.append(e) }
        return out
    }

    /// llama.cpp's LLAMA_VOCAB_TYPE_WPM branch of `tokenize_impl`: `[CLS]`, each fragment's pieces or special
    /// token, `[SEP]` (the add-BOS/EOS flags do not matter, only whether special tokens are added).
    private func encodeWordPiece(segments: [([UInt8], Bool)], special: Bool) -> [Int] {
        var out: [Int] = []
        if special, let c = classifierID { out.append(c) }
        for (bytes, parse) in segments {
            let fragments = bytes.withUnsafeBufferPointer { vocab.specials.partition($0, parseSpecial: parse) }
            for f in fragments {
                switch f {
                case .token(let t):
                    out.append(Int(t))
                case .text(let r):
                    let text = String(decoding: bytes[r], as: UTF8.self)
                    vocab.wordPieceEncode(text: text, normalizer: normalizer, unknownID: unknownID, into: &out)
                }
            }
        }
        if special, let s = separatorID { out.append(s) }
        return out
    }

    // MARK: Decoding

    /// The token's text as stored in the vocabulary (byte-level or `▁` form).
    public func tokenText(_ id: Int) -> String { valid(id) ? vocab.texts[id] : "" }

    public func tokenType(_ id: Int) -> TokenType { valid(id) ? vocab.types[id] : .undefined }

    public func isControl(_ id: Int) -> Bool { tokenType(id) == .control }

    /// The token's score (SentencePiece) or 0.
    public func score(_ id: Int) -> Float { valid(id) ? vocab.scores[id] : 0 }

    /// The bytes a token stands for; control and user-defined tokens give their text. Out of range: empty.
    public func tokenBytes(_ id: Int) -> [UInt8] { valid(id) ? vocab.pieces[id] : [] }

    /// Decodes ids to text; CONTROL tokens are left out unless `renderSpecial`, malformed UTF-8 becomes U+FFFD.
    public func decode(_ ids: [Int], renderSpecial: Bool = false) -> String {
        String(decoding: decodeBytes(ids, renderSpecial: renderSpecial), as: UTF8.self)
    }

    /// The concatenated bytes of `ids`, as `decode` renders them.
    public func decodeBytes(_ ids: [Int], renderSpecial: Bool = false) -> [UInt8] {
        var out: [UInt8] = []
        for id in ids where renderSpecial || !isControl(id) { out.append(contentsOf: tokenBytes(id)) }
        return out
    }

    @inline(__always)
    private func valid(_ id: Int) -> Bool { id >= 0 && id < vocab.texts.count }
}
