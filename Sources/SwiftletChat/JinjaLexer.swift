/// Splits a template into text and tags, applying Jinja's whitespace control as Hugging Face configures
/// it (`trim_blocks` and `lstrip_blocks` on), and tokenizes the expressions inside tags.
struct JinjaLexer {
    enum Chunk {
        case text(String)
        case output([Token], at: Int)
        case statement([Token], at: Int)
    }

    enum TokenKind: Equatable {
        case name(String)
        case string(String)
        case integer(Int)
        case float(Double)
        case op(String)
    }

    struct Token {
        var kind: TokenKind
        /// Offset in the template's UTF-8 bytes, for error positions.
        var offset: Int
    }

    let source: [UInt8]

    init(_ template: String) {
        var bytes = Array(template.utf8)
        // jinja2's keep_trailing_newline is off: one newline at the very end of the template is dropped.
        if bytes.last == 10 {
            bytes.removeLast()
            if bytes.last == 13 { bytes.removeLast() }
        }
        source = bytes
    }

    func error(_ message: String, at offset: Int) -> ChatTemplateError {
        var line = 1, column = 1
        for b in source[..<min(offset, source.count)] {
            if b == 10 { line += 1; column = 1 } else if b & 0xC0 != 0x80 { column += 1 }
        }
        return .syntax(message, line: line, column: column)
    }

    func chunks() throws(ChatTemplateError) -> [Chunk] {
        var out: [Chunk] = []
        var text: [UInt8] = []
        var i = 0
        var stripNextLeading = false, trimNextNewline = false
        func flushText() {
            if !text.isEmpty { out.append(.text(String(decoding: text, as: UTF8.self))); text = [] }
        }
        while i < source.count {
            let c = source[i]
            if c == UInt8(ascii: "{"), i + 1 < source.count,
               [UInt8(ascii: "{"), UInt8(ascii: "%"), UInt8(ascii: "#")].contains(source[i + 1]) {
                let kind = source[i + 1]
                let start = i
                var j = i + 2
                let minus = j < source.count && source[j] == UInt8(ascii: "-")
                let plus = j < source.count && source[j] == UInt8(ascii: "+")
                if minus || plus { j += 1 }
                // Whitespace control before the tag.
                if minus {
                    while let last = text.last, isSpace(last) { text.removeLast() }
                } else if kind != UInt8(ascii: "{") && !plus {
                    // lstrip_blocks: spaces and tabs from the start of the line up to the tag. "Start of the
                    // line" is judged in the source, as jinja2 does, even when trim_blocks already took
                    // the newline that ends the previous line.
                    var k = start
                    while k > 0, source[k - 1] == 32 || source[k - 1] == 9 { k -= 1 }
                    if k == 0 || source[k - 1] == 10 {
                        text.removeLast(min(start - k, text.count))
                    }
                }
                flushText()
                if kind == UInt8(ascii: "#") {
                    guard let end = find("#}", from: j) else { throw error("unterminated comment", at: start) }
                    let endMinus = end > j && source[end - 1] == UInt8(ascii: "-")
                    let endPlus = end > j && source[end - 1] == UInt8(ascii: "+")
                    i = end + 2
                    stripNextLeading = endMinus
                    trimNextNewline = !endMinus && !endPlus
                } else {
                    let close = kind == UInt8(ascii: "{") ? "}}" : "%}"
                    let (tokens, end, endMinus, endPlus) = try tokenize(from: j, until: close, tagStart: start)
                    if kind == UInt8(ascii: "{") {
                        out.append(.output(tokens, at: start))
                        trimNextNewline = false
                        stripNextLeading = endMinus
                        i = end
                    } else if tokens.count == 1, tokens[0].kind == .name("raw") {
                        // {% raw %}…{% endraw %}: the text between is output as it stands.
                        let (content, after, closeMinus, closePlus) = try rawBlock(from: end, openMinus: endMinus, tagStart: start)
                        if !content.isEmpty { out.append(.text(String(decoding: content, as: UTF8.self))) }
                        stripNextLeading = closeMinus
                        trimNextNewline = !closeMinus && !closePlus
                        i = after
                    } else {
                        out.append(.statement(tokens, at: start))
                        trimNextNewline = !endMinus && !endPlus
                        stripNextLeading = endMinus
                        i = end
                    }
                }
                // Whitespace control after the tag.
                if stripNextLeading {
                    while i < source.count, isSpace(source[i]) { i += 1 }
                } else if trimNextNewline {
                    if i < source.count, source[i] == 10 { i += 1 } else if i + 1 < source.count, source[i] == 13, source[i + 1] == 10 { i += 2 }
                }
                stripNextLeading = false; trimNextNewline = false
                continue
            }
            text.append(c)
            i += 1
        }
        flushText()
        return out
    }

