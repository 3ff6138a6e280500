import Foundation
import Testing
import SwiftletTestSupport
import SwiftletGGUF

/// Replays the GGUF fuzzer's committed corpus (Fuzz/Corpus/gguf, inputs that found new code paths and
/// every input that once broke the reader) through the calls the fuzzer makes, so that the tests catch
/// a regression without running libFuzzer: each file is rejected with a GGUFError or read in full, quickly.
struct FuzzCorpusTests {
    static let folder = TestPaths.packageRoot.appendingPathComponent("Fuzz/Corpus/gguf")

    static func files() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    @Test func corpusReplaysWithoutCrashOrDelay() throws {
        let files = try Self.files()
        #expect(files.count >= 30)
        var accepted = 0
        for url in files {
            let bytes = try Data(contentsOf: url)
            let start = ContinuousClock.now
            if let file = try? GGUFFile(bytes: bytes) {
                accepted += 1
                Self.readEverything(file)
            }
            let elapsed = ContinuousClock.now - start
            #expect(elapsed < .seconds(2), "\(url.lastPathComponent) took \(elapsed)")
        }
        // The small valid file and at least one found by the fuzzer parse.
        #expect(accepted >= 1)
    }

    /// What the fuzzer reads of an accepted file: every metadata value through every accessor, every
    /// tensor info and its bytes.
    static func readEverything(_ file: GGUFFile) {
        for (_, value) in file.metadata.entries { visit(value) }
        _ = file.metadata[hyperparameter: "block_count"]?.int
        for info in file.tensors {
            _ = (info.rowLength, info.rowCount, info.bytesPerRow)
            #expect(file.tensor(named: info.name) == info)
            let view = try? file.tensorData(named: info.name)
            #expect(view?.count == info.byteCount)
        }
        _ = (file.parameterCount, file.tensorBytes)
        #expect(throws: GGUFError.missingTensor("no such tensor")) { try file.tensorData(named: "no such tensor") }
    }

    static func visit(_ value: GGUFValue) {
        _ = (value.type.name, value.int, value.double, value.float, value.bool, value.string)
        if let typed = value.typedArray {
            _ = (typed.count, typed.elementType, typed.strings, typed.floats, typed.ints)
        }
        for element in value.array ?? [] { visit(element) }
    }
}
