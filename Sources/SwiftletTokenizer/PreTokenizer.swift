/// The rule that splits text into words before byte-pair merging, named by `tokenizer.ggml.pre`.
/// Each is a hand-written scanner equivalent to the regular expression llama.cpp uses for that name.
public enum PreTokenizer: Sendable, Equatable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` (GPT-2).
    case gpt2
    /// Every digit on its own, then the GPT-2 rule (`smollm`, `starcoder`, `refact`…).
    case gpt2SplitDigits
    /// Llama 3's rule: case-insensitive contractions, `[^\r\n\p{L}\p{N}]?\p{L}+`, numbers in groups of up
    /// to `digits` (3 for `llama-bpe`, 1 for `qwen2`), punctuation runs with trailing newlines, newline runs.
    case llama3(digits: Int)

    /// The rule for a `tokenizer.ggml.pre` name, and whether the name was recognised.
    static func named(_ name: String?) -> (PreTokenizer, known: Bool) {
        switch name ?? "default" {
        case "gpt2", "mpt", "olmo", "jais", "default": (.gpt2, true)
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva": (.gpt2SplitDigits, true)
        case "llama3", "llama-bpe", "llama-v3", "falcon3", "pixtral", "tekken", "dbrx", "smaug-bpe", "viking": (.llama3(digits: 3), true)
        case "qwen2", "qwen35", "deepseek-r1-qwen", "stablelm2", "megrez", "hunyuan": (.llama3(digits: 1), true)
        default: (.gpt2, false)
        }
    }

    /// Whether a whole word found in the vocabulary is taken as one token without merging (llama.cpp's
    /// `ignore_merges`, set for Llama 3).
    var ignoresMerges: Bool {
        if case .llama3(let d) = self { return d == 3 }
        return false
    }

    /// Splits `cps` into words, returned as end offsets (each word runs from the previous end).
    func split(_ cps: [UInt32]) -> [Int] {
        var ends: [Int] = []
        ends.reserveCapacity(cps.count / 3 + 1)
        switch self {
        case .gpt2:
            Self.gpt2(cps, 0, cps.count, &ends)
        case .gpt2SplitDigits:
            var start = 0
            for i in 0..<cps.count where UnicodeText.flags(cps[i]).contains(.number) {
                if start < i { Self.gpt2(cps, start, i, &ends) }
                ends.append(i + 1)
                start = i + 1
            }
            if start < cps.count { Self.gpt2(cps, start, cps.count, &ends) }
        case .llama3(let digits):
            Self.llama3(cps, 0, cps.count, digits, &ends)
        }
        return ends
    }

    private static func gpt2(_ cps: [UInt32], _ begin: Int, _ end: Int, _ ends: inout [Int]) {
        @inline(__always) func cp(_ i: Int) -> UInt32? { i >= begin && i < end ? cps[i] : nil }
        @inline(__always) func flags(_ i: Int) -> UnicodeText.Flags { i >= begin && i < end ? UnicodeText.flags(cps[i]) : [] }
        var pos = begin
        while pos < end {
            let c = cps[pos]
            if c == 39, pos + 1 < end {  // '
                let n = cps[pos + 1]
                if n == 115 || n == 116 || n == 109 || n == 100 { pos += 2; ends.append(pos); continue }  // s t m d
                if pos + 2 < end {
                    let nn = cps[pos + 2]
                    if (n == 114 && nn == 101) || (n == 118 && nn == 101) || (n == 108 && nn == 108) {  // re ve ll
                        pos += 3; ends.append(pos); continue
                    }
                }
            }
            var f2 = c == 32 ? flags(pos + 1) : flags(pos)
            if f2.contains(.letter) {
                if c == 32 { pos += 1 }
                while flags(pos).contains(.letter) { pos += 1 }
                ends.append(pos); continue
            }
            if f2.contains(.number) {
                if c == 32 { pos += 1 }
                while flags(pos).contains(.number) { pos += 1 }
                ends.append(pos); continue
            }
            if f2.isDisjoint(with: [.whitespace, .letter, .number]) && f2.contains(.present) {
                if c == 32 { pos += 1 }
                f2 = flags(pos)
                while f2.isDisjoint(with: [.whitespace, .letter, .number]) && f2.contains(.present) {
                    pos += 1
                    f2 = flags(pos)
                }
                ends.append(pos); continue
            }
            var spaces = 0
            while flags(pos + spaces).contains(.whitespace) { spaces += 1 }
            if spaces > 1 && cp(pos + spaces) != nil {
                pos += spaces - 1; ends.append(pos); continue
            }
            if spaces > 0 { pos += spaces; ends.append(pos); continue }
            pos += 1
            ends.append(pos)
        }
    }

    private static func llama3(_ cps: [UInt32], _ begin: Int, _ end: Int, _ maxDigits: Int, _ ends: inout [Int]) {
        @inline(__always) func cp(_ i: Int) -> UInt32? { i >= begin && i < end ? cps[i] : nil }
        @inline(__always) func flags(_ i: Int) -> UnicodeText.Flags { i >= begin && i < end ? UnicodeText.flags(cps[i]) : [] }
        var pos = begin
        while pos < end {
            let c = cps[pos]
            let f = flags(pos)
            if c == 39, pos + 1 < end {
                let n = UnicodeText.lowercased(cps[pos + 1])
                if n == 115 || n == 116 || n == 109 || n == 100 { pos += 2; ends.append(pos); continue }
                if pos + 2 < end {
                    let nn = UnicodeText.lowercased(cps[pos + 2])
                    if (n == 114 && nn == 101) || (n == 118 && nn == 101) || (n == 108 && nn == 108) {
                        pos += 3; ends.append(pos); continue
                    }
                }
            }
            if !(c == 13 || c == 10 || f.contains(.number)) {
                if f.contains(.letter) || flags(pos + 1).contains(.letter) {
                    pos += 1
                    while flags(pos).contains(.letter) { pos += 1 }
                    ends.append(pos); continue
                }
            }
            if f.contains(.number) {
                var start = pos
                while flags(pos).contains(.number) {
                    pos += 1
                    if pos - start >= maxDigits { ends.append(pos); start = pos }
                }
                if start != pos { ends.append(pos) }
                continue
            }
            var f2 = c == 32 ? flags(pos + 1) : f
            if f2.isDisjoint(with: [.whitespace, .letter, .number]) && f.contains(.present) {
                if c == 32 { pos += 1 }
                f2 = flags(pos)
                while f2.isDisjoint(with: [.whitespace, .letter, .number]) && f2.contains(.present) {
                    pos += 1
                    f2 = flags(pos)
                }
                while let c2 = cp(pos), c2 == 13 || c2 == 10 { pos += 1 }
                ends.append(pos); continue
            }
            var spaces = 0
            var lastNewlineEnd = 0
            while flags(pos + spaces).contains(.whitespace) {
                if let c2 = cp(pos + spaces), c2 == 13 || c2 == 10 { lastNewlineEnd = pos + spaces + 1 }
                spaces += 1
            }
            if lastNewlineEnd > 0 { pos = lastNewlineEnd; ends.append(pos); continue }
            if spaces > 1 && cp(pos + spaces) != nil { pos += spaces - 1; ends.append(pos); continue }
            if spaces > 0 { pos += spaces; ends.append(pos); continue }
            pos += 1
            ends.append(pos)
        }
    }
}
