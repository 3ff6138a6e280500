import SwiftletGGUF
import SwiftletKernels

/// Converts a model file's weights to another type, as `llama-quantize --allow-requantize` does for
/// the simple types: every 2-D weight whose rows are whole blocks becomes `type` (quantized ones are
/// dequantized first); vectors (norms, biases) stay F32; metadata is kept, with `general.file_type`
/// updated.
///
/// As llama.cpp's quantizer did for SmolLM2 (Fixtures/reference/perplexity.json), the output head
/// (or the token embedding that doubles as it) is stored as Q8_0 for the 4-bit targets.
public enum Requantize {
    /// The target types, with their `general.file_type` numbers (llama.cpp's `LLAMA_FTYPE_*`).
    public static let fileTypes: [GGMLType: Int] = [.f16: 1, .q4_0: 2, .q4_1: 3, .q8_0: 7]

    /// A writer holding `file` converted to `type`.
    public static func convert(_ file: GGUFFile, to type: GGMLType) throws -> GGUFWriter {
        guard let fileType = fileTypes[type] else {
            throw ModelError.kernel("cannot quantize to \(type.name): supported targets are F16, Q8_0, Q4_0 and Q4_1")
        }
        var writer = GGUFWriter(version: file.version, metadata: file.metadata)
        writer.metadata["general.file_type"] = .uint32(UInt32(fileType))
        let tiedOutput = file.tensor(named: "output.weight") == nil
        for t in file.tensors {
            let data = file.tensorData(t)
            var target = t.shape.count >= 2 && t.shape[0] % type.blockSize == 0 ? type : t.type
            if (type == .q4_0 || type == .q4_1) && (t.name == "output.weight" || (tiedOutput && t.name == "token_embd.weight")) {
                target = .q8_0
            }
            if target == t.type {
                try writer.addTensor(name: t.name, shape: t.shape, type: t.type, data: data)
                continue
            }
            let rowLength = t.shape[0], rows = t.rowCount
            var floats = [Float](repeating: 0, count: rowLength)
            var out = [UInt8](repeating: 0, count: rows * (rowLength / target.blockSize) * target.bytesPerBlock)
            let outRow = (rowLength / target.blockSize) * target.bytesPerBlock
            for r in 0..<rows {
                let source = data.baseAddress! + r * t.bytesPerRow
                try floats.withUnsafeMutableBufferPointer { f in
                    try dequantizeRow(t.type, source, f.baseAddress!, count: rowLength)
                }
                try out.withUnsafeMutableBytes { (o: UnsafeMutableRawBufferPointer) in
                    let destination = o.baseAddress! + r * outRow
                    try floats.withUnsafeBufferPointer { f in
                        try quantizeRow(target, f.baseAddress!, destination, count: rowLength)
                    }
                }
            }
            try writer.addTensor(name: t.name, shape: t.shape, type: target, data: out)
        }
        return writer
    }
}