    /// The text of a raw block whose opening tag ended at `start`, up to its `{% endraw %}`; returns the
    /// text (whitespace control applied), the offset after the closing tag, and its `-`/`+` flags.
    private func rawBlock(from start: Int, openMinus: Bool, tagStart: Int) throws(ChatTemplateError) -> ([UInt8], Int, Bool, Bool) {
        var k = start
        while k < source.count {
            guard source[k] == UInt8(ascii: "{"), k + 1 < source.count, source[k + 1] == UInt8(ascii: "%") else { k += 1; continue }
            var m = k + 2
            let minus = m < source.count && source[m] == UInt8(ascii: "-")
            let plus = m < source.count && source[m] == UInt8(ascii: "+")
            if minus || plus { m += 1 }
            while m < source.count, isSpace(source[m]) { m += 1 }
            let word = Array("endraw".utf8)
            guard m + word.count <= source.count, Array(source[m..<(m + word.count)]) == word else { k += 1; continue }
            m += word.count
            while m < source.count, isSpace(source[m]) { m += 1 }
            var closeMinus = false, closePlus = false
            if m < source.count, source[m] == UInt8(ascii: "-") { closeMinus = true; m += 1 } else if m < source.count, source[m] == UInt8(ascii: "+") { closePlus = true; m += 1 }
            guard m + 1 < source.count, source[m] == UInt8(ascii: "%"), source[m + 1] == UInt8(ascii: "}") else { k += 1; continue }
            var content = Array(source[start..<k])
            if openMinus { content = Array(content.drop(while: isSpace)) } else if content.first == 10 { content.removeFirst() }
            if minus {
                while let last = content.last, isSpace(last) { content.removeLast() }
            } else if !plus {
                var e = content.count
                while e > 0, content[e - 1] == 32 || content[e - 1] == 9 { e -= 1 }
                if e == 0 || content[e - 1] == 10 { content.removeSubrange(e...) }
            }
            return (content, m + 2, closeMinus, closePlus)
        }
        throw error("unterminated raw block: expected '{% endraw %}'", at: tagStart)
    }

    private func isSpace(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 10 || b == 13 || b == 11 || b == 12 }

    private func find(_ s: String, from: Int) -> Int? {
        let pat = Array(s.utf8)
        var i = from
        while i + pat.count <= source.count {
            if source[i] == pat[0] && Array(source[i..<(i + pat.count)]) == pat { return i }
            i += 1
        }
        return nil
    }

