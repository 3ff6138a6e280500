/// Finds stop strings in streamed text that arrives in pieces (one token's text at a time).
///
/// Text that might be the beginning of a stop string is held back until the next piece shows whether it
/// is; when a stop string completes, everything before it is released and it, and all after it, never is.
/// Matching is over Unicode scalars, so a stop string of `"\n"` is found inside `"\r\n"`.
public struct StopStringMatcher: Sendable {
    public let stops: [String]
    private let stopScalars: [[Unicode.Scalar]]
    private var pending: [Unicode.Scalar] = []
    public private(set) var stopped = false

    public init(stops: [String]) {
        self.stops = stops.filter { !$0.isEmpty }
        stopScalars = self.stops.map { Array($0.unicodeScalars) }
    }

    /// Adds `text`; returns what can be emitted now and whether a stop string was found.
    public mutating func feed(_ text: String) -> (emit: String, stopped: Bool) {
        guard !stopped else { return ("", true) }
        pending.append(contentsOf: text.unicodeScalars)
        if let at = firstStop() {
            stopped = true
            let out = String(String.UnicodeScalarView(pending[..<at]))
            pending = []
            return (out, true)
        }
        let hold = heldSuffixLength()
        let out = String(String.UnicodeScalarView(pending[..<(pending.count - hold)]))
        pending.removeFirst(pending.count - hold)
        return (out, false)
    }

    /// Releases held text at the end of generation (it turned out not to start a stop string).
    public mutating func flush() -> String {
        guard !stopped else { return "" }
        let out = String(String.UnicodeScalarView(pending))
        pending = []
        return out
    }

    /// Start of the earliest complete stop string in `pending`.
    private func firstStop() -> Int? {
        var best: Int?
        for stop in stopScalars where stop.count <= pending.count {
            for start in 0...(pending.count - stop.count) where best.map({ start < $0 }) ?? true {
                if pending[start..<(start + stop.count)].elementsEqual(stop) {
                    best = start
                    break
                }
            }
        }
        return best
    }

    /// The longest suffix of `pending` that is a proper prefix of some stop string.
    private func heldSuffixLength() -> Int {
        var longest = 0
        for stop in stopScalars {
            for length in stride(from: min(stop.count - 1, pending.count), to: longest, by: -1)
            where pending.suffix(length).elementsEqual(stop.prefix(length)) {
                longest = length
                break
            }
        }
        return longest
    }
}
