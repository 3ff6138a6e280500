import Foundation
import Testing
import SwiftletTestSupport
import SwiftletGGUF

struct RoundTripTests {
    @Test(arguments: ["tiny-llama-f32.gguf", "tiny-llama-f16.gguf", "tiny-llama-q8_0.gguf", "tiny-llama-q4_0.gguf", "tiny-llama-q4_1.gguf"])
    func fixtureRoundTripIsByteIdentical(name: String) throws {
        let url = TestPaths.fixtures.appendingPathComponent(name)
        let original = try Array(Data(contentsOf: url))
        let file = try GGUFFile(path: url.path)
        let rewritten = try GGUFWriter(copying: file).serialize()
        #expect(rewritten == original)
    }

    @Test func everyValueTypeRoundTrips() throws {
        var w = GGUFWriter(version: 2)
        let values: [(String, GGUFValue)] = [
            ("u8", .uint8(200)), ("i8", .int8(-5)), ("u16", .uint16(65000)), ("i16", .int16(-300)),
            ("u32", .uint32(4_000_000_000)), ("i32", .int32(-7)), ("u64", .uint64(.max)), ("i64", .int64(.min)),
            ("f32", .float32(1.25)), ("f64", .float64(-2.5e300)), ("b", .bool(true)), ("s", .string("héllo ✓")),
            ("strings", .array(.string(["", "a", "日本"]))), ("empty", .array(.int32([]))),
            ("nested", .array(.array([.string(["x"]), .array([.bool([false, true])])]))),
            ("general.alignment", .uint32(64)),
        ]
        for (k, v) in values { w.metadata[k] = v }
        try w.addTensor(name: "a", shape: [3], floats: [1, 2, 3])
        try w.addTensor(name: "b", shape: [32, 2], type: .q8_0, data: [UInt8](repeating: 7, count: 68))
        let bytes = w.serialize()
        let file = try GGUFFile(bytes: bytes)
        #expect(file.version == 2)
        #expect(file.alignment == 64)
        #expect(file.dataOffset % 64 == 0)
        for (k, v) in values { #expect(file.metadata[k] == v, "\(k)") }
        #expect(file.metadata.keys == values.map(\.0))
        #expect(file.tensors.map(\.name) == ["a", "b"])
        #expect(file.tensors[1].offset == 64)
        #expect(Array(try file.tensorData(named: "b")) == [UInt8](repeating: 7, count: 68))
        #expect(try GGUFWriter(copying: file).serialize() == bytes)
    }

    @Test func typedAccessors() throws {
        let file = try GGUFFile(path: TestPaths.fixtures.appendingPathComponent("tiny-llama-f32.gguf").path)
        #expect(file.metadata.architecture == "llama")
        #expect(file.metadata[hyperparameter: "block_count"]?.int == 2)
        #expect(file.metadata[hyperparameter: "rope.freq_base"]?.float == 10000)
        #expect(file.metadata["tokenizer.ggml.tokens"]?.typedArray?.strings?.first == "<|endoftext|>")
        #expect(file.metadata["tokenizer.ggml.add_bos_token"]?.bool == false)
        #expect(file.metadata["general.name"]?.int == nil)
        let embd = try #require(file.tensor(named: "token_embd.weight"))
        #expect(embd.shape == [64, 271])
        #expect(embd.type == .f32)
        #expect(embd.rowLength == 64 && embd.rowCount == 271 && embd.bytesPerRow == 256)
        #expect(try file.tensorData(named: "token_embd.weight").count == 64 * 271 * 4)
        #expect(throws: GGUFError.missingTensor("nope")) { try file.tensorData(named: "nope") }
    }

    @Test func typeTable() {
        #expect(GGMLType.q4_K.blockSize == 256 && GGMLType.q4_K.bytesPerBlock == 144)
        #expect(GGMLType(name: "q6_k") == .q6_K)
        #expect(GGMLType.q8_0.byteCount(elements: 64) == 68)
        #expect(GGMLType.q8_0.byteCount(elements: 65) == nil)
        #expect(Set(GGMLType.allCases.map(\.name)).count == GGMLType.allCases.count)
    }
}
