/// GPT-2's reversible byte ↔ printable-character mapping used by byte-level BPE vocabularies:
/// printable Latin-1 bytes stand for themselves, the other 68 bytes map to U+0100 and up in byte order.
enum ByteLevel {
    static let byteToScalar: [UInt32] = {
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

    /// The byte a mapped scalar stands for, or nil for a scalar outside the mapping.
    static func byte(for scalar: UInt32) -> UInt8? {
        if scalar < 256 {
            let b = Int(scalar)
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) { return UInt8(b) }
            return nil
        }
        if scalar < 256 + 68 {
            return scalarInverse[Int(scalar - 256)]
        }
        return nil
    }

    private static let scalarInverse: [UInt8] = {
        var inv = [UInt8](repeating: 0, count: 68)
        for b in 0..<256 where byteToScalar[b] >= 256 { inv[Int(byteToScalar[b] - 256)] = UInt8(b) }
        return inv
    }()

    /// Decodes a token's mapped text into raw bytes; scalars outside the mapping are kept as their UTF-8.
    /// Returns whether every scalar was mapped.
    static func decode(_ text: String) -> (bytes: [UInt8], exact: Bool) {
        var out: [UInt8] = []
        var exact = true
        for s in text.unicodeScalars {
            if let b = byte(for: s.value) {
                out.append(b)
            } else {
                exact = false
                out.append(contentsOf: Array(String(s).utf8))
            }
        }
        return (out, exact)
    }
}
