/// A UTF-8 sequence cut at the end of a token: llama.cpp's `llama_partial_utf8`.
struct PartialUTF8: Sendable, Hashable {
    /// The bits decoded so far (unshifted).
    var value: UInt32 = 0
    /// Bytes still expected; -1 after an invalid sequence.
    var remaining: Int = 0

    static let none = PartialUTF8()

    /// llama.cpp's lead-byte table of the partial decoder: 0 marks a continuation byte.
    static let sequenceLength: [Int] = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 3, 4]

    /// Decodes a token's bytes after `start`: llama.cpp's `decode_utf8(src, partial_start)`.
    ///
    /// Exactly as llama.cpp: decoding stops at a NUL byte; a non-continuation byte where `start` expects one,
    /// or a continuation byte where a sequence should start, makes the whole result invalid (no code points,
    /// `remaining` -1); bytes inside a sequence started in this token are not checked; a trailing incomplete
    /// sequence is returned as the new partial state.
    static func decode<C: Collection>(
        _ bytes: C, after start: PartialUTF8
    ) -> (codePoints: [UInt32], partial: PartialUTF8) where C.Element == UInt8 {
        var codePoints: [UInt32] = []
        codePoints.reserveCapacity(bytes.count)
        var value = start.value
        var remaining = start.remaining
        var index = bytes.startIndex
        while index != bytes.endIndex && bytes[index] != 0 && remaining > 0 {
            let next = bytes[index]
            if next >> 6 != 2 { return ([], PartialUTF8(value: 0, remaining: -1)) }
            value = (value << 6) + UInt32(next & 0x3F)
            index = bytes.index(after: index)
            remaining -= 1
        }
        if start.remaining > 0 && remaining == 0 { codePoints.append(value) }
        while index != bytes.endIndex && bytes[index] != 0 {
            let first = bytes[index]
            remaining = sequenceLength[Int(first >> 4)] - 1
            if remaining < 0 { return ([], PartialUTF8(value: 0, remaining: remaining)) }
            value = UInt32(first) & ((1 << (7 - UInt32(remaining))) - 1)
            index = bytes.index(after: index)
            while index != bytes.endIndex && bytes[index] != 0 && remaining > 0 {
                value = (value << 6) + UInt32(bytes[index] & 0x3F)
                index = bytes.index(after: index)
                remaining -= 1
            }
            if remaining == 0 { codePoints.append(value) }
        }
        return (codePoints, PartialUTF8(value: value, remaining: remaining))
    }
}
