/// Decodes a stream of tokens into text deltas that are always whole UTF-8 characters: bytes of a
/// character split across tokens (emoji, CJK in byte tokens) are held back until it is complete.
public struct StreamingDecoder: Sendable {
    private let tokenizer: Tokenizer
    private let renderSpecial: Bool
    private var pending: [UInt8] = []

    public init(tokenizer: Tokenizer, renderSpecial: Bool = false) {
        self.tokenizer = tokenizer
        self.renderSpecial = renderSpecial
    }

    /// Adds one token; returns the text that is now complete (possibly empty).
    public mutating func append(_ id: Int) -> String {
        if !renderSpecial && tokenizer.isControl(id) { return "" }
        pending.append(contentsOf: tokenizer.tokenBytes(id))
        let cut = Self.completePrefixLength(pending)
        if cut == 0 { return "" }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Returns whatever is held back, with U+FFFD for an incomplete character, and resets.
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// The length of `b` without a trailing incomplete (but so far valid-looking) UTF-8 sequence.
    static func completePrefixLength(_ b: [UInt8]) -> Int {
        let n = b.count
        var i = n - 1
        var continuation = 0
        while i >= 0 && continuation < 3 && b[i] & 0xC0 == 0x80 { i -= 1; continuation += 1 }
        if i < 0 { return n }
        let lead = b[i]
        let need = lead >= 0xF0 && lead < 0xF8 ? 4 : lead >= 0xE0 && lead < 0xF0 ? 3 : lead >= 0xC0 && lead < 0xE0 ? 2 : 1
        return need > 1 && n - i < need ? i : n
    }
}
