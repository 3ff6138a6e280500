/// Code points and their classes, as llama.cpp's pre-tokenizers see them.
enum UnicodeText {
    /// Decodes UTF-8 the way llama.cpp does: each byte that does not start a well-formed sequence becomes
    /// U+FFFD and decoding resumes at the next byte.
    static func codePoints(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        let n = bytes.count
        while i < n {
            let b0 = UInt32(bytes[i])
            if b0 & 0x80 == 0 {
                out.append(b0); i += 1; continue
            }
            if b0 & 0xE0 == 0xC0, i + 1 < n, bytes[i + 1] & 0xC0 == 0x80 {
                out.append((b0 & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F)); i += 2; continue
            }
            if b0 & 0xF0 == 0xE0, i + 2 < n, bytes[i + 1] & 0xC0 == 0x80, bytes[i + 2] & 0xC0 == 0x80 {
                out.append((b0 & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F))
                i += 3; continue
            }
            if b0 & 0xF8 == 0xF0, i + 3 < n, bytes[i + 1] & 0xC0 == 0x80, bytes[i + 2] & 0xC0 == 0x80,
               bytes[i + 3] & 0xC0 == 0x80 {
                out.append((b0 & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12 | UInt32(bytes[i + 2] & 0x3F) << 6
                           | UInt32(bytes[i + 3] & 0x3F))
                i += 4; continue
            }
            out.append(0xFFFD); i += 1
        }
        return out
    }

    static func appendUTF8(_ cp: UInt32, to out: inout [UInt8]) {
        switch cp {
        case 0..<0x80: out.append(UInt8(cp))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | cp >> 6)); out.append(UInt8(0x80 | cp & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | cp >> 12)); out.append(UInt8(0x80 | cp >> 6 & 0x3F)); out.append(UInt8(0x80 | cp & 0x3F))
        default:
            out.append(UInt8(0xF0 | cp >> 18)); out.append(UInt8(0x80 | cp >> 12 & 0x3F))
            out.append(UInt8(0x80 | cp >> 6 & 0x3F)); out.append(UInt8(0x80 | cp & 0x3F))
        }
    }

    /// The classes the split rules test.
    struct Flags: OptionSet {
        let rawValue: UInt8
        static let letter = Flags(rawValue: 1)
        static let number = Flags(rawValue: 2)
        static let whitespace = Flags(rawValue: 4)
        /// Any code point inside the span (llama.cpp's "flags are non-zero").
        static let present = Flags(rawValue: 8)
    }

    /// Classes of the ASCII range, precomputed: most text is ASCII.
    static let asciiFlags: [Flags] = (0..<128).map { computeFlags(UInt32($0)) }

    @inline(__always)
    static func flags(_ cp: UInt32) -> Flags {
        cp < 128 ? asciiFlags[Int(cp)] : computeFlags(cp)
    }

    static func computeFlags(_ cp: UInt32) -> Flags {
        guard let scalar = Unicode.Scalar(cp) else { return .present }
        var f: Flags = .present
        let p = scalar.properties
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: f.insert(.letter)
        case .decimalNumber, .letterNumber, .otherNumber: f.insert(.number)
        default: break
        }
        if p.isWhitespace { f.insert(.whitespace) }
        return f
    }

    static func lowercased(_ cp: UInt32) -> UInt32 {
        if cp < 128 { return cp >= 65 && cp <= 90 ? cp + 32 : cp }
        guard let s = Unicode.Scalar(cp) else { return cp }
        let lower = s.properties.lowercaseMapping.unicodeScalars
        return lower.count == 1 ? lower.first!.value : cp
    }
}
