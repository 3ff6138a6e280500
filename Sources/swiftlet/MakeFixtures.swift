import ArgumentParser
import SwiftletGGUF
import SwiftletKernels

/// Regenerates the tiny test models under `Fixtures/`: `swiftlet make-fixtures Fixtures`.
struct MakeFixtures: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "make-fixtures",
        abstract: "Write the tiny generated test models (F32, F16, Q8_0, Q4_0, Q4_1) into a folder.",
        shouldDisplay: false)

    @Argument(help: "Output folder.") var directory: String = "Fixtures"

    func run() throws {
        try reportingErrors {
            for type in [GGMLType.f32, .f16, .q8_0, .q4_0, .q4_1] {
                let path = "\(directory)/tiny-llama-\(type.name.lowercased()).gguf"
                try TinyModel.llama(weightType: type).write(to: path)
                print(path)
            }
        }
    }
}

/// A tiny llama-architecture model with random weights and a byte-level BPE vocabulary: small enough to
/// commit, complete enough to run every stage of the engine in unit tests.
enum TinyModel {
    static let embd = 64, heads = 4, kvHeads = 2, layers = 2, ff = 128, context = 256

    static func llama(weightType: GGMLType) throws -> GGUFWriter {
        var rng = SplitMix64(seed: 0x5EED)
        let vocab = ByteLevelVocabulary.make()
        var w = GGUFWriter()
        w.metadata["general.architecture"] = .string("llama")
        w.metadata["general.name"] = .string("tiny-llama")
        let fileTypes: [GGMLType: UInt32] = [.f32: 0, .f16: 1, .q4_0: 2, .q4_1: 3, .q8_0: 7]
        w.metadata["general.file_type"] = .uint32(fileTypes[weightType] ?? 0)
        w.metadata["llama.context_length"] = .uint32(UInt32(context))
        w.metadata["llama.embedding_length"] = .uint32(UInt32(embd))
        w.metadata["llama.block_count"] = .uint32(UInt32(layers))
        w.metadata["llama.feed_forward_length"] = .uint32(UInt32(ff))
        w.metadata["llama.attention.head_count"] = .uint32(UInt32(heads))
        w.metadata["llama.attention.head_count_kv"] = .uint32(UInt32(kvHeads))
        w.metadata["llama.rope.freq_base"] = .float32(10000)
        w.metadata["llama.attention.layer_norm_rms_epsilon"] = .float32(1e-5)
        w.metadata["llama.vocab_size"] = .uint32(UInt32(vocab.tokens.count))
        w.metadata["llama.rope.dimension_count"] = .uint32(UInt32(embd / heads))
        w.metadata["tokenizer.ggml.model"] = .string("gpt2")
        w.metadata["tokenizer.ggml.pre"] = .string("smollm")
        w.metadata["tokenizer.ggml.tokens"] = .array(.string(vocab.tokens))
        w.metadata["tokenizer.ggml.token_type"] = .array(.int32(vocab.types))
        w.metadata["tokenizer.ggml.merges"] = .array(.string(vocab.merges))
        w.metadata["tokenizer.ggml.bos_token_id"] = .uint32(UInt32(vocab.bos))
        w.metadata["tokenizer.ggml.eos_token_id"] = .uint32(UInt32(vocab.eos))
        w.metadata["tokenizer.ggml.padding_token_id"] = .uint32(UInt32(vocab.eos))
        w.metadata["tokenizer.ggml.add_bos_token"] = .bool(false)
        w.metadata["tokenizer.chat_template"] = .string(
            "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")

        let nVocab = vocab.tokens.count
        let headDim = embd / heads
        func matrix(_ name: String, _ cols: Int, _ rows: Int, scale: Float) throws {
            let values = (0..<(cols * rows)).map { _ in rng.nextSigned() * scale }
            try add(&w, name, [cols, rows], values, weightType)
        }
        func norm(_ name: String, _ n: Int) throws {
            try w.addTensor(name: name, shape: [n], floats: (0..<n).map { _ in 1 + 0.1 * rng.nextSigned() })
        }
        try matrix("token_embd.weight", embd, nVocab, scale: 0.5)
        for l in 0..<layers {
            try norm("blk.\(l).attn_norm.weight", embd)
            try matrix("blk.\(l).attn_q.weight", embd, heads * headDim, scale: 0.2)
            try matrix("blk.\(l).attn_k.weight", embd, kvHeads * headDim, scale: 0.2)
            try matrix("blk.\(l).attn_v.weight", embd, kvHeads * headDim, scale: 0.2)
            try matrix("blk.\(l).attn_output.weight", heads * headDim, embd, scale: 0.2)
            try norm("blk.\(l).ffn_norm.weight", embd)
            try matrix("blk.\(l).ffn_gate.weight", embd, ff, scale: 0.2)
            try matrix("blk.\(l).ffn_up.weight", embd, ff, scale: 0.2)
            try matrix("blk.\(l).ffn_down.weight", ff, embd, scale: 0.15)
        }
        try norm("output_norm.weight", embd)
        return w
    }

    private static func add(_ w: inout GGUFWriter, _ name: String, _ shape: [Int], _ values: [Float], _ type: GGMLType) throws {
        switch type {
        case .f32:
            try w.addTensor(name: name, shape: shape, floats: values)
        case .f16:
            var bytes = [UInt8](); bytes.reserveCapacity(values.count * 2)
            for v in values { withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
            try w.addTensor(name: name, shape: shape, type: .f16, data: bytes)
        default:
            var bytes = [UInt8](repeating: 0, count: type.byteCount(elements: values.count) ?? 0)
            try values.withUnsafeBufferPointer { v in
                try bytes.withUnsafeMutableBytes { try quantizeRow(type, v.baseAddress!, $0.baseAddress!, count: values.count) }
            }
            try w.addTensor(name: name, shape: shape, type: type, data: bytes)
        }
    }
}

/// A deterministic generator, so fixtures regenerate byte for byte.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    mutating func nextSigned() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
}

/// A small GPT-2 style vocabulary: the 256 byte symbols, some merges of common English pairs, and the
/// ChatML special tokens.
enum ByteLevelVocabulary {
    struct Vocabulary {
        var tokens: [String] = []
        var types: [Int32] = []
        var merges: [String] = []
        var bos = 0, eos = 0
    }

    /// GPT-2's byte-to-unicode table: printable bytes map to themselves, the rest to U+0100 onwards.
    static func byteSymbols() -> [String] {
        var symbols = [String](repeating: "", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            if printable {
                symbols[b] = String(Character(Unicode.Scalar(UInt32(b))!))
            } else {
                symbols[b] = String(Character(Unicode.Scalar(next)!))
                next += 1
            }
        }
        return symbols
    }

    static func make() -> Vocabulary {
        var v = Vocabulary()
        v.tokens.append("<|endoftext|>"); v.types.append(3)
        v.tokens.append("<|im_start|>"); v.types.append(3)
        v.tokens.append("<|im_end|>"); v.types.append(3)
        v.bos = 1; v.eos = 2
        for s in byteSymbols() { v.tokens.append(s); v.types.append(1) }
        let space = byteSymbols()[32]
        let pairs = [("t", "h"), ("th", "e"), (space, "t"), (space + "t", "he"), ("i", "n"), ("e", "r"),
                     (space, "a"), ("o", "n"), ("r", "e"), (space, "s"), ("a", "n"), ("e", "n")]
        for (a, b) in pairs {
            v.merges.append("\(a) \(b)")
            v.tokens.append(a + b); v.types.append(1)
        }
        return v
    }
}
