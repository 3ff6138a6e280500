import SwiftletGGUF

/// A vocabulary read from GGUF metadata, with the tokenizer its `tokenizer.ggml.model` names: byte-level
/// BPE (`gpt2`) or SentencePiece (`llama`). Tokenizes exactly as llama.cpp does.
///
/// ```swift
/// let tokenizer = try Tokenizer(metadata: file.metadata)
/// let ids = tokenizer.encode("Hello world")                 // BOS per the metadata, specials parsed
/// let text = tokenizer.decode(ids)
/// ```
public struct Tokenizer: Sendable {
    public enum Kind: String, Sendable { case bytePairEncoding = "gpt2", sentencePiece = "llama" }

    public let kind: Kind
    /// Token texts by id, as the vocabulary spells them.
    public let tokens: [String]
    public let types: [TokenType]
    public let bosID: Int?
    public let eosID: Int?
    public let eotID: Int?
    public let eomID: Int?
    public let unknownID: Int?
    public let paddingID: Int?
    /// Whether `encode` adds BOS by default (`tokenizer.ggml.add_bos_token`).
    public let addBOS: Bool
    public let addEOS: Bool
    /// Whether SentencePiece text gets a leading space (`tokenizer.ggml.add_space_prefix`).
    public let addSpacePrefix: Bool
    public let preTokenizer: PreTokenizer
    /// Things the caller may want to log (an unknown pre-tokenizer name, for example).
    public let warnings: [String]
    /// The ids that end a generation: EOS, EOT, EOM and tokens whose text is a known end marker.
    public let endOfGenerationIDs: Set<Int>

    let textToID: [String: Int]
    let bpe: BytePairEncoder?
    let spm: SentencePieceEncoder?
    /// The id of each byte-level character, for BPE (index: byte); -1 where the vocabulary lacks it.
    let byteSymbolIDs: [Int32]
    let special: SpecialTokenMatcher

    public var vocabularySize: Int { tokens.count }

