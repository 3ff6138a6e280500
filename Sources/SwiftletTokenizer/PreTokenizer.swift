/// The split rule a byte-level BPE vocabulary applies before merging (`tokenizer.ggml.pre`). Each rule is a
/// hand-written equivalent of the regular expressions llama.cpp lists for that name; no regex engine runs.
public enum PreTokenizer: String, Sendable, CaseIterable {
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`.
    case gpt2
    /// SmolLM, StarCoder and relatives: every digit alone (`\p{N}`), then the GPT-2 rule.
    case smollm
    /// Llama 3: case-insensitive contractions, letters with one leading non-letter, digits in threes,
    /// punctuation runs with trailing newlines, newline-ending whitespace.
    case llama3
    /// Qwen 2: the Llama 3 rule with single digits.
    case qwen2
    /// llama.cpp's default for unnamed BPE vocabularies: punctuation runs, the GPT-2 rule, digit runs,
    /// then runs of three ASCII digits.
    case `default`

    /// The rule for a `tokenizer.ggml.pre` name, or nil when the name is unknown.
    public static func named(_ name: String) -> PreTokenizer? {
        switch name {
        case "gpt2", "gpt-2", "phi-2", "jina-es", "jina-de", "jina-v2-es", "jina-v2-de", "gigachat", "olmo":
            .gpt2
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b":
            .smollm
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral":
            .llama3
        case "qwen2", "deepseek-r1-qwen", "megrez":
            .qwen2
        case "default", "":
            .default
        default:
            nil
        }
    }

    /// Llama 3's vocabulary takes a whole pre-token as one token when it is in the vocabulary.
    var ignoresMerges: Bool { self == .llama3 }

    /// Splits code points into pre-tokens (ranges into `cpts`), covering all of them in order.
    func split(_ cpts: [UInt32]) -> [Range<Int>] {
        var pieces: [Range<Int>] = []
        pieces.reserveCapacity(cpts.count / 3 + 1)
        cpts.withUnsafeBufferPointer { c in
            switch self {
            case .gpt2:
                Self.gpt2(c, 0, c.count, &pieces)
            case .llama3:
                Self.llama3(c, 0, c.count, maxDigits: 3, &pieces)
            case .qwen2:
                Self.llama3(c, 0, c.count, maxDigits: 1, &pieces)
            case .smollm:
                var digits: [Range<Int>] = []
                Self.runs(c, 0, c.count, single: true, { CodepointClass.of($0).contains(.number) }, &digits)
                for r in digits { Self.gpt2(c, r.lowerBound, r.upperBound, &pieces) }
            case .default:
                var a: [Range<Int>] = [], b: [Range<Int>] = [], d: [Range<Int>] = []
                Self.runs(c, 0, c.count, single: false, Self.isDefaultPunctuation, &a)
                for r in a { Self.gpt2(c, r.lowerBound, r.upperBound, &b) }
                for r in b {
                    Self.runs(c, r.lowerBound, r.upperBound, single: false, { CodepointClass.of($0).contains(.number) }, &d)
                }
                for r in d { Self.asciiDigitTriples(c, r.lowerBound, r.upperBound, &pieces) }
            }
        }
        return pieces
    }

    private static func isDefaultPunctuation(_ c: UInt32) -> Bool {
        switch c {
        case 0x24, 0x2B, 0x3C, 0x3D, 0x3E, 0x5E, 0x7E, 0x7C: return true  // $ + < = > ^ ~ |
        default: return CodepointClass.of(c).contains(.punctuation)
        }
    }

    /// Splits [lo, hi) into matches of `pred+` (or single `pred` characters) and the text between them.
    private static func runs(
        _ c: UnsafeBufferPointer<UInt32>, _ lo: Int, _ hi: Int, single: Bool,
        _ pred: (UInt32) -> Bool, _ out: inout [Range<Int>]
    ) {
        var start = lo
        var i = lo
        while i < hi {
            if pred(c[i]) {
                if start < i { out.append(start..<i) }
                var j = i + 1
                if !single { while j < hi && pred(c[j]) { j += 1 } }
                out.append(i..<j)
                i = j
                start = j
            } else {
                i += 1
            }
        }
        if start < hi { out.append(start..<hi) }
    }

    private static func asciiDigitTriples(_ c: UnsafeBufferPointer<UInt32>, _ lo: Int, _ hi: Int, _ out: inout [Range<Int>]) {
        func d(_ i: Int) -> Bool { c[i] >= 0x30 && c[i] <= 0x39 }
        var start = lo
        var i = lo
        while i + 3 <= hi {
            if d(i) && d(i + 1) && d(i + 2) {
                if start < i { out.append(start..<i) }
                out.append(i..<(i + 3))
                i += 3
                start = i
            } else {
                i += 1
            }
        }
        if start < hi { out.append(start..<hi) }
    }

    /// The GPT-2 rule over [lo, hi); classes past `hi` are out of range (as if the piece ended the text).
    static func gpt2(_ c: UnsafeBufferPointer<UInt32>, _ lo: Int, _ hi: Int, _ out: inout [Range<Int>]) {
        @inline(__always) func cls(_ p: Int) -> CodepointClass { p < hi ? CodepointClass.of(c[p]) : .outOfRange }
        @inline(__always) func isOther(_ f: CodepointClass) -> Bool {
            f.isDisjoint(with: [.whitespace, .letter, .number, .outOfRange])
        }
        var start = lo
        var pos = lo
        while pos < hi {
            let cp = c[pos]
            if cp == 0x27 && pos + 1 < hi {  // 's 't 'm 'd 're 've 'll (case-sensitive)
                let n1 = c[pos + 1]
                if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 {
                    pos += 2; out.append(start..<pos); start = pos; continue
                }
                if pos + 2 < hi {
                    let n2 = c[pos + 2]
                    if (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65) || (n1 == 0x6C && n2 == 0x6C) {
                        pos += 3; out.append(start..<pos); start = pos; continue
                    }
                }
            }
            let f = cls(pos)
            var f2 = cp == 0x20 ? cls(pos + 1) : f
            if f2.contains(.letter) {
                if cp == 0x20 { pos += 1 }
                while f2.contains(.letter) { pos += 1; f2 = cls(pos) }
                out.append(start..<pos); start = pos; continue
            }
            if f2.contains(.number) {
                if cp == 0x20 { pos += 1 }
                while f2.contains(.number) { pos += 1; f2 = cls(pos) }
                out.append(start..<pos); start = pos; continue
            }
            if isOther(f2) {
                if cp == 0x20 { pos += 1 }
                while isOther(f2) { pos += 1; f2 = cls(pos) }
                out.append(start..<pos); start = pos; continue
            }
            var ws = 0
            while cls(pos + ws).contains(.whitespace) { ws += 1 }
            if ws > 1 && pos + ws < hi {  // \s+(?!\S): leave the last space to the next word
                pos += ws - 1; out.append(start..<pos); start = pos; continue
            }
            if ws > 0 {
                pos += ws; out.append(start..<pos); start = pos; continue
            }
            pos += 1; out.append(start..<pos); start = pos
        }
    }

    /// The Llama 3 rule (and Qwen 2's with `maxDigits` 1) over [lo, hi).
    static func llama3(
        _ c: UnsafeBufferPointer<UInt32>, _ lo: Int, _ hi: Int, maxDigits: Int, _ out: inout [Range<Int>]
    ) {
        @inline(__always) func cls(_ p: Int) -> CodepointClass { p < hi ? CodepointClass.of(c[p]) : .outOfRange }
        @inline(__always) func cpt(_ p: Int) -> UInt32 { p < hi ? c[p] : 0xFFFF_FFFF }
        @inline(__always) func lower(_ x: UInt32) -> UInt32 { (x >= 0x41 && x <= 0x5A) ? x + 32 : x }
        @inline(__always) func isOther(_ f: CodepointClass) -> Bool {
            f.isDisjoint(with: [.whitespace, .letter, .number, .outOfRange])
        }
        var start = lo
        var pos = lo
        func emit(_ p: Int) { if start < p { out.append(start..<p) }; start = p }
        while pos < hi {
            let cp = c[pos]
            let f = cls(pos)
            if cp == 0x27 && pos + 1 < hi {
                let n1 = lower(c[pos + 1])
                if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 { pos += 2; emit(pos); continue }
                if pos + 2 < hi {
                    let n2 = lower(c[pos + 2])
                    if (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65) || (n1 == 0x6C && n2 == 0x6C) {
                        pos += 3; emit(pos); continue
                    }
                }
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !(cp == 0x0D || cp == 0x0A || f.contains(.number)) {
                if f.contains(.letter) || cls(pos + 1).contains(.letter) {
                    pos += 1
                    while cls(pos).contains(.letter) { pos += 1 }
                    emit(pos); continue
                }
            }
            // \p{N}{1,maxDigits}
            if f.contains(.number) {
                var ini = pos
                while cls(pos).contains(.number) {
                    pos += 1
                    if pos - ini >= maxDigits { emit(pos); ini = pos }
                }
                emit(pos); continue
            }
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            var f2 = cp == 0x20 ? cls(pos + 1) : f
            if isOther(f2) && !f.contains(.outOfRange) {
                if cp == 0x20 { pos += 1 }
                while isOther(f2) { pos += 1; f2 = cls(pos) }
                while cpt(pos) == 0x0D || cpt(pos) == 0x0A { pos += 1 }
                emit(pos); continue
            }
            var ws = 0
            var lastNewlineEnd = 0
            while cls(pos + ws).contains(.whitespace) {
                let x = cpt(pos + ws)
                if x == 0x0D || x == 0x0A { lastNewlineEnd = pos + ws + 1 }
                ws += 1
            }
            if lastNewlineEnd > 0 { pos = lastNewlineEnd; emit(pos); continue }  // \s*[\r\n]+
            if ws > 1 && pos + ws < hi { pos += ws - 1; emit(pos); continue }       // \s+(?!\S)
            if ws > 0 { pos += ws; emit(pos); continue }                           // \s+
            pos += 1; emit(pos)
        }
        emit(hi)
    }
}
