import Foundation
import Testing
import SwiftletTestSupport
import SwiftletGGUF

/// The two real models (Scripts/fetch-models.sh) open, with the structure llama.cpp reports.
struct RealModelTests {
    @Test func smollm2() throws {
        let file = try GGUFFile(path: try TestPaths.model(TestPaths.smollm2))
        #expect(file.metadata.architecture == "llama")
        #expect(file.tensors.count == 272)
        #expect(file.metadata[hyperparameter: "block_count"]?.int == 30)
        #expect(file.metadata["tokenizer.ggml.tokens"]?.typedArray?.count == 49152)
        #expect(file.tensor(named: "token_embd.weight")?.type == .q8_0)
        #expect(file.tensor(named: "blk.0.attn_q.weight")?.type == .q4_1)
        #expect(file.tensor(named: "blk.0.ffn_up.weight")?.shape == [576, 1536])
    }

    @Test func gemma3() throws {
        let file = try GGUFFile(path: try TestPaths.model(TestPaths.gemma3))
        #expect(file.metadata.architecture == "gemma3")
        #expect(file.tensors.count == 236)
        #expect(file.metadata["tokenizer.ggml.tokens"]?.typedArray?.count == 262144)
        #expect(Set(file.tensors.map(\.type)) == [.f32, .q5_0, .q8_0, .q4_K, .q6_K])
    }

    /// Opening must not read the tensor data: the process's resident memory grows by far less than the
    /// file's size. (Untouched pages of a mapping are not resident; a copy or a read would make them so.)
    @Test func openingDoesNotTouchTensorData() throws {
        let path = try TestPaths.model(TestPaths.gemma3)
        let before = try Self.residentBytes()
        let file = try GGUFFile(path: path)
        let after = try Self.residentBytes()
        #expect(file.tensorBytes > 240_000_000)
        #expect(after - before < 100_000_000, "opening grew resident memory by \(after - before) bytes")
        withExtendedLifetime(file) {}
    }

    static func residentBytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        let kb = try #require(Int(line.split(separator: " ").dropFirst().first ?? ""))
        return kb * 1024
    }
}
