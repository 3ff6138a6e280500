import Foundation

/// Writes named intermediate activations (llama.cpp's names: `attn_norm-0`, `ffn_out-3`,
/// `result_output`) as raw little-endian float32 files `<dir>/<name>.f32`, appended batch after batch,
/// so a divergence from llama.cpp can be located layer by layer. Off unless a directory is given.
struct ActivationDump: Sendable {
    let directory: String

    func write(_ name: String, _ layer: Int?, _ p: UnsafePointer<Float>, count: Int) {
        let file = layer.map { "\(name)-\($0)" } ?? name
        let path = directory + "/" + file + ".f32"
        let data = Data(bytes: p, count: count * MemoryLayout<Float>.size)
        if let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(data)
            try? handle.close()
        } else {
            _ = FileManager.default.createFile(atPath: path, contents: data)  // a debugging aid: a failed dump is not an error
        }
    }
}
