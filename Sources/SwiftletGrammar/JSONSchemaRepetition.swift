/// GBNF repetition of an item, as llama.cpp's `build_repetition` writes it.
enum JSONSchemaRepetition {
    /// The "no maximum" count (llama.cpp uses `std::numeric_limits<int>::max()`).
    static let unbounded = Int(Int32.max)

    /// `item` repeated `minimum` to `maximum` times, with `separator` between repetitions when given:
    /// `x?`, `x+`, `x*`, `x{2,5}`, or with a separator `x ("," x){1,4}`, wrapped in `( ... )?` when it may
    /// be empty. A maximum of 0 gives nothing.
    static func rule(_ item: String, minimum: Int, maximum: Int, separator: String = "") -> String {
        let hasMaximum = maximum != unbounded
        if maximum == 0 { return "" }
        if minimum == 0 && maximum == 1 { return item + "?" }
        if separator.isEmpty {
            if minimum == 1 && !hasMaximum { return item + "+" }
            if minimum == 0 && !hasMaximum { return item + "*" }
            return item + "{\(minimum)," + (hasMaximum ? String(maximum) : "") + "}"
        }
        var result = item + " "
            + rule(
                "(" + separator + " " + item + ")", minimum: minimum == 0 ? 0 : minimum - 1,
                maximum: hasMaximum ? maximum - 1 : maximum)
        if minimum == 0 { result = "(" + result + ")?" }
        return result
    }
}
