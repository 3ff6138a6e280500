/// A safetensors element type (the header's `dtype` strings).
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case f64 = "F64"
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case f8e4m3 = "F8_E4M3"
    case f8e5m2 = "F8_E5M2"
    case i64 = "I64"
    case i32 = "I32"
    case i16 = "I16"
    case i8 = "I8"
    case u64 = "U64"
    case u32 = "U32"
    case u16 = "U16"
    case u8 = "U8"
    case bool = "BOOL"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f64, .i64, .u64: 8
        case .f32, .i32, .u32: 4
        case .f16, .bf16, .i16, .u16: 2
        case .f8e4m3, .f8e5m2, .i8, .u8, .bool: 1
        }
    }
}

/// One tensor of a safetensors file: its name, type, shape and where its bytes are in the data section.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: SafetensorsDType
    /// Dimensions as the header lists them, outermost first (PyTorch order; GGUF lists them reversed).
    public let shape: [Int]
    /// Byte range within the data section (after the header).
    public let dataRange: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A safetensors file (Hugging Face's weight format), memory-mapped and checked on opening.
///
/// The layout: an 8-byte little-endian header length N, N bytes of JSON mapping each tensor name to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the data after the header) and an
/// optional `"__metadata__"` string map, then the little-endian tensor data. Opening checks that every
/// tensor's offsets lie in the data, that its span is exactly shape × dtype size, and that no two spans overlap.
public final class SafetensorsFile: Sendable {
    /// Tensors in data order.
    public let tensors: [SafetensorsTensorInfo]
    /// The header's `__metadata__` entries.
    public let metadata: [String: String]
    public let storage: MappedFile
    /// Where the data section starts in the file (8 + header length).
    public let dataOffset: Int
    private let index: [String: Int]

    /// The largest header accepted, as the reference implementation's limit.
    public static let maxHeaderLength = 100_000_000

    /// Maps and checks the file at `path`.
    public convenience init(path: String) throws(SafetensorsError) {
        let storage: MappedFile
        do {
            storage = try MappedFile(path: path)
        } catch {
            if case .cannotOpen(let p, let reason) = error { throw .cannotOpen(path: p, reason: reason) }
            throw .cannotOpen(path: path, reason: error.description)
        }
        try self.init(storage: storage)
    }

    /// Checks in-memory content (tests).
    public convenience init(bytes: some Collection<UInt8>) throws(SafetensorsError) {
        try self.init(storage: MappedFile(copying: bytes))
    }

    public init(storage: MappedFile) throws(SafetensorsError) {
        self.storage = storage
        let bytes = storage.bytes
        guard bytes.count >= 8 else { throw .truncated(fileSize: bytes.count, needed: 8, what: "the header length") }
        var length: UInt64 = 0
        for k in 0..<8 { length |= UInt64(bytes[k]) << (8 * UInt64(k)) }
        guard length <= UInt64(Self.maxHeaderLength) else { throw .headerTooLarge(length: length) }
        let n = Int(length)
        guard bytes.count >= 8 + n else {
            throw .truncated(fileSize: bytes.count, needed: 8 + n, what: "the \(n)-byte header")
        }
        dataOffset = 8 + n
        let dataSize = bytes.count - dataOffset
        let json = try PlainJSON.parse(UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + n)]))
        guard case .object(let entries) = json else { throw .invalidHeader("the header is not a JSON object") }

        var metadata: [String: String] = [:]
        var infos: [SafetensorsTensorInfo] = []
        var index: [String: Int] = [:]
        for (name, entry) in entries {
            if name == "__metadata__" {
                guard case .object(let m) = entry else { throw .invalidHeader("__metadata__ is not an object") }
                for (k, v) in m {
                    guard case .string(let s) = v else {
                        throw .invalidHeader("__metadata__ \"\(k)\" is not a string")
                    }
                    metadata[k] = s
                }
                continue
            }
            guard index[name] == nil else { throw .duplicateTensor(name) }
            let info = try Self.tensorInfo(name: name, entry: entry, dataSize: dataSize)
            index[name] = infos.count
            infos.append(info)
        }
        infos.sort {
            $0.dataRange.lowerBound != $1.dataRange.lowerBound
                ? $0.dataRange.lowerBound < $1.dataRange.lowerBound
                : $0.dataRange.upperBound < $1.dataRange.upperBound
        }
        for k in infos.indices.dropFirst() where infos[k].dataRange.lowerBound < infos[k - 1].dataRange.upperBound {
            // Empty tensors occupy no bytes and overlap nothing.
            if infos[k].dataRange.isEmpty || infos[k - 1].dataRange.isEmpty { continue }
            throw .tensorsOverlap(infos[k - 1].name, infos[k].name)
        }
        self.tensors = infos
        self.metadata = metadata
        self.index = Dictionary(uniqueKeysWithValues: infos.enumerated().map { ($1.name, $0) })
    }

    private static func tensorInfo(
        name: String, entry: PlainJSON, dataSize: Int
    ) throws(SafetensorsError) -> SafetensorsTensorInfo {
        guard case .object(let fields) = entry else {
            throw .invalidTensorEntry(tensor: name, reason: "not an object")
        }
        func field(_ key: String) -> PlainJSON? { fields.first { $0.0 == key }?.1 }
        guard case .string(let dtypeName)? = field("dtype") else {
            throw .invalidTensorEntry(tensor: name, reason: "\"dtype\" is missing or not a string")
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw .unknownDType(tensor: name, dtype: dtypeName)
        }
        guard case .array(let dims)? = field("shape") else {
            throw .invalidTensorEntry(tensor: name, reason: "\"shape\" is missing or not an array")
        }
        var shape: [Int] = []
        var elements = 1
        for d in dims {
            guard let v = d.unsignedInteger, v <= UInt64(Int32.max) else {
                throw .invalidTensorEntry(tensor: name, reason: "shape entries must be non-negative integers")
            }
            shape.append(Int(v))
            let (product, overflow) = elements.multipliedReportingOverflow(by: Int(v))
            guard !overflow else { throw .invalidTensorEntry(tensor: name, reason: "shape \(shape) is too large") }
            elements = product
        }
        guard case .array(let offsets)? = field("data_offsets"), offsets.count == 2,
            let begin = offsets[0].unsignedInteger, let end = offsets[1].unsignedInteger
        else {
            throw .invalidTensorEntry(tensor: name, reason: "\"data_offsets\" must be [begin, end] integers")
        }
        guard begin <= end, end <= UInt64(dataSize) else {
            throw .offsetsOutOfRange(tensor: name, begin: begin, end: end, dataSize: dataSize)
        }
        let (expected, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        let span = Int(end - begin)
        guard !overflow, expected == span else {
            throw .sizeMismatch(
                tensor: name, shape: shape, dtype: dtype, expectedBytes: overflow ? Int.max : expected,
                spanBytes: span)
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, dataRange: Int(begin)..<Int(end))
    }

    public func tensor(named name: String) -> SafetensorsTensorInfo? { index[name].map { tensors[$0] } }

    /// The tensor's raw little-endian bytes, valid while this file is alive.
    public func data(_ info: SafetensorsTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(
            rebasing: storage.bytes[
                (dataOffset + info.dataRange.lowerBound)..<(dataOffset + info.dataRange.upperBound)])
    }

    /// The tensor's elements as Float (F32 as is, F16 and BF16 widened exactly).
    public func floats(_ info: SafetensorsTensorInfo) throws(SafetensorsError) -> [Float] {
        let raw = data(info)
        let n = info.elementCount
        switch info.dtype {
        case .f32:
            return [Float](unsafeUninitializedCapacity: n) { buf, count in
                for k in 0..<n {
                    buf[k] = Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self).littleEndian)
                }
                count = n
            }
        case .f16:
            return [Float](unsafeUninitializedCapacity: n) { buf, count in
                for k in 0..<n {
                    buf[k] = Float(
                        Float16(bitPattern: raw.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self).littleEndian))
                }
                count = n
            }
        case .bf16:
            return [Float](unsafeUninitializedCapacity: n) { buf, count in
                for k in 0..<n {
                    let bits = raw.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self).littleEndian
                    buf[k] = Float(bitPattern: UInt32(bits) << 16)
                }
                count = n
            }
        default:
            throw .notFloatingPoint(tensor: info.name, dtype: info.dtype)
        }
    }

    /// The named tensor's elements as Float.
    public func floats(named name: String) throws(SafetensorsError) -> [Float] {
        guard let info = tensor(named: name) else { throw .missingTensor(name) }
        return try floats(info)
    }
}
