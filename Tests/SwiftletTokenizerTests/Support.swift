import Foundation
import SwiftletGGUF
import SwiftletTokenizer

/// Locations of the fixtures, real models and llama.cpp reference outputs the tests read.
enum Support {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func fixture(_ name: String) -> String { packageRoot.appendingPathComponent("Fixtures/\(name)").path }

    static func modelPath(_ name: String) throws -> String {
        let dir = ProcessInfo.processInfo.environment["SWIFTLET_MODELS"]
            ?? (NSHomeDirectory() + "/.cache/swiftlet/models")
        let path = dir + "/" + name
        guard FileManager.default.fileExists(atPath: path) else {
            throw Missing(message: "model \(path) not found: run Scripts/fetch-models.sh (or set SWIFTLET_MODELS)")
        }
        return path
    }

    static func referencePath(_ name: String) throws -> String {
        let dir = ProcessInfo.processInfo.environment["SWIFTLET_REFERENCE"]
            ?? packageRoot.appendingPathComponent("../shared/reference").standardized.path
        let path = dir + "/" + name
        guard FileManager.default.fileExists(atPath: path) else {
            throw Missing(message: "reference \(path) not found (set SWIFTLET_REFERENCE to the reference folder)")
        }
        return path
    }

    static func tokenizer(model: String) throws -> Tokenizer {
        try Tokenizer(metadata: GGUFFile(path: modelPath(model)).metadata)
    }

    struct Missing: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}
