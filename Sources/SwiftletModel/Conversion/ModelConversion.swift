import Foundation
import SwiftletGGUF
import SwiftletKernels

/// Converts a Hugging Face model folder (safetensors weights, `config.json`, tokenizer files) to a GGUF file
/// as llama.cpp's `convert_hf_to_gguf.py` does: the same metadata keys and tensor names, vectors and norms in
/// F32 and 2-D weights in the requested type.
public enum ModelConversion {
    /// The architectures that can be converted.
    public static let mappings: [any ConversionMapping.Type] = [BertConversion.self]

    /// The output types and their `general.file_type` (llama.cpp's `LLAMA_FTYPE_ALL_F32`, `MOSTLY_F16`, `MOSTLY_Q8_0`).
    public static let fileTypes: [GGMLType: Int] = [.f32: 0, .f16: 1, .q8_0: 7]

    /// What a conversion wrote.
    public struct Summary: Sendable {
        public let architecture: String
        public let tensorCount: Int
        public let warnings: [String]
    }

    /// Converts the folder at `folder` and writes `output`. The file appears only when complete: it is
    /// written under a temporary name next to it and renamed; on any error nothing is left behind.
    @discardableResult
    public static func convert(folder: String, to output: String, type: GGMLType) throws(ConversionError) -> Summary {
        let model = try ModelFolder(path: folder)
        let (writer, summary) = try gguf(folder: model, type: type)
        let temporary = output + ".partial-\(getpid())"
        do {
            try writer.write(to: temporary)
        } catch {
            unlink(temporary)
            throw .writeFailed(path: output, reason: error.description)
        }
        guard rename(temporary, output) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .writeFailed(path: output, reason: reason)
        }
        return summary
    }

    /// The GGUF content of a folder, in memory.
    public static func gguf(folder: ModelFolder, type: GGMLType) throws(ConversionError) -> (GGUFWriter, Summary) {
        guard let fileType = fileTypes[type] else { throw .unsupportedType(type.name) }
        var names: [String] = []
        if let a = folder.config["architectures"]?.array { names = a.compactMap(\.string) }
        guard let mappingType = mappings.first(where: { m in names.contains { m.architectures.contains($0) } }) else {
            throw .unsupportedArchitecture(names, supported: mappings.flatMap { $0.architectures })
        }
        let mapping = try mappingType.init(folder: folder)
        var metadata = GGUFMetadata()
        metadata["general.architecture"] = .string(mapping.architecture)
        metadata["general.type"] = .string("model")
        metadata["general.name"] = .string(URL(fileURLWithPath: folder.path).standardized.lastPathComponent)
        for (k, v) in try mapping.metadata(fileType: fileType) { metadata[k] = v }
        var writer = GGUFWriter(metadata: metadata)

        // Every expected tensor is present with its shape; every folder tensor maps or is left out on purpose.
        var source: [String: String] = [:]
        for name in folder.tensorNames {
            guard let g = try mapping.ggufName(name) else { continue }
            source[g] = name
        }
        let expected = mapping.expectedTensors()
        for (g, shape) in expected {
            guard let name = source[g], let info = folder.tensorInfo(name) else { throw .missingTensor(g) }
            guard info.shape == shape else { throw .tensorShape(name: name, expected: shape, actual: info.shape) }
        }
        let expectedNames = Set(expected.map(\.name))
        for (g, name) in source where !expectedNames.contains(g) { throw .unexpectedTensor(name) }

        // In the folder's (sorted) order, as the Python converter walks the safetensors keys.
        for name in folder.tensorNames {
            guard let g = try mapping.ggufName(name), let info = folder.tensorInfo(name) else { continue }
            let floats = try folder.floats(name)
            let shape = Array(info.shape.reversed())  // GGUF lists the innermost dimension first
            var target = type
            if shape.count <= 1 || g.hasSuffix("_norm.weight") || !g.hasSuffix(".weight") || mapping.keepsF32(g) {
                target = .f32
            } else if target == .q8_0 && shape[0] % GGMLType.q8_0.blockSize != 0 {
                target = .f16  // llama.cpp's converter falls back to F16 for rows that are not whole blocks
            }
            let data = try encode(floats, rowLength: shape.first ?? 1, as: target, name: g)
            do { try writer.addTensor(name: g, shape: shape, type: target, data: data) } catch {
                throw .writeFailed(path: g, reason: error.description)
            }
        }
        return (
            writer,
            Summary(architecture: mapping.architecture, tensorCount: expected.count, warnings: mapping.warnings)
        )
    }

    /// Row-by-row F32 bytes, or F16 / Q8_0 with ggml's reference rounding (``quantizeRow(_:_:_:count:)``).
    static func encode(_ floats: [Float], rowLength: Int, as type: GGMLType, name: String) throws(ConversionError)
        -> [UInt8]
    {
        if type == .f32 {
            var out = [UInt8](repeating: 0, count: floats.count * 4)
            out.withUnsafeMutableBytes { o in
                for (k, f) in floats.enumerated() {
                    o.storeBytes(of: f.bitPattern.littleEndian, toByteOffset: 4 * k, as: UInt32.self)
                }
            }
            return out
        }
        guard rowLength > 0, floats.count % rowLength == 0, let rowBytes = type.byteCount(elements: rowLength) else {
            throw .writeFailed(path: name, reason: "rows of \(rowLength) values are not whole \(type.name) blocks")
        }
        let rows = floats.count / rowLength
        var out = [UInt8](repeating: 0, count: rows * rowBytes)
        var failure: String?
        floats.withUnsafeBufferPointer { f in
            out.withUnsafeMutableBytes { o in
                for r in 0..<rows {
                    do {
                        try quantizeRow(
                            type, f.baseAddress! + r * rowLength, o.baseAddress! + r * rowBytes, count: rowLength)
                    } catch {
                        failure = "\(error)"
                        return
                    }
                }
            }
        }
        if let e = failure { throw .writeFailed(path: name, reason: e) }
        return out
    }
}
