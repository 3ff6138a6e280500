extension JSONValue {
    /// Compact JSON text as llama.cpp writes a value into a grammar literal (`common_json::dump()`, i.e.
    /// nlohmann's `dump()`): no spaces, keys in order, strings escaped as `writeString` does, and numbers
    /// re-written from the value they parse to: integers in decimal (`-0` is `0`), other numbers as nlohmann
    /// prints doubles (`1.50` is `1.5`, `1e2` is `100.0`, `1e16` is `1e+16`, `0.00001` is `1e-05`).
    func llamaText() throws(GrammarError) -> String {
        var out = ""
        try writeLlamaText(to: &out)
        return out
    }

    private func writeLlamaText(to out: inout String) throws(GrammarError) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let text): out += try JSONValue.llamaNumberText(text)
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                try item.writeLlamaText(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, member) in members.enumerated() {
                if i > 0 { out += "," }
                JSONValue.writeString(member.key, to: &out)
                out += ":"
                try member.value.writeLlamaText(to: &out)
            }
            out += "}"
        }
    }

    /// A JSON number's text as nlohmann re-writes it: an integer that fits `Int64` (negative) or `UInt64`
    /// stays an integer, anything else becomes a double.
    static func llamaNumberText(_ text: String) throws(GrammarError) -> String {
        if !text.contains(where: { ".eE".contains($0) }) {
            if text.hasPrefix("-") {
                if let v = Int64(text) { return String(v) }
            } else if let v = UInt64(text) {
                return String(v)
            }
        }
        guard let d = Double(text), d.isFinite else {
            throw GrammarError("JSON number \(text) is out of range")
        }
        return nlohmannDoubleText(d)
    }

    /// nlohmann's `to_chars` for a double: the shortest digits that read back to the same value, written
    /// plainly when the decimal point falls within 15 places (with `.0` when integral), `0.000ddd` down to
    /// 4 leading zeros, and `d.ddde+XX` otherwise (an exponent of at least two digits).
    static func nlohmannDoubleText(_ value: Double) -> String {
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        let (digits, exponent) = shortestDigits(abs(value))
        let k = digits.count
        let n = k + exponent
        var out = value < 0 ? "-" : ""
        if k <= n && n <= 15 {
            out += String(digits) + String(repeating: "0", count: n - k) + ".0"
        } else if 0 < n && n <= 15 {
            out += String(digits[0..<n]) + "." + String(digits[n...])
        } else if -4 < n && n <= 0 {
            out += "0." + String(repeating: "0", count: -n) + String(digits)
        } else {
            out += String(digits[0])
            if k > 1 { out += "." + String(digits[1...]) }
            let e = n - 1
            out += "e" + (e < 0 ? "-" : "+") + (abs(e) < 10 ? "0" : "") + String(abs(e))
        }
        return out
    }

    /// The shortest round-trip decimal digits of a positive finite double (from Swift's own shortest
    /// printing), with no leading or trailing zeros, and the power of ten they are scaled by.
    private static func shortestDigits(_ value: Double) -> (digits: [Character], exponent: Int) {
        let text = value.description
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        var digits: [Character] = []
        if let dot = mantissa.firstIndex(of: ".") {
            digits = Array(mantissa[..<dot]) + Array(mantissa[mantissa.index(after: dot)...])
            exponent -= mantissa.distance(from: mantissa.index(after: dot), to: mantissa.endIndex)
        } else {
            digits = Array(mantissa)
        }
        while digits.count > 1, digits.first == "0" { digits.removeFirst() }
        while digits.count > 1, digits.last == "0" {
            digits.removeLast()
            exponent += 1
        }
        return (digits, exponent)
    }
}