    /// Reads the vocabulary from `metadata`; a missing or inconsistent array is a `TokenizerError`.
    public init(metadata m: GGUFMetadata) throws(TokenizerError) {
        guard let model = m["tokenizer.ggml.model"]?.string else { throw .missingKey("tokenizer.ggml.model") }
        guard let kind = Kind(rawValue: model) else { throw .unsupportedModel(model) }
        guard let tokens = m["tokenizer.ggml.tokens"]?.typedArray?.strings, !tokens.isEmpty else {
            throw .missingKey("tokenizer.ggml.tokens")
        }
        let n = tokens.count
        var types = [TokenType](repeating: .normal, count: n)
        if let value = m["tokenizer.ggml.token_type"] {
            guard let raw = value.typedArray?.ints else { throw .missingKey("tokenizer.ggml.token_type") }
            guard raw.count == n else {
                throw .inconsistentArrays("tokenizer.ggml.token_type has \(raw.count) entries for \(n) tokens")
            }
            types = raw.map { TokenType(rawValue: Int32(clamping: $0)) ?? .normal }
        }
        func id(_ key: String) throws(TokenizerError) -> Int? {
            guard let v = m[key] else { return nil }
            guard let i = v.int else { throw .missingKey(key) }
            if i == -1 || (i == 0xFFFF_FFFF && v.type == .uint32) { return nil }
            guard i >= 0 && i < n else { throw .invalidTokenID(key: key, id: i, vocabularySize: n) }
            return i
        }
        bosID = try id("tokenizer.ggml.bos_token_id")
        eosID = try id("tokenizer.ggml.eos_token_id")
        eotID = try id("tokenizer.ggml.eot_token_id")
        eomID = try id("tokenizer.ggml.eom_token_id")
        unknownID = try id("tokenizer.ggml.unknown_token_id")
        paddingID = try id("tokenizer.ggml.padding_token_id")
        addBOS = (m["tokenizer.ggml.add_bos_token"]?.bool ?? (kind == .sentencePiece)) && bosID != nil
        addEOS = (m["tokenizer.ggml.add_eos_token"]?.bool ?? false) && eosID != nil
        addSpacePrefix = m["tokenizer.ggml.add_space_prefix"]?.bool ?? (kind == .sentencePiece)
        self.kind = kind
        self.tokens = tokens
        self.types = types

        var textToID: [String: Int] = [:]
        textToID.reserveCapacity(n)
        for (i, t) in tokens.enumerated() where textToID[t] == nil { textToID[t] = i }
        self.textToID = textToID

        var warnings: [String] = []
        switch kind {
        case .bytePairEncoding:
            let pre = m["tokenizer.ggml.pre"]?.string
            let (rule, known) = PreTokenizer.named(pre)
            if !known { warnings.append("unknown pre-tokenizer '\(pre ?? "")'; using the GPT-2 split rule") }
            preTokenizer = rule
            guard let mergeTexts = m["tokenizer.ggml.merges"]?.typedArray?.strings else {
                throw .missingKey("tokenizer.ggml.merges")
            }
            var byteIDs = [Int32](repeating: -1, count: 256)
            for b in 0..<256 {
                var s = ""
                s.unicodeScalars.append(Unicode.Scalar(ByteLevel.byteToCodePoint[b])!)
                // Some vocabularies lack rare byte symbols; llama.cpp then drops those bytes.
                byteIDs[b] = textToID[s].map(Int32.init) ?? -1
            }
            byteSymbolIDs = byteIDs
            var merges: [UInt64: (rank: Int32, result: Int32)] = [:]
            merges.reserveCapacity(mergeTexts.count)
            for (rank, text) in mergeTexts.enumerated() {
                guard let space = text.firstIndex(of: " ", after: text.startIndex) else {
                    throw .invalidMerge(index: rank, text: text)
                }
                let left = String(text[..<space]), right = String(text[text.index(after: space)...])
                guard let l = textToID[left], let r = textToID[right], let result = textToID[left + right] else { continue }
                let key = BytePairEncoder.key(Int32(l), Int32(r))
                if merges[key] == nil { merges[key] = (Int32(rank), Int32(result)) }
            }
            bpe = BytePairEncoder(merges: merges)
            spm = nil
        case .sentencePiece:
            preTokenizer = .gpt2
            byteSymbolIDs = []
            var scores = [Float](repeating: 0, count: n)
            if let value = m["tokenizer.ggml.scores"] {
                guard let s = value.typedArray?.floats else { throw .missingKey("tokenizer.ggml.scores") }
                guard s.count == n else { throw .inconsistentArrays("tokenizer.ggml.scores has \(s.count) entries for \(n) tokens") }
                scores = s
            }
            var pieces: [[UInt8]: Int32] = [:]
            pieces.reserveCapacity(n)
            for (i, t) in tokens.enumerated() where pieces[Array(t.utf8)] == nil { pieces[Array(t.utf8)] = Int32(i) }
            let hex = Array("0123456789ABCDEF")
            let byteTokens: [Int32?] = (0..<256).map { b in
                textToID["<0x\(hex[b >> 4])\(hex[b & 15])>"].map(Int32.init)
            }
            spm = SentencePieceEncoder(pieces: pieces, scores: scores, byteTokens: byteTokens, unknownID: unknownID)
            bpe = nil
        }
        self.warnings = warnings
        special = SpecialTokenMatcher(tokens: tokens, types: types)
        var eog = Set([eosID, eotID, eomID].compactMap { $0 })
        for marker in Tokenizer.endMarkers { if let i = textToID[marker] { eog.insert(i) } }
        endOfGenerationIDs = eog
    }

