import Foundation
import Synchronization
import SwiftletGGUF
import SwiftletModel

/// The all-MiniLM-L6-v2 GGUFs the embedding tests use (``TestPaths/minilm(_:)``): a converted file in the
/// models directory, or one converted here from the fetched Hugging Face folder, once per process.
enum MiniLM {
    private static let converted = Mutex<[String: String]>([:])

    static func removeConverted() {
        for path in converted.withLock({ Array($0.values) }) { try? FileManager.default.removeItem(atPath: path) }
    }

    static func path(_ type: String) -> String? {
        let ready = TestPaths.modelsDirectory.appendingPathComponent("all-MiniLM-L6-v2-\(type).gguf").path
        if FileManager.default.fileExists(atPath: ready) { return ready }
        let folder = TestPaths.modelsDirectory.appendingPathComponent("all-MiniLM-L6-v2").path
        guard FileManager.default.fileExists(atPath: folder + "/model.safetensors") else { return nil }
        let ggml: GGMLType
        switch type {
        case "f32": ggml = .f32
        case "f16": ggml = .f16
        case "q8_0": ggml = .q8_0
        default: return nil
        }
        return converted.withLock { done -> String? in
            if let path = done[type] { return path }
            let out = FileManager.default.temporaryDirectory
                .appendingPathComponent("swiftlet-test-minilm-\(ProcessInfo.processInfo.processIdentifier)-\(type).gguf")
                .path
            guard (try? ModelConversion.convert(folder: folder, to: out, type: ggml)) != nil else { return nil }
            // The converted files go when the test process ends.
            if done.isEmpty { atexit { MiniLM.removeConverted() } }
            done[type] = out
            return out
        }
    }
}
