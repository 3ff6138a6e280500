import Foundation
import SwiftletGGUF
import SwiftletTestSupport

/// Variants of the tiny Llama fixture (trained context 256, a real BPE vocabulary) with some metadata
/// changed, written to a temporary file the facade can load.
enum TinyModelFiles {
    static let source = TestPaths.fixtures.appendingPathComponent("tiny-llama-f32.gguf").path

    /// The fixture with `changes` applied to its metadata; the file lives until the process ends.
    static func variant(_ name: String, _ changes: [String: GGUFValue]) throws -> String {
        let file = try GGUFFile(path: source)
        var metadata = file.metadata
        for (key, value) in changes { metadata[key] = value }
        var writer = GGUFWriter(version: file.version, metadata: metadata)
        for t in file.tensors {
            try writer.addTensor(name: t.name, shape: t.shape, type: t.type, data: file.tensorData(t))
        }
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("swiftlet-\(name)-\(ProcessInfo.processInfo.processIdentifier).gguf").path
        try Data(writer.serialize()).write(to: URL(fileURLWithPath: path))
        return path
    }
}
