/// The character classes the pre-tokenizer rules test (`\p{L}`, `\p{N}`, `\s`, `\p{P}`), from the
/// Swift standard library's Unicode tables. Whitespace is Unicode's White_Space property, the same set
/// llama.cpp's tables list.
struct CodepointClass: OptionSet, Sendable {
    let rawValue: UInt8
    static let letter = CodepointClass(rawValue: 1)
    static let number = CodepointClass(rawValue: 2)
    static let whitespace = CodepointClass(rawValue: 4)
    static let punctuation = CodepointClass(rawValue: 8)
    /// Past the end of the piece being split (llama.cpp's empty flags): matches no class, not even "other".
    static let outOfRange = CodepointClass(rawValue: 16)

    private static let ascii: [CodepointClass] = (0..<128).map { classify(UInt32($0)) }

    @inline(__always)
    static func of(_ c: UInt32) -> CodepointClass {
        c < 128 ? ascii[Int(c)] : classify(c)
    }

    static func classify(_ c: UInt32) -> CodepointClass {
        guard let s = Unicode.Scalar(c) else { return [] }
        let p = s.properties
        var r: CodepointClass = []
        if p.isWhitespace { r.insert(.whitespace) }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            r.insert(.letter)
        case .decimalNumber, .letterNumber, .otherNumber:
            r.insert(.number)
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            r.insert(.punctuation)
        default:
            break
        }
        return r
    }
}

/// UTF-8 ↔ code points the way llama.cpp reads text: a malformed byte becomes U+FFFD and decoding goes on
/// at the next byte; lead and continuation bits are checked, overlong forms and surrogates are not.
/// A 4-byte form above U+10FFFF (where llama.cpp's BPE path throws) is written back as U+FFFD.
enum LenientUTF8 {
    static func codepoints(_ b: UnsafeBufferPointer<UInt8>) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(b.count)
        var i = 0
        let n = b.count
        while i < n {
            let c0 = b[i]
            if c0 & 0x80 == 0 { out.append(UInt32(c0)); i += 1; continue }
            var len = 0
            if c0 & 0x40 == 0 { len = 0 }
            else if c0 & 0x20 == 0 { len = 2 }
            else if c0 & 0x10 == 0 { len = 3 }
            else if c0 & 0x08 == 0 { len = 4 }
            var ok = len > 0 && i + len <= n
            if ok {
                for k in 1..<len where b[i + k] & 0xC0 != 0x80 { ok = false; break }
            }
            if !ok { out.append(0xFFFD); i += 1; continue }
            var cp: UInt32
            switch len {
            case 2: cp = UInt32(c0 & 0x1F)
            case 3: cp = UInt32(c0 & 0x0F)
            default: cp = UInt32(c0 & 0x07)
            }
            for k in 1..<len { cp = (cp << 6) | UInt32(b[i + k] & 0x3F) }
            out.append(cp)
            i += len
        }
        return out
    }

    @inline(__always)
    static func append(_ c: UInt32, to out: inout [UInt8]) {
        if c < 0x80 {
            out.append(UInt8(c))
        } else if c < 0x800 {
            out.append(UInt8(0xC0 | (c >> 6))); out.append(UInt8(0x80 | (c & 0x3F)))
        } else if c < 0x10000 {
            out.append(UInt8(0xE0 | (c >> 12))); out.append(UInt8(0x80 | ((c >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (c & 0x3F)))
        } else if c <= 0x10FFFF {
            out.append(UInt8(0xF0 | (c >> 18))); out.append(UInt8(0x80 | ((c >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((c >> 6) & 0x3F))); out.append(UInt8(0x80 | (c & 0x3F)))
        } else {
            out.append(contentsOf: [0xEF, 0xBF, 0xBD])
        }
    }
}
