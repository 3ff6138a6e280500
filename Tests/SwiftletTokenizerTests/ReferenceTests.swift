import Foundation
import Testing
import SwiftletGGUF
import SwiftletTokenizer

/// Every case of llama.cpp's tokenizations in ../shared/reference must be reproduced exactly, in all
/// four modes (special tokens parsed or not, BOS or not).
struct ReferenceTests {
    struct Case: Decodable {
        let text: String
        let ids_special: [Int]
        let ids_nospecial: [Int]
        let ids_special_nobos: [Int]
        let ids_nospecial_nobos: [Int]
    }
    struct Reference: Decodable { let cases: [Case] }

    static func load(_ name: String) throws -> [Case] {
        let url = Paths.reference.appendingPathComponent(name)
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url)).cases
    }

    @Test(arguments: [("tokenize_smollm2.json", Paths.smollm2), ("tokenize_gemma3.json", Paths.gemma3)])
    func matchesLlamaCpp(reference: String, model: String) throws {
        let cases = try Self.load(reference)
        #expect(cases.count >= 30)
        let file = try GGUFFile(path: try Paths.model(model))
        let tokenizer = try Tokenizer(metadata: file.metadata)
        #expect(tokenizer.warnings.isEmpty)
        for c in cases {
            let bytes = Array(c.text.utf8)
            #expect(tokenizer.encode(bytes: bytes) == c.ids_special, "\(c.text.debugDescription) special")
            #expect(tokenizer.encode(bytes: bytes, parseSpecial: false) == c.ids_nospecial, "\(c.text.debugDescription) nospecial")
            #expect(tokenizer.encode(bytes: bytes, addBOS: false) == c.ids_special_nobos, "\(c.text.debugDescription) special nobos")
            #expect(tokenizer.encode(bytes: bytes, addBOS: false, parseSpecial: false) == c.ids_nospecial_nobos, "\(c.text.debugDescription) nospecial nobos")
        }
    }

    /// Decoding the ids of each case gives its text back (the cases hold no text the vocabularies drop).
    @Test(arguments: [("tokenize_smollm2.json", Paths.smollm2), ("tokenize_gemma3.json", Paths.gemma3)])
    func decodeRoundTrips(reference: String, model: String) throws {
        let tokenizer = try Tokenizer(metadata: GGUFFile(path: try Paths.model(model)).metadata)
        for c in try Self.load(reference) {
            #expect(tokenizer.decode(c.ids_nospecial_nobos) == c.text, "\(c.text.debugDescription)")
            var stream = tokenizer.makeStreamingDecoder()
            var text = ""
            for id in c.ids_nospecial_nobos {
                let piece = stream.append(id)
                #expect(!piece.unicodeScalars.contains("\u{FFFD}") || c.text.unicodeScalars.contains("\u{FFFD}"))
                text += piece
            }
            text += stream.flush()
            #expect(text == c.text)
        }
    }
}

enum Paths {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = packageRoot.appendingPathComponent("Fixtures")
    static var reference: URL {
        if let dir = ProcessInfo.processInfo.environment["SWIFTLET_REFERENCE"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/reference")
    }
    static let smollm2 = "SmolLM2-135M-Instruct.Q4_1.gguf"
    static let gemma3 = "gemma-3-270m-q4_k_m.gguf"

    static func model(_ name: String) throws -> String {
        let dir = ProcessInfo.processInfo.environment["SWIFTLET_MODELS"].flatMap { $0.isEmpty ? nil : $0 }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/swiftlet/models").path
        let path = dir + "/" + name
        guard FileManager.default.fileExists(atPath: path) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "model \(path) is missing: run Scripts/fetch-models.sh"])
        }
        return path
    }
}
