import SwiftletGGUF
import SwiftletKernels

/// A small float vector (norm weights, biases) dequantized once at load; owned, immutable.
final class Vector: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: count)
    }
    deinit { pointer.deallocate() }
}

/// Binds GGUF tensors by name with their expected shapes; every failure names the tensor.
struct TensorBinder {
    let file: GGUFFile

    /// A 2-D weight of `rows` outputs × `columns` inputs (ggml shape [columns, rows]); stays in the mapping,
    /// except Q4_0, which the AVX2 build regroups into a heap copy that multiplies prompts 2–3× faster
    /// (``WeightMatrix/repackedForMatmul()``), unless `regroup` is false.
    func matrix(_ name: String, rows: Int, columns: Int, regroup: Bool = true) throws(ModelError) -> WeightMatrix {
        guard let info = file.tensor(named: name) else { throw .missingTensor(name) }
        guard info.shape == [columns, rows] else { throw .tensorShape(name: name, expected: [columns, rows], actual: info.shape) }
        do {
            let w = try WeightMatrix(info, in: file)
            return regroup ? w.repackedForMatmul() : w
        } catch { throw .kernel("\(name): \(error)") }
    }

    /// The token embedding table, left in the mapping: it is read a row per token, and as a tied output
    /// head it mostly multiplies one token (a prompt's last). Regrouping a vocabulary-sized table would
    /// cost load time and memory for no decoding gain (Gemma 3's 178 MB Q8_0 table: load 0.2 → 1.1 s,
    /// peak RSS +80 MB, generation unchanged).
    func tokenEmbedding(rows: Int, columns: Int) throws(ModelError) -> WeightMatrix {
        try matrix("token_embd.weight", rows: rows, columns: columns, regroup: false)
    }

    func optionalMatrix(_ name: String, rows: Int, columns: Int) throws(ModelError) -> WeightMatrix? {
        file.tensor(named: name) == nil ? nil : try matrix(name, rows: rows, columns: columns)
    }

    /// A 1-D tensor of `count` elements, dequantized into a heap copy (tiny next to the matrices).
    func vector(_ name: String, count: Int) throws(ModelError) -> Vector {
        guard let info = file.tensor(named: name) else { throw .missingTensor(name) }
        guard info.shape == [count] else { throw .tensorShape(name: name, expected: [count], actual: info.shape) }
        let v = Vector(count: count)
        guard let base = file.tensorData(info).baseAddress else { throw .missingTensor(name) }
        do { try dequantizeRow(info.type, base, v.pointer, count: count) } catch {
            throw .unsupportedTensorType(name: name, type: info.type.name)
        }
        return v
    }

    func optionalVector(_ name: String, count: Int) throws(ModelError) -> Vector? {
        file.tensor(named: name) == nil ? nil : try vector(name, count: count)
    }
}
