import SwiftletGGUF

/// Which algorithm turns text pieces into tokens (`tokenizer.ggml.model`).
public enum TokenizerModel: String, Sendable {
    /// Byte-level BPE (`gpt2`): merges by rank over bytes mapped to printable characters.
    case bytePairEncoding = "gpt2"
    /// SentencePiece (`llama`): score-based merging over characters, `▁` for space, `<0xNN>` byte fallback.
    case sentencePiece = "llama"
    /// WordPiece (`bert`, llama.cpp's WPM): BERT's normalization, then greedy longest-match pieces over a
    /// vocabulary in phantom-space form (see ``WordPiece``).
    case wordPiece = "bert"
}

/// The immutable vocabulary tables, shared by every copy of a `Tokenizer`.
final class Vocabulary: Sendable {
    let model: TokenizerModel
    let texts: [String]
    let types: [TokenType]
    let scores: [Float]
    /// Each token's bytes as decoded text (byte-level mapping undone for BPE, `▁` → space and `<0xNN>` → the
    /// byte for SentencePiece); control and user-defined tokens are their text.
    let pieces: [[UInt8]]
    /// Token text (SentencePiece) or raw bytes of normal tokens (BPE) → id.
    let lookup: ByteStringTable
    /// BPE: the token of each single byte, or -1.
    let byteTokens: [Int32]
    /// BPE: (left id << 32 | right id) → (rank, merged id).
    let merges: [UInt64: (rank: Int32, result: Int32)]
    let preTokenizer: PreTokenizer
    let specials: SpecialTokens
    /// SentencePiece: the texts of tokens with `▁` after their first character. While none occurs in a
    /// fragment, no merge can cross a `▁`, so words can be encoded (and cached) one at a time.
    let spanningTexts: [[UInt8]]
    /// WordPiece: the longest token text in bytes, the longest piece worth looking up.
    let maxTokenBytes: Int

    init(
        model: TokenizerModel, texts: [String], types: [TokenType], scores: [Float], mergeList: [String],
        preTokenizer: PreTokenizer
    ) {
        self.model = model
        self.texts = texts
        self.types = types
        self.scores = scores
        self.preTokenizer = preTokenizer
        var table = ByteStringTable(capacity: texts.count)
        var pieces: [[UInt8]] = []
        pieces.reserveCapacity(texts.count)
        var byteTokens = [Int32](repeating: -1, count: 256)
        var merges: [UInt64: (rank: Int32, result: Int32)] = [:]
        switch model {
        case .wordPiece:
            // llama.cpp looks every token up by its text (token_to_id), control tokens included.
            for (i, t) in texts.enumerated() {
                table.insert(Array(t.utf8), Int32(i))
                pieces.append(Vocabulary.sentencePiecePiece(t, type: types[i]))
            }
        case .sentencePiece:
            for (i, t) in texts.enumerated() {
                table.insert(Array(t.utf8), Int32(i))
                pieces.append(Vocabulary.sentencePiecePiece(t, type: types[i]))
            }
            for b in 0..<256 {
                let hex = String(b, radix: 16, uppercase: true)
                let id = table.lookup(Array("<0x\(hex.count == 1 ? "0" + hex : hex)>".utf8))
                byteTokens[b] = id
            }
        case .bytePairEncoding:
            var ids: [String: Int32] = [:]
            ids.reserveCapacity(texts.count)
            for (i, t) in texts.enumerated() {
                ids[t] = Int32(i)
                let (raw, exact) = ByteLevel.decode(t)
                let isText = types[i] == .control || types[i] == .userDefined || !exact
                pieces.append(isText && types[i] != .normal ? Array(t.utf8) : raw)
                if exact && (types[i] == .normal || types[i] == .byte || types[i] == .undefined) {
                    table.insert(raw, Int32(i))
                }
            }
            for b in 0..<256 {
                var s = String.UnicodeScalarView()
                s.append(Unicode.Scalar(ByteLevel.byteToScalar[b])!)
                byteTokens[b] = ids[String(s)] ?? -1
            }
            merges.reserveCapacity(mergeList.count)
            for (rank, m) in mergeList.enumerated() {
                // The separator is the first space after the first character (a merge's left side may not
                // be empty).
                let u = Array(m.unicodeScalars)
                guard u.count >= 3, let sp = u[1...].firstIndex(of: " ") else { continue }
                var l = String.UnicodeScalarView(), r = String.UnicodeScalarView()
                l.append(contentsOf: u[..<sp]); r.append(contentsOf: u[(sp + 1)...])
                let left = String(l), right = String(r)
                guard let li = ids[left], let ri = ids[right], let res = ids[left + right] else { continue }
                let key = UInt64(UInt32(li)) << 32 | UInt64(UInt32(ri))
                if merges[key] == nil { merges[key] = (Int32(rank), res) }
            }
        }
        self.lookup = table
        self.pieces = pieces
        self.byteTokens = byteTokens
        self.merges = merges
        self.specials = SpecialTokens(texts: texts, types: types)
        self.maxTokenBytes = texts.reduce(0) { max($0, $1.utf8.count) }
        self.spanningTexts = model == .sentencePiece
            ? texts.filter { $0.unicodeScalars.dropFirst().contains("\u{2581}") }.map { Array($0.utf8) } : []
    }

    private static func sentencePiecePiece(_ t: String, type: TokenType) -> [UInt8] {
        switch type {
        case .byte:
            // "<0xNN>"
            let u = Array(t.utf8)
            if u.count == 6, let v = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16) { return [v] }
            return u
        case .normal, .undefined, .unused:
            var out: [UInt8] = []
            let u = Array(t.utf8)
            var i = 0
            while i < u.count {
                if i + 2 < u.count && u[i] == 0xE2 && u[i + 1] == 0x96 && u[i + 2] == 0x81 {
                    out.append(0x20); i += 3
                } else {
                    out.append(u[i]); i += 1
                }
            }
            return out
        default:
            return Array(t.utf8)
        }
    }
}
