/// Turns tokens into text one at a time, holding back an incomplete UTF-8 sequence (an emoji or a CJK
/// character split across tokens) until the token that completes it arrives.
public struct StreamingDecoder: Sendable {
    let tokenizer: Tokenizer
    let renderSpecial: Bool
    private var pending: [UInt8] = []

    init(tokenizer: Tokenizer, renderSpecial: Bool) {
        self.tokenizer = tokenizer
        self.renderSpecial = renderSpecial
    }

    /// Adds a token; returns the text that is now complete.
    public mutating func append(_ id: Int) -> String {
        pending += tokenizer.tokenBytes(id, renderSpecial: renderSpecial)
        let complete = StreamingDecoder.completePrefixLength(pending)
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Whatever is held back, with an incomplete sequence repaired as U+FFFD.
    public mutating func flush() -> String {
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
    }

    /// The length of `bytes` without a trailing sequence that could still be completed.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        var i = n - 1
        var continuation = 0
        while i >= 0, i >= n - 4, bytes[i] & 0xC0 == 0x80 { continuation += 1; i -= 1 }
        guard i >= 0 else { return n }
        let lead = bytes[i]
        let needed = lead >= 0xF0 && lead < 0xF8 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        return needed > 1 && continuation + 1 < needed ? i : n
    }
}
