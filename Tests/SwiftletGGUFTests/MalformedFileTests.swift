import Foundation
import Testing
import SwiftletTestSupport
import SwiftletGGUF

/// Every file under Fixtures/malformed is broken in one way; each must give a GGUFError whose one-line
/// message contains the fragment listed in expected.tsv (Scripts/make-malformed-fixtures.py writes both).
struct MalformedFileTests {
    static let directory = TestPaths.fixtures.appendingPathComponent("malformed")

    static let cases: [(file: String, fragment: String)] = {
        guard let text = try? String(contentsOf: directory.appendingPathComponent("expected.tsv"), encoding: .utf8) else {
            return []
        }
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let parts = line.split(separator: "\t", maxSplits: 1)
            return (String(parts[0]), String(parts[1]))
        }
    }()

    @Test func manifestIsPresent() {
        #expect(Self.cases.count >= 30)
    }

    @Test(arguments: cases.map(\.file))
    func malformedFileIsATypedError(file: String) throws {
        let fragment = try #require(Self.cases.first { $0.file == file }?.fragment)
        let path = Self.directory.appendingPathComponent(file).path
        do {
            _ = try GGUFFile(path: path)
            Issue.record("\(file) was accepted")
        } catch {
            let message = error.description
            #expect(message.contains(fragment), "\(file): got \"\(message)\"")
            #expect(!message.contains("\n"))
        }
    }

    @Test func missingFileIsAnError() {
        #expect(throws: GGUFError.self) { try GGUFFile(path: "/nonexistent/model.gguf") }
    }

    @Test func directoryIsAnError() {
        #expect(throws: GGUFError.self) { try GGUFFile(path: TestPaths.fixtures.path) }
    }

    /// Every prefix of a valid file is either a valid file or an error: never a crash.
    @Test func everyTruncationOfAValidFileIsHandled() throws {
        var w = GGUFWriter()
        w.metadata["general.architecture"] = .string("llama")
        w.metadata["tokenizer.ggml.tokens"] = .array(.string(["a", "b", "<s>"]))
        w.metadata["nested"] = .array(.array([.uint8([1, 2]), .float32([1.5])]))
        try w.addTensor(name: "w", shape: [32, 2], floats: (0..<64).map(Float.init))
        let bytes = w.serialize()
        var accepted = 0
        for n in 0..<bytes.count {
            if (try? GGUFFile(bytes: bytes[0..<n])) != nil { accepted += 1 }
        }
        #expect(accepted == 0)
        #expect(throws: Never.self) { try GGUFFile(bytes: bytes) }
    }

    /// Random byte flips in a valid file never crash the reader.
    @Test func corruptedBytesNeverCrash() throws {
        let original = try Array(Data(contentsOf: TestPaths.fixtures.appendingPathComponent("tiny-llama-f16.gguf")))
        let headerEnd = try GGUFFile(bytes: original).dataOffset
        var state: UInt64 = 42
        for _ in 0..<300 {
            var bytes = original
            for _ in 0..<4 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let i = Int((state >> 33) % UInt64(headerEnd))
                bytes[i] = UInt8(truncatingIfNeeded: state >> 17)
            }
            _ = try? GGUFFile(bytes: bytes)
        }
    }
}
