import Foundation
import SwiftletGGUF
import Testing

/// Safetensors reading on small hand-made files, well-formed and broken.
@Suite struct SafetensorsTests {
    /// A file from a header text and data bytes.
    static func file(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
        let h = Array(header.utf8)
        var out: [UInt8] = []
        let n = declaredLength ?? UInt64(h.count)
        for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: n >> (8 * UInt64(k)))) }
        return out + h + data
    }

    static func le(_ floats: [Float]) -> [UInt8] {
        floats.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
    }
    static func le16(_ v: [UInt16]) -> [UInt8] { v.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) } }

    static func error(_ bytes: [UInt8]) -> SafetensorsError? {
        do {
            _ = try SafetensorsFile(bytes: bytes)
            return nil
        } catch { return error }
    }

    @Test func readsF32F16AndBF16() throws {
        let f32 = Self.le([1, -2.5, 3, 0.125])
        let f16 = Self.le16([Float16(1.5).bitPattern, Float16(-0.25).bitPattern])
        let bf16 = Self.le16([UInt16(Float(2).bitPattern >> 16), UInt16(Float(-6).bitPattern >> 16)])
        let header = """
            {"__metadata__":{"format":"pt"},"b":{"dtype":"F16","shape":[2],"data_offsets":[16,20]},\
            "a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},\
            "c":{"dtype":"BF16","shape":[1,2],"data_offsets":[20,24]}}
            """
        let f = try SafetensorsFile(bytes: Self.file(header: header, data: f32 + f16 + bf16))
        #expect(f.metadata == ["format": "pt"])
        #expect(f.tensors.map(\.name) == ["a", "b", "c"])
        #expect(f.tensor(named: "a")?.shape == [2, 2])
        #expect(try f.floats(named: "a") == [1, -2.5, 3, 0.125])
        #expect(try f.floats(named: "b") == [1.5, -0.25])
        #expect(try f.floats(named: "c") == [2, -6])
        #expect(throws: SafetensorsError.missingTensor("d")) { try f.floats(named: "d") }
    }

    @Test func readsOtherDTypesAsBytesAndEscapedNames() throws {
        let header =
            #"{"ids\u00e9\"x":{"dtype":"I64","shape":[1,2],"data_offsets":[0,16]},"#
            + #""e":{"dtype":"F32","shape":[0],"data_offsets":[16,16]}}"#
        let f = try SafetensorsFile(bytes: Self.file(header: header, data: [UInt8](repeating: 7, count: 16)))
        let t = try #require(f.tensor(named: "idsé\"x"))
        #expect(t.dtype == .i64 && f.data(t).count == 16)
        #expect(throws: SafetensorsError.notFloatingPoint(tensor: "idsé\"x", dtype: .i64)) { try f.floats(t) }
        #expect(try f.floats(named: "e") == [])
    }

    @Test func readsAFileFromDisk() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-\(UUID()).safetensors")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let bytes = Self.file(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: Self.le([42]))
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(try SafetensorsFile(path: path).floats(named: "w") == [42])
        #expect(throws: SafetensorsError.self) { try SafetensorsFile(path: path + ".missing") }
    }

    @Test func malformedFilesAreTypedErrors() {
        let ok = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        // Truncated: no length, a header longer than the file, a header length beyond the limit.
        #expect(Self.error([1, 2, 3]) == .truncated(fileSize: 3, needed: 8, what: "the header length"))
        if case .truncated? = Self.error(Self.file(header: ok, declaredLength: 500)) {
        } else {
            Issue.record("truncated")
        }
        #expect(Self.error(Self.file(header: ok, declaredLength: 1 << 40)) == .headerTooLarge(length: 1 << 40))
        // Bad JSON.
        for bad in [#"{"w":"#, #"{"w":{"dtype":"F32",}}"#, "not json", #"{"w":{"dtype":"F32"}} x"#, "{\"a\u{1}\":1}"]
        {
            if case .invalidHeaderJSON? = Self.error(Self.file(header: bad)) {
            } else {
                Issue.record("accepted \(bad)")
            }
        }
        #expect(Self.error(Self.file(header: "[1]")) == .invalidHeader("the header is not a JSON object"))
        // Entries.
        #expect(
            Self.error(
                Self.file(
                    header: #"{"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}}"#,
                    data: .init(repeating: 0, count: 8)))
                == .unknownDType(tensor: "w", dtype: "Q4"))
        if case .invalidTensorEntry(let t, _)? = Self.error(
            Self.file(header: #"{"w":{"shape":[2],"data_offsets":[0,8]}}"#))
        {
            #expect(t == "w")
        } else {
            Issue.record("missing dtype")
        }
        if case .invalidTensorEntry? = Self.error(
            Self.file(header: #"{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#))
        {
        } else {
            Issue.record("negative dimension")
        }
        if case .invalidTensorEntry? = Self.error(
            Self.file(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#))
        {
        } else {
            Issue.record("one offset")
        }
        #expect(
            Self.error(Self.file(header: ok, data: .init(repeating: 0, count: 4)))
                == .offsetsOutOfRange(tensor: "w", begin: 0, end: 8, dataSize: 4))
        #expect(
            Self.error(
                Self.file(
                    header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#,
                    data: .init(repeating: 0, count: 8)))
                == .offsetsOutOfRange(tensor: "w", begin: 8, end: 0, dataSize: 8))
        #expect(
            Self.error(
                Self.file(
                    header: #"{"w":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}}"#,
                    data: .init(repeating: 0, count: 8)))
                == .sizeMismatch(tensor: "w", shape: [3], dtype: .f16, expectedBytes: 6, spanBytes: 8))
        let overlapping =
            #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
            + #""b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        #expect(
            Self.error(Self.file(header: overlapping, data: .init(repeating: 0, count: 12)))
                == .tensorsOverlap("a", "b"))
        let twice =
            #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"#
            + #""a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#
        #expect(Self.error(Self.file(header: twice, data: [1, 2])) == .duplicateTensor("a"))
        #expect(
            Self.error(Self.file(header: #"{"__metadata__":{"k":1}}"#))
                == .invalidHeader("__metadata__ \"k\" is not a string"))
        // Every message names what is wrong.
        #expect(SafetensorsError.tensorsOverlap("a", "b").description.contains("overlap"))
    }
}
