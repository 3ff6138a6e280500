/// GPT-2's reversible byte-to-character mapping: byte-level BPE vocabularies spell every byte as a
/// printable character (printable Latin-1 bytes as themselves, the rest from U+0100 upwards).
enum ByteLevel {
    /// The code point that stands for each byte.
    static let byteToCodePoint: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// The byte each mapped code point stands for.
    static let codePointToByte: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, cp) in byteToCodePoint.enumerated() { map[cp] = UInt8(b) }
        return map
    }()

    /// The raw bytes a byte-level token text stands for; characters outside the mapping pass through
    /// as their own UTF-8.
    static func decode(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        for s in text.unicodeScalars {
            if let b = codePointToByte[s.value] { out.append(b) } else { UnicodeText.appendUTF8(s.value, to: &out) }
        }
        return out
    }
}
