import SwiftletGrammar
/// Minimal JSON text building for CLI output, with exact control over key order and number format.
enum JSONText {
    static func string(_ s: String) -> String { JSONValue.quoted(s) }

    /// A float as JSON: shortest round-trip form; NaN and infinities, which JSON lacks, as null.
    static func number(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }

    static func object(_ pairs: [(String, String)]) -> String {
        "{" + pairs.map { string($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    static func array(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }
}
