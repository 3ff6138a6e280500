import Foundation

/// Paths every test target shares: the package's Fixtures folder, the real-model cache and llama.cpp's
/// reference outputs. Nothing outside the package is read but the model cache.
public enum TestPaths {
    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static let fixtures = packageRoot.appendingPathComponent("Fixtures")

    public static var modelsDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["SWIFTLET_MODELS"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/swiftlet/models")
    }

    /// A real model's path; a missing model is a test failure that says how to fetch it.
    public static func model(_ file: String) throws -> String {
        let path = modelsDirectory.appendingPathComponent(file).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw MissingModel(path: path)
        }
        return path
    }

    public struct MissingModel: Error, CustomStringConvertible {
        let path: String
        public var description: String { "model \(path) is missing: run Scripts/fetch-models.sh" }
    }

    /// llama.cpp's reference outputs: Fixtures/reference (its README says how they were made), or
    /// $SWIFTLET_REFERENCE when set.
    public static var reference: URL {
        if let dir = ProcessInfo.processInfo.environment["SWIFTLET_REFERENCE"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        return fixtures.appendingPathComponent("reference")
    }

    public static let smollm2 = "SmolLM2-135M-Instruct.Q4_1.gguf"
    public static let gemma3 = "gemma-3-270m-q4_k_m.gguf"

    /// all-MiniLM-L6-v2 as GGUF of `type` ("f32", "f16", "q8_0"): `all-MiniLM-L6-v2-<type>.gguf` in
    /// ``modelsDirectory`` when there is one, else converted once per process (``ModelConversion``, what
    /// `swiftlet convert` runs) from the Hugging Face folder `all-MiniLM-L6-v2/` that
    /// `Scripts/fetch-models.sh minilm` fetches, into the temporary directory. Nil when neither exists.
    public static func minilm(_ type: String) -> String? {
        MiniLM.path(type)
    }

    /// Whether the embedding model tests can run: ``minilm(_:)`` has a file or a folder to convert.
    public static var hasMiniLM: Bool {
        hasModel("all-MiniLM-L6-v2-f32.gguf") || hasModel("all-MiniLM-L6-v2/model.safetensors")
    }

    /// Whether a real model is in ``modelsDirectory`` (tests of optional models are disabled without it).
    public static func hasModel(_ file: String) -> Bool {
        FileManager.default.fileExists(atPath: modelsDirectory.appendingPathComponent(file).path)
    }
}
