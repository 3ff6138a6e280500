import Foundation

/// Paths the tests share: the package's Fixtures folder and the real-model cache.
enum TestPaths {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = packageRoot.appendingPathComponent("Fixtures")

    static var modelsDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["SWIFTLET_MODELS"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/swiftlet/models")
    }

    /// A real model's path; a missing model is a test failure that says how to fetch it.
    static func model(_ file: String) throws -> String {
        let path = modelsDirectory.appendingPathComponent(file).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw MissingModel(path: path)
        }
        return path
    }

    struct MissingModel: Error, CustomStringConvertible {
        let path: String
        var description: String { "model \(path) is missing: run Scripts/fetch-models.sh" }
    }

    static let smollm2 = "SmolLM2-135M-Instruct.Q4_1.gguf"
    static let gemma3 = "gemma-3-270m-q4_k_m.gguf"
}