    /// Texts of tokens that end a turn in the chat formats in common use (llama.cpp's list).
    public static let endMarkers = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>",
        "_<EOT>", "<|end_of_text|>", "<end_of_utterance>", "<|return|>", "<|call|>",
    ]

    // MARK: - Encoding

    /// Tokenizes `text`. `addBOS: nil` adds BOS when the metadata says so; `parseSpecial` lets control
    /// tokens written in the text (`<|im_start|>`) become those tokens. User-defined tokens always match.
    public func encode(_ text: String, addBOS: Bool? = nil, parseSpecial: Bool = true) -> [Int] {
        encode(segments: [(text, parseSpecial: parseSpecial)], addBOS: addBOS)
    }

    /// Tokenizes raw bytes (a file's content, exactly); invalid UTF-8 is handled as llama.cpp does.
    public func encode(bytes: [UInt8], addBOS: Bool? = nil, parseSpecial: Bool = true) -> [Int] {
        var out: [Int] = []
        if addBOS ?? self.addBOS, let bos = bosID { out.append(bos) }
        var previousWasSpecial = true
        appendFragments(bytes, parseSpecial: parseSpecial, previousWasSpecial: &previousWasSpecial, into: &out)
        if addBOS ?? self.addBOS, addEOS, let eos = eosID { out.append(eos) }
        return out
    }

    /// Tokenizes text made of segments that differ in whether control tokens may be parsed in them: a
    /// rendered chat prompt is template text (parsed) around message content (never parsed, so a user who
    /// types `<|im_start|>` gets those characters).
    public func encode(segments: [(String, parseSpecial: Bool)], addBOS: Bool? = nil) -> [Int] {
        var out: [Int] = []
        let withBOS = addBOS ?? self.addBOS
        if withBOS, let bos = bosID { out.append(bos) }
        var previousWasSpecial = true
        for (text, parse) in segments where !text.isEmpty {
            appendFragments(Array(text.utf8), parseSpecial: parse, previousWasSpecial: &previousWasSpecial, into: &out)
        }
        // A template that writes BOS itself must not get a second one.
        if withBOS, out.count >= 2, out[0] == bosID, out[1] == bosID { out.removeFirst() }
        if withBOS, addEOS, let eos = eosID { out.append(eos) }
        return out
    }

    private func appendFragments(_ bytes: [UInt8], parseSpecial: Bool, previousWasSpecial: inout Bool, into out: inout [Int]) {
        for fragment in special.partition(bytes, parseSpecial: parseSpecial) {
            switch fragment {
            case .token(let id):
                out.append(id)
                previousWasSpecial = true
            case .text(let range):
                let piece = Array(bytes[range])
                switch kind {
                case .bytePairEncoding: encodeBPE(piece, into: &out)
                case .sentencePiece:
                    var text: [UInt8] = addSpacePrefix && previousWasSpecial ? [0xE2, 0x96, 0x81] : []
                    text.reserveCapacity(piece.count + 3)
                    for b in piece {
                        if b == 0x20 { text.append(contentsOf: [0xE2, 0x96, 0x81]) } else { text.append(b) }
                    }
                    spm?.encode(text, into: &out)
                }
                previousWasSpecial = false
            }
        }
    }

    private func encodeBPE(_ bytes: [UInt8], into out: inout [Int]) {
        guard let bpe else { return }
        let cps = bytes.withUnsafeBufferPointer { UnicodeText.codePoints($0) }
        let ends = preTokenizer.split(cps)
        var start = 0
        var utf8: [UInt8] = []
        var symbols: [Int32] = []
        for end in ends {
            utf8.removeAll(keepingCapacity: true)
            for cp in cps[start..<end] { UnicodeText.appendUTF8(cp, to: &utf8) }
            start = end
            symbols.removeAll(keepingCapacity: true)
            for b in utf8 { symbols.append(byteSymbolIDs[Int(b)]) }
            if preTokenizer.ignoresMerges {
                var word = ""
                for b in utf8 { word.unicodeScalars.append(Unicode.Scalar(ByteLevel.byteToCodePoint[Int(b)])!) }
                if let id = textToID[word] { out.append(id); continue }
            }
            bpe.encode(symbols, into: &out)
        }
    }

    // MARK: - Decoding

    /// The token's text as the vocabulary spells it.
    public func tokenText(_ id: Int) -> String { id >= 0 && id < tokens.count ? tokens[id] : "" }

    public func tokenType(_ id: Int) -> TokenType { id >= 0 && id < types.count ? types[id] : .undefined }

    /// The id of the token spelled `text`, if the vocabulary has one.
    public func tokenID(forText text: String) -> Int? { textToID[text] }

    /// The bytes a token stands for. Control and unknown tokens give their text only with `renderSpecial`.
    public func tokenBytes(_ id: Int, renderSpecial: Bool = false) -> [UInt8] {
        guard id >= 0 && id < tokens.count else { return [] }
        let text = tokens[id]
        switch types[id] {
        case .control, .unknown:
            return renderSpecial ? Array(text.utf8) : []
        case .userDefined:
            return Array(text.utf8)
        case .byte:
            if kind == .sentencePiece, text.utf8.count == 6, let b = UInt8(text.dropFirst(3).dropLast(), radix: 16) {
                return [b]
            }
            return kind == .bytePairEncoding ? ByteLevel.decode(text) : Array(text.utf8)
        default:
            switch kind {
            case .bytePairEncoding: return ByteLevel.decode(text)
            case .sentencePiece:
                var out: [UInt8] = []
                out.reserveCapacity(text.utf8.count)
                let u = Array(text.utf8)
                var i = 0
                while i < u.count {
                    if i + 2 < u.count, u[i] == 0xE2, u[i + 1] == 0x96, u[i + 2] == 0x81 { out.append(0x20); i += 3 } else { out.append(u[i]); i += 1 }
                }
                return out
            }
        }
    }

    /// The text of `ids` (invalid UTF-8 repaired with U+FFFD).
    public func decode(_ ids: [Int], renderSpecial: Bool = false) -> String {
        var bytes: [UInt8] = []
        for id in ids { bytes += tokenBytes(id, renderSpecial: renderSpecial) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A decoder for tokens arriving one at a time.
    public func makeStreamingDecoder(renderSpecial: Bool = false) -> StreamingDecoder {
        StreamingDecoder(tokenizer: self, renderSpecial: renderSpecial)
    }
}

extension String {
    fileprivate func firstIndex(of c: Character, after: Index) -> Index? {
        guard after < endIndex else { return nil }
        return self[index(after: after)...].firstIndex(of: c)
    }
}
