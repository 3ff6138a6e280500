import Foundation

/// BERT's text preparation before WordPiece: Hugging Face `tokenizers`' `BertNormalizer` followed by its
/// `BertPreTokenizer`, giving the words WordPiece splits into pieces.
///
/// The normalizer, in order: drops NUL, U+FFFD and "other" characters (general categories Cc, Cf, Cs, Co,
/// Cn, except tab, newline and carriage return) and turns every whitespace character into a space; isolates
/// each CJK ideograph; when stripping accents, decomposes (NFD) and drops nonspacing marks (Mn); when
/// lower-casing, maps each character to its full lower-case mapping. The pre-tokenizer then splits on
/// whitespace and isolates each punctuation character (ASCII punctuation or Unicode P*).
///
/// llama.cpp's `llm_tokenizer_wpm_session::preprocess` does the same with small differences (it lower-cases
/// with the simple one-character mapping after dropping marks, and treats only ASCII symbols below U+007F
/// as punctuation besides P*); Swiftlet follows Hugging Face, the tokenizer the models were trained with.
public struct BertNormalizer: Sendable, Equatable {
    /// Whether text is lower-cased (`tokenizer.ggml.normalizer.lowercase`; BERT "uncased" models).
    public var lowercase: Bool
    /// Whether accents are stripped (`tokenizer.ggml.normalizer.strip_accents`; by default as `lowercase`).
    public var stripAccents: Bool

    public init(lowercase: Bool = true, stripAccents: Bool? = nil) {
        self.lowercase = lowercase
        self.stripAccents = stripAccents ?? lowercase
    }

    /// The normalized words of `text`, in order; whitespace is gone, punctuation and CJK ideographs are
    /// words of one character.
    public func words(_ text: String) -> [String] {
        var cleaned = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            let v = s.value
            if v == 0 || v == 0xFFFD || Self.isOther(s) { continue }
            if s.properties.isWhitespace {
                cleaned.append(" ")
            } else if Self.isCJKIdeograph(v) {
                cleaned.append(" ")
                cleaned.append(s)
                cleaned.append(" ")
            } else {
                cleaned.append(s)
            }
        }
        var scalars = cleaned
        if stripAccents {
            let decomposed = String(cleaned).decomposedStringWithCanonicalMapping.unicodeScalars
            scalars = String.UnicodeScalarView()
            for s in decomposed where s.properties.generalCategory != .nonspacingMark { scalars.append(s) }
        }
        if lowercase {
            var lowered = String.UnicodeScalarView()
            for s in scalars {
                if s.isASCII {
                    lowered.append(Unicode.Scalar(UInt8(ascii: s).lowercasedASCII))
                } else {
                    lowered.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
                }
            }
            scalars = lowered
        }
        var words: [String] = []
        var word = String.UnicodeScalarView()
        for s in scalars {
            if s.properties.isWhitespace {
                if !word.isEmpty {
                    words.append(String(word))
                    word = String.UnicodeScalarView()
                }
            } else if Self.isPunctuation(s) {
                if !word.isEmpty {
                    words.append(String(word))
                    word = String.UnicodeScalarView()
                }
                words.append(String(s))
            } else {
                word.append(s)
            }
        }
        if !word.isEmpty { words.append(String(word)) }
        return words
    }

    /// Hugging Face's `is_control`: Unicode "other" categories, but tab, newline and carriage return count as
    /// whitespace instead.
    static func isOther(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        switch s.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    /// ASCII punctuation (`!`…`/`, `:`…`@`, `[`…`` ` ``, `{`…`~`) or Unicode punctuation (P*).
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 {
            return (0x21...0x2F).contains(v) || (0x3A...0x40).contains(v) || (0x5B...0x60).contains(v)
                || (0x7B...0x7E).contains(v)
        }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// The CJK ideograph blocks BERT isolates (the ranges of Hugging Face's and llama.cpp's
    /// `is_chinese_char`, including their 0x2B920 lower bound for Extension E).
    static func isCJKIdeograph(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B920...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }
}

extension UInt8 {
    fileprivate var lowercasedASCII: UInt8 { (0x41...0x5A).contains(self) ? self + 0x20 : self }
}
