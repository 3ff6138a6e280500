import SwiftletGGUF
import SwiftletTokenizer

/// A BERT folder's WordPiece vocabulary as llama.cpp's converter writes it: `get_vocab_base` (tokens and
/// types), `BertModel.set_vocab` (the phantom-space form) and gguf-py's `SpecialVocab` (special-token ids,
/// add-BOS/EOS/SEP flags, normalizer flags), read from `tokenizer.json` (else `vocab.txt`),
/// `tokenizer_config.json` and `config.json`.
struct BertVocabulary: Sendable {
    /// Token texts by id, as Hugging Face spells them (`##ing`), and their GGUF types.
    let texts: [String]
    let types: [TokenType]
    let specialIDs: [(String, Int)]
    let addFlags: [(String, Bool)]
    let lowercase: Bool?
    let stripAccents: Bool?
    /// Nothing in a vocabulary stops short of an error yet.
    var warnings: [String] { [] }

    var size: Int { texts.count }

    init(folder: ModelFolder, vocabularySize: Int?) throws(ConversionError) {
        var vocab: [(String, Int)] = []
        var added: [(content: String, id: Int, special: Bool)] = []
        var tokenizerJSON: JSONObject?
        if folder.has("tokenizer.json") {
            let t = try folder.object("tokenizer.json")
            tokenizerJSON = t
            guard let model = t.object("model"), model.string("type") == "WordPiece" || model.string("type") == nil,
                let entries = model["vocab"]?.members
            else {
                throw .tokenizer("tokenizer.json has no WordPiece model with a vocab")
            }
            for (text, id) in entries {
                guard let i = id.int, i >= 0 else {
                    throw .tokenizer("tokenizer.json vocab id of \"\(text)\" is not an id")
                }
                vocab.append((text, i))
            }
            for a in t["added_tokens"]?.array ?? [] {
                guard let c = a["content"]?.string, let i = a["id"]?.int else {
                    throw .tokenizer("an added token lacks content or id")
                }
                added.append((c, i, a["special"]?.bool ?? false))
            }
        } else if folder.has("vocab.txt") {
            var lines = try folder.text("vocab.txt").split(separator: "\n", omittingEmptySubsequences: false).map(
                String.init)
            if lines.last == "" { lines.removeLast() }
            vocab = lines.enumerated().map { ($1.hasSuffix("\r") ? String($1.dropLast()) : $1, $0) }
            // Without tokenizer.json, transformers registers the special tokens of tokenizer_config.json /
            // special_tokens_map.json as special added tokens.
            for file in ["tokenizer_config.json", "special_tokens_map.json"] where folder.has(file) {
                let o = try folder.object(file)
                for typ in ["unk", "sep", "pad", "cls", "mask", "bos", "eos"] {
                    guard let v = o["\(typ)_token"], let text = v.string ?? v["content"]?.string,
                        let id = vocab.first(where: { $0.0 == text })?.1, !added.contains(where: { $0.id == id })
                    else { continue }
                    added.append((text, id, true))
                }
            }
        } else {
            throw .missingFile("tokenizer.json or vocab.txt")
        }
        for a in added where !vocab.contains(where: { $0.1 == a.id }) { vocab.append((a.content, a.id)) }
        let maxID = vocab.map(\.1).max() ?? -1
        let n = vocabularySize ?? (maxID + 1)
        guard maxID < n else { throw .tokenizer("token id \(maxID) is not below vocab_size \(n)") }
        guard n > 0 else { throw .tokenizer("the vocabulary is empty") }

        // get_vocab_base: ids without a token become "[PAD<id>]" (unused); added tokens are control when
        // special, user-defined otherwise; the rest normal.
        var texts = (0..<n).map { "[PAD\($0)]" }
        var types = [TokenType](repeating: .unused, count: n)
        for (t, i) in vocab {
            texts[i] = t
            types[i] = .normal
        }
        for a in added {
            types[a.id] = a.special || BertVocabulary.looksSpecial(a.content) ? .control : .userDefined
        }
        self.texts = texts
        self.types = types

        // SpecialVocab: tokenizer.json's post-processor and tokenizer_config.json, then config.json ids.
        let config = folder.has("tokenizer_config.json") ? try folder.object("tokenizer_config.json") : nil
        func tokenText(_ key: String) -> String? {
            guard let v = config?[key] else { return nil }
            return v.string ?? v["content"]?.string
        }
        var tokenTexts: [String: String] = [:]
        for typ in ["bos", "eos", "unk", "sep", "pad", "cls", "mask"] { tokenTexts[typ] = tokenText("\(typ)_token") }
        if tokenTexts["bos"] == nil, let c = tokenTexts["cls"] { tokenTexts["bos"] = c }
        if tokenTexts["eos"] == nil, let s = tokenTexts["sep"] { tokenTexts["eos"] = s }
        var flags: [(String, Bool)] = []
        func setFlag(_ k: String, _ v: Bool, override: Bool = true) {
            if let i = flags.firstIndex(where: { $0.0 == k }) {
                if override { flags[i].1 = v }
            } else {
                flags.append((k, v))
            }
        }
        if let post = tokenizerJSON?.object("post_processor") {
            let processors = post["processors"]?.array ?? [post.value]
            for p in processors {
                switch p["type"]?.string {
                case "ByteLevel":
                    setFlag("bos", false, override: false)
                    setFlag("eos", false, override: false)
                case "RobertaProcessing", "BertProcessing":
                    setFlag("bos", true)
                    setFlag("eos", true)
                    setFlag("sep", true)
                case "TemplateProcessing":
                    func special(_ item: PlainJSON?) -> String? { item?["SpecialToken"]?["id"]?.string }
                    let single = p["single"]?.array ?? []
                    var first: String?
                    var last: String?
                    if single.count > 1 {
                        first = special(single.first)
                        if let f = first { setFlag("bos", f == tokenTexts["bos"] || f == tokenTexts["cls"]) }
                        last = special(single.last)
                        if let l = last { setFlag("eos", l == tokenTexts["eos"]) }
                    }
                    var pair = p["pair"]?.array ?? []
                    if !pair.isEmpty {
                        if first != nil, special(pair.first) == first { pair.removeFirst() }
                        if last != nil, special(pair.last) == last, !pair.isEmpty { pair.removeLast() }
                        if pair.count > 2, pair.first?["Sequence"]?["id"]?.string == "A",
                            pair.last?["Sequence"]?["id"]?.string == "B"
                        {
                            let middle = Array(pair[1..<(pair.count - 1)])
                            let separators = [tokenTexts["sep"], tokenTexts["eos"]]
                            var addSep = false
                            if let e = special(middle.first), separators.contains(e), last == nil { addSep = true }
                            if middle.count == 2, let e = special(middle[1]), separators.contains(e) { addSep = true }
                            setFlag("sep", addSep)
                        }
                    }
                default:
                    break
                }
            }
        }
        var ids: [(String, Int)] = []
        if config != nil {
            for typ in ["bos", "eos", "unk", "sep", "pad", "cls", "mask"] {
                if let b = config?.bool("add_\(typ)_token") { setFlag(typ, b, override: false) }
                guard let text = tokenTexts[typ], let a = added.first(where: { $0.content == text }), a.id < n else {
                    continue
                }
                if !ids.contains(where: { $0.0 == typ }) { ids.append((typ, a.id)) }
            }
        }
        for typ in ["bos", "eos", "unk", "sep", "pad", "cls", "mask"] where !ids.contains(where: { $0.0 == typ }) {
            if let i = try folder.config.int("\(typ)_token_id"), i >= 0, i < n { ids.append((typ, i)) }
        }
        specialIDs = ids
        addFlags = flags

        // SpecialVocab._parse_normalizer.
        var lower: Bool?
        var strip: Bool?
        func parse(_ n: PlainJSON) {
            switch n["type"]?.string {
            case "Lowercase": lower = true
            case "StripAccents": strip = true
            case "BertNormalizer":
                if let l = n["lowercase"], !l.isNull { lower = l.bool }
                if let s = n["strip_accents"], !s.isNull { strip = s.bool }
            case "Sequence": for m in n["normalizers"]?.array ?? [] { parse(m) }
            default: break
            }
        }
        if let n = tokenizerJSON?["normalizer"] { parse(n) }
        lowercase = lower
        stripAccents = strip
    }

