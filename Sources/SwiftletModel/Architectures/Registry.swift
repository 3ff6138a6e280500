import SwiftletKVCache

/// Every architecture Swiftlet runs, by its GGUF `general.architecture` name. Adding one is a file in
/// this folder and a line here (Docs/Architectures.md).
let architectures: [String: any Architecture.Type] = [
    "llama": Llama.self,
    "qwen2": Qwen2.self,
    "qwen3": Qwen3.self,
    "qwen3moe": Qwen3MoE.self,
    "phi3": Phi3.self,
    "gemma2": Gemma2.self,
    "gemma3": Gemma3.self,
    "bert": BERT.self,
]

/// The `general.architecture` names that load, sorted.
public var supportedArchitectures: [String] { architectures.keys.sorted() }

/// One architecture: its hyperparameters, its weights bound by GGUF tensor name, and its forward pass.
protocol Architecture: Sendable {
    /// Reads this architecture's own hyperparameters into `config`, whose shared keys are read already,
    /// and sets what llama.cpp hard-codes for it (RoPE style, sliding-window pattern, scales).
    static func configure(_ config: inout ModelConfig, _ hp: Hyperparameters) throws(ModelError)

    /// Binds the weights (a missing or misshapen tensor is an error naming it).
    init(runtime: Runtime, tensors: TensorBinder) throws(ModelError)

    var runtime: Runtime { get }

    /// Evaluates `tokens`, row by row the sequences of `batch`, each at the positions after those its cache
    /// holds, stores their K/V, and emits logits for the batch rows in `logitRows` (indices into `tokens`).
    /// Does not commit the caches.
    func forwardBatch(_ tokens: ArraySlice<Int>, batch: SequenceBatch, ws: Workspace, logitRows: Range<Int>,
                      _ body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws
}

/// An architecture that runs another's graph with options chosen at load (Qwen 2 and 3 run the llama
/// graph, Gemma 2 Gemma 3's), so its file holds only what differs.
protocol GraphVariant: Architecture {
    associatedtype Graph: Architecture
    var graph: Graph { get }
}

extension GraphVariant {
    var runtime: Runtime { graph.runtime }

    func forwardBatch(_ tokens: ArraySlice<Int>, batch: SequenceBatch, ws: Workspace, logitRows: Range<Int>,
                      _ body: (Int, UnsafeBufferPointer<Float>) throws -> Void) throws {
        try graph.forwardBatch(tokens, batch: batch, ws: ws, logitRows: logitRows, body)
    }
}
