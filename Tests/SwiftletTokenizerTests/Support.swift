import Foundation
import SwiftletGGUF
import SwiftletTokenizer
import SwiftletTestSupport

/// Locations of the fixtures, real models and llama.cpp reference outputs the tests read.
enum Support {
    static func fixture(_ name: String) -> String { TestPaths.fixtures.appendingPathComponent(name).path }

    static func modelPath(_ name: String) throws -> String { try TestPaths.model(name) }

    static func referencePath(_ name: String) throws -> String {
        let path = TestPaths.reference.appendingPathComponent(name).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw Missing(message: "reference \(path) not found (Fixtures/reference, or $SWIFTLET_REFERENCE when set)")
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
