/// The GBNF for the decimal integers within bounds, written as llama.cpp's `build_min_max_int` writes it:
/// digit ranges split by number of digits, so that `{"type": "integer", "minimum": 15, "maximum": 300}`
/// becomes `"1" ([5-9]) | [2-9] [0-9] | ...`. Bounds are inclusive; `Int64.min` / `Int64.max` mean none.
struct JSONSchemaIntegerRange {
    private(set) var text = ""

    /// The rule text for `minimum...maximum`, at least one of them bounded, `maximum` not `Int64.min`.
    static func rule(minimum: Int64, maximum: Int64) -> String {
        var writer = JSONSchemaIntegerRange()
        writer.write(minimum: minimum, maximum: maximum, decimalsLeft: 16, topLevel: true)
        return writer.text
    }

    private static let zero = UInt8(ascii: "0")

    private mutating func character(_ c: UInt8) {
        text.unicodeScalars.append(Unicode.Scalar(c))
    }

    private mutating func digitRange(_ from: UInt8, _ to: UInt8) {
        text += "["
        character(from)
        if from != to {
            text += "-"
            character(to)
        }
        text += "]"
    }

    private mutating func moreDigits(_ minDigits: Int, _ maxDigits: Int) {
        text += "[0-9]"
        if minDigits == maxDigits && minDigits == 1 { return }
        text += "{\(minDigits)"
        if maxDigits != minDigits {
            text += ","
            if maxDigits != Int(Int32.max) { text += String(maxDigits) }
        }
        text += "}"
    }

    /// The numbers from `from` to `to`, decimal strings of the same length.
    private mutating func uniformRange(_ from: [UInt8], _ to: [UInt8]) {
        var i = 0
        while i < from.count && i < to.count && from[i] == to[i] { i += 1 }
        if i > 0 { text += "\"" + String(decoding: from[0..<i], as: UTF8.self) + "\"" }
        guard i < from.count && i < to.count else { return }
        if i > 0 { text += " " }
        let subLength = from.count - i - 1
        guard subLength > 0 else {
            text += "["
            character(from[i])
            text += "-"
            character(to[i])
            text += "]"
            return
        }
        let fromSub = Array(from[(i + 1)...])
        let toSub = Array(to[(i + 1)...])
        let zeros = [UInt8](repeating: UInt8(ascii: "0"), count: subLength)
        let nines = [UInt8](repeating: UInt8(ascii: "9"), count: subLength)
        var toReached = false
        text += "("
        if fromSub == zeros {
            digitRange(from[i], to[i] - 1)
            text += " "
            moreDigits(subLength, subLength)
        } else {
            text += "["
            character(from[i])
            text += "] ("
            uniformRange(fromSub, nines)
            text += ")"
            if Int(from[i]) < Int(to[i]) - 1 {
                text += " | "
                if toSub == nines {
                    digitRange(from[i] + 1, to[i])
                    toReached = true
                } else {
                    digitRange(from[i] + 1, to[i] - 1)
                }
                text += " "
                moreDigits(subLength, subLength)
            }
        }
        if !toReached {
            text += " | "
            digitRange(to[i], to[i])
            text += " "
            uniformRange(zeros, toSub)
        }
        text += ")"
    }

    private static func digits(_ n: Int64) -> [UInt8] { Array(String(n).utf8) }

    private mutating func write(minimum: Int64, maximum: Int64, decimalsLeft: Int, topLevel: Bool) {
        var minimum = minimum
        let hasMinimum = minimum != Int64.min
        let hasMaximum = maximum != Int64.max

        if hasMinimum && hasMaximum {
            if minimum < 0 && maximum < 0 {
                text += "\"-\" ("
                write(minimum: -maximum, maximum: -minimum, decimalsLeft: decimalsLeft, topLevel: true)
                text += ")"
                return
            }
            if minimum < 0 {
                text += "\"-\" ("
                write(minimum: 0, maximum: -minimum, decimalsLeft: decimalsLeft, topLevel: true)
                text += ") | "
                minimum = 0
            }
            var minDigits = Self.digits(minimum)
            let maxDigits = Self.digits(maximum)
            for count in minDigits.count..<max(minDigits.count, maxDigits.count) {
                uniformRange(minDigits, [UInt8](repeating: UInt8(ascii: "9"), count: count))
                minDigits = [UInt8(ascii: "1")] + [UInt8](repeating: UInt8(ascii: "0"), count: count)
                text += " | "
            }
            uniformRange(minDigits, maxDigits)
            return
        }

        let lessDecimals = max(decimalsLeft - 1, 1)

        if hasMinimum {
            if minimum < 0 {
                text += "\"-\" ("
                write(minimum: Int64.min, maximum: -minimum, decimalsLeft: decimalsLeft, topLevel: false)
                text += ") | [0] | [1-9] "
                moreDigits(0, decimalsLeft - 1)
            } else if minimum == 0 {
                if topLevel {
                    text += "[0] | [1-9] "
                    moreDigits(0, lessDecimals)
                } else {
                    moreDigits(1, decimalsLeft)
                }
            } else if minimum <= 9 {
                let c = Self.zero + UInt8(minimum)
                let rangeStart = topLevel ? UInt8(ascii: "1") : Self.zero
                if c > rangeStart {
                    digitRange(rangeStart, c - 1)
                    text += " "
                    moreDigits(1, lessDecimals)
                    text += " | "
                }
                digitRange(c, UInt8(ascii: "9"))
                text += " "
                moreDigits(0, lessDecimals)
            } else {
                let minDigits = Self.digits(minimum)
                let length = minDigits.count
                let c = minDigits[0]
                if c > UInt8(ascii: "1") {
                    digitRange(topLevel ? UInt8(ascii: "1") : Self.zero, c - 1)
                    text += " "
                    moreDigits(length, lessDecimals)
                    text += " | "
                }
                digitRange(c, c)
                text += " ("
                let rest = Int64(String(decoding: minDigits[1...], as: UTF8.self)) ?? 0
                write(minimum: rest, maximum: Int64.max, decimalsLeft: lessDecimals, topLevel: false)
                text += ")"
                if c < UInt8(ascii: "9") {
                    text += " | "
                    digitRange(c + 1, UInt8(ascii: "9"))
                    text += " "
                    moreDigits(length - 1, lessDecimals)
                }
            }
            return
        }

        // Only a maximum (never Int64.min, which the schema reader refuses).
        if maximum >= 0 {
            if topLevel {
                text += "\"-\" [1-9] "
                moreDigits(0, lessDecimals)
                text += " | "
            }
            write(minimum: 0, maximum: maximum, decimalsLeft: decimalsLeft, topLevel: true)
        } else {
            text += "\"-\" ("
            write(minimum: -maximum, maximum: Int64.max, decimalsLeft: decimalsLeft, topLevel: false)
            text += ")"
        }
    }
}