    /// convert_hf_to_gguf.py `does_token_look_special`.
    static func looksSpecial(_ t: String) -> Bool {
        ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].contains(t) || (t.hasPrefix("<|") && t.hasSuffix("|>"))
            || (t.hasPrefix("<｜") && t.hasSuffix("｜>")) || (t.hasPrefix("<unused") && t.hasSuffix(">"))
    }

    /// The `tokenizer.ggml.*` keys in the order llama.cpp's converter writes them.
    func metadata() throws(ConversionError) -> [(String, GGUFValue)] {
        let phantom = zip(texts, types).map { WordPiece.phantomText($0, isControl: $1 == .control) }
        var m: [(String, GGUFValue)] = [
            ("tokenizer.ggml.model", .string("bert")),
            ("tokenizer.ggml.pre", .string("")),  // set below
            ("tokenizer.ggml.tokens", .array(.string(phantom))),
            ("tokenizer.ggml.token_type", .array(.int32(types.map { Int32($0.rawValue) }))),
        ]
        let keyNames = [
            "bos": "bos_token_id", "eos": "eos_token_id", "unk": "unknown_token_id",
            "sep": "seperator_token_id", "pad": "padding_token_id", "mask": "mask_token_id",
        ]
        for (typ, id) in specialIDs {
            // gguf-py's writer has no cls_token_id method; SpecialVocab skips it.
            guard let k = keyNames[typ] else { continue }
            m.append(("tokenizer.ggml.\(k)", .uint32(UInt32(id))))
        }
        for (typ, v) in addFlags { m.append(("tokenizer.ggml.add_\(typ)_token", .bool(v))) }
        if let l = lowercase { m.append(("tokenizer.ggml.normalizer.lowercase", .bool(l))) }
        if let s = stripAccents { m.append(("tokenizer.ggml.normalizer.strip_accents", .bool(s))) }
        m[1].1 = .string(try preTokenizerName(GGUFMetadata(m)))
        return m
    }

    /// `get_vocab_base_pre`: llama.cpp names the pre-tokenizer by the ids its check text gets. The BERT
    /// uncased vocabularies (bge-small, all-MiniLM, jina-v2-en) give the ids below, named "jina-v2-en"
    /// (the last match in its list). llama.cpp ignores the name for WordPiece vocabularies; any other
    /// vocabulary is named "default".
    private func preTokenizerName(_ m: GGUFMetadata) throws(ConversionError) -> String {
        let tokenizer: Tokenizer
        do { tokenizer = try Tokenizer(metadata: m) } catch { throw .tokenizer(error.description) }
        return tokenizer.encode(BertVocabulary.checkText, parseSpecial: true) == BertVocabulary.uncasedCheckIDs
            ? "jina-v2-en" : "default"
    }

    /// convert_hf_to_gguf.py's `chktxt`.
    static let checkText =
        "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n\u{1F680} (normal) "
        + "\u{1F636}\u{200D}\u{1F32B}\u{FE0F} (multiple emojis concatenated) \u{2705} \u{1F999}\u{1F999} 3 33 333 "
        + "3333 33333 333333 3333333 33333333 3.3 3..3 3...3 \u{1780}\u{17B6}\u{1793}\u{17CB}\u{178F}\u{17C2}"
        + "\u{1796}\u{17B7}\u{179F}\u{17C1}\u{179F}\u{17A2}\u{17B6}\u{1785}\u{1F601} ?\u{6211}\u{60F3}\u{5728}apple"
        + "\u{5DE5}\u{4F5C}1314151\u{5929}\u{FF5E} ------======= \u{43D}\u{435}\u{449}\u{43E} \u{43D}\u{430} "
        + "\u{411}\u{44A}\u{43B}\u{433}\u{430}\u{440}\u{441}\u{43A}\u{438} ''''''```````\"\"\"\"......!!!!!!?????? "
        + "I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL"

    /// Hugging Face's ids for `checkText` with bert-base-uncased's vocabulary (sha256 of their list
    /// 0876d13b50744004aa9aeae05e7b0647eac9d801b5ba4668afc01e709c15e19f in convert_hf_to_gguf.py).
    static let uncasedCheckIDs = [
        101, 100, 1006, 3671, 1007, 100, 1006, 3674, 7861, 29147, 2483, 9530, 16280, 23854, 1007, 100, 100, 1017,
        3943, 21211, 21211, 2509, 21211, 22394, 21211, 22394, 2509, 21211, 22394, 22394, 21211, 22394, 22394, 2509,
        1017, 1012, 1017, 1017, 1012, 1012, 1017, 1017, 1012, 1012, 1012, 1017, 100, 1029, 1855, 100, 100, 6207,
        100, 100, 14677, 23632, 22203, 1811, 1995, 1011, 1011, 1011, 1011, 1011, 1011, 1027, 1027, 1027, 1027, 1027,
        1027, 1027, 1192, 15290, 29754, 14150, 1192, 10260, 1181, 29755, 29436, 29741, 10260, 16856, 29747, 23925,
        10325, 1005, 1005, 1005, 1005, 1005, 1005, 1036, 1036, 1036, 1036, 1036, 1036, 1036, 1000, 1000, 1000, 1000,
        1012, 1012, 1012, 1012, 1012, 1012, 999, 999, 999, 999, 999, 999, 1029, 1029, 1029, 1029, 1029, 1029, 1045,
        1005, 2310, 2042, 1005, 2409, 2002, 1005, 1055, 2045, 1010, 1005, 2128, 2017, 2469, 1029, 1005, 1049, 2025,
        2469, 1045, 1005, 2222, 2191, 2009, 1010, 1005, 1040, 2017, 2066, 2070, 5572, 1029, 2057, 1005, 2310, 1037,
        1005, 2222, 102,
    ]
}