    /// Tokens from `start` up to the closing `}}` or `%}` (outside string literals). Returns the
    /// tokens, the offset after the closer, and whether the closer was `-}}`/`-%}`.
    private func tokenize(from start: Int, until close: String, tagStart: Int) throws(ChatTemplateError) -> ([Token], Int, Bool, Bool) {
        let closer = Array(close.utf8)
        var tokens: [Token] = []
        var i = start
        // Brackets open in the expression: `}}` closes the tag only outside them (`{{ {'a': {}} }}`).
        var depth = 0
        func at(_ k: Int) -> UInt8 { k < source.count ? source[k] : 0 }
        while true {
            guard i < source.count else { throw error("unterminated tag: expected '\(close)'", at: tagStart) }
            let c = source[i]
            if isSpace(c) { i += 1; continue }
            if depth == 0 {
                if c == UInt8(ascii: "-"), at(i + 1) == closer[0], at(i + 2) == closer[1] { return (tokens, i + 3, true, false) }
                if c == UInt8(ascii: "+"), at(i + 1) == closer[0], at(i + 2) == closer[1] { return (tokens, i + 3, false, true) }
                if c == closer[0], at(i + 1) == closer[1] { return (tokens, i + 2, false, false) }
            }
            if c == UInt8(ascii: "(") || c == UInt8(ascii: "[") || c == UInt8(ascii: "{") { depth += 1 }
            if (c == UInt8(ascii: ")") || c == UInt8(ascii: "]") || c == UInt8(ascii: "}")) && depth > 0 { depth -= 1 }
            if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
                var bytes: [UInt8] = []
                var j = i + 1
                while true {
                    guard j < source.count else { throw error("unterminated string literal", at: i) }
                    let d = source[j]
                    if d == c { break }
                    if d == UInt8(ascii: "\\"), j + 1 < source.count {
                        let e = source[j + 1]
                        switch e {
                        case UInt8(ascii: "n"): bytes.append(10)
                        case UInt8(ascii: "t"): bytes.append(9)
                        case UInt8(ascii: "r"): bytes.append(13)
                        case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): bytes.append(e)
                        case UInt8(ascii: "a"): bytes.append(7)
                        case UInt8(ascii: "b"): bytes.append(8)
                        case UInt8(ascii: "f"): bytes.append(12)
                        case UInt8(ascii: "v"): bytes.append(11)
                        case UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"):
                            // Python's \xXX, \uXXXX and \UXXXXXXXX.
                            let digits = e == UInt8(ascii: "x") ? 2 : (e == UInt8(ascii: "u") ? 4 : 8)
                            let hex = source[min(j + 2, source.count)..<min(j + 2 + digits, source.count)]
                            guard hex.count == digits, let code = UInt32(String(decoding: hex, as: UTF8.self), radix: 16),
                                  let scalar = Unicode.Scalar(code) else {
                                throw error("bad \\\(Character(Unicode.Scalar(e))) escape in a string literal", at: j)
                            }
                            bytes.append(contentsOf: Array(String(Character(scalar)).utf8))
                            j += 2 + digits
                            continue
                        case UInt8(ascii: "\n"):
                            break  // a backslash before a newline continues the line
                        default: bytes.append(d); bytes.append(e)
                        }
                        j += 2
                        continue
                    }
                    bytes.append(d)
                    j += 1
                }
                tokens.append(Token(kind: .string(String(decoding: bytes, as: UTF8.self)), offset: i))
                i = j + 1
                continue
            }
            if isDigit(c) {
                var j = i
                while isDigit(at(j)) || at(j) == UInt8(ascii: "_") { j += 1 }
                var isFloat = false
                if at(j) == UInt8(ascii: "."), isDigit(at(j + 1)) {
                    isFloat = true
                    j += 1
                    while isDigit(at(j)) { j += 1 }
                }
                if at(j) == UInt8(ascii: "e") || at(j) == UInt8(ascii: "E") {
                    var k = j + 1
                    if at(k) == UInt8(ascii: "+") || at(k) == UInt8(ascii: "-") { k += 1 }
                    if isDigit(at(k)) {
                        isFloat = true
                        j = k
                        while isDigit(at(j)) { j += 1 }
                    }
                }
                let text = String(decoding: source[i..<j], as: UTF8.self).replacingOccurrences(of: "_", with: "")
                if isFloat, let v = Double(text) {
                    tokens.append(Token(kind: .float(v), offset: i))
                } else if let v = Int(text) {
                    tokens.append(Token(kind: .integer(v), offset: i))
                } else {
                    throw error("bad number '\(text)'", at: i)
                }
                i = j
                continue
            }
            if isNameStart(c) {
                var j = i
                while isNameStart(at(j)) || isDigit(at(j)) { j += 1 }
                tokens.append(Token(kind: .name(String(decoding: source[i..<j], as: UTF8.self)), offset: i))
                i = j
                continue
            }
            let two = String(decoding: [c, at(i + 1)], as: UTF8.self)
            if ["==", "!=", "<=", ">=", "//", "**"].contains(two) {
                tokens.append(Token(kind: .op(two), offset: i))
                i += 2
                continue
            }
            if Array("+-*/%~<>=()[]{}.,:|".utf8).contains(c) {
                tokens.append(Token(kind: .op(String(UnicodeScalar(c))), offset: i))
                i += 1
                continue
            }
            throw error("unexpected character '\(String(decoding: [c], as: UTF8.self))'", at: i)
        }
    }

    private func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    private func isNameStart(_ c: UInt8) -> Bool {
        (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c >= 0x80
    }
}
