#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes GGUF files: metadata and tensors, each tensor's data aligned as the specification says.
///
/// Tensors are laid out in the order they are added, each at the next multiple of the alignment
/// (`general.alignment` when the metadata sets it, else 32), and padding is zero bytes, as llama.cpp and
/// Python's `gguf` write them. Writing what ``GGUFFile`` read gives the same bytes back.
public struct GGUFWriter: Sendable {
    public var version: UInt32
    public var metadata: GGUFMetadata
    private var tensorInfos: [(name: String, shape: [Int], type: GGMLType)] = []
    private var tensorBytes: [[UInt8]] = []

    public init(version: UInt32 = 3, metadata: GGUFMetadata = GGUFMetadata()) {
        self.version = version
        self.metadata = metadata
    }

    /// A writer holding everything in `file`, to write back (possibly after changes).
    public init(copying file: GGUFFile) throws(GGUFError) {
        self.init(version: file.version, metadata: file.metadata)
        for t in file.tensors {
            try addTensor(name: t.name, shape: t.shape, type: t.type, data: file.tensorData(t))
        }
    }

    public var alignment: Int { metadata["general.alignment"]?.int ?? GGUFFile.defaultAlignment }

    /// Adds a tensor; `data` must hold exactly the bytes its shape and type take.
    public mutating func addTensor(
        name: String, shape: [Int], type: GGMLType, data: some Collection<UInt8>
    ) throws(GGUFError) {
        guard !tensorInfos.contains(where: { $0.name == name }) else { throw .duplicateTensor(name, offset: 0) }
        let info = try GGUFTensorInfo(name: name, shape: shape, type: type, offset: 0)
        guard data.count == info.byteCount else {
            throw .tensorOutOfBounds(tensor: name, start: 0, byteCount: info.byteCount, dataSize: data.count)
        }
        tensorInfos.append((name, shape, type))
        tensorBytes.append(Array(data))
    }

    /// Adds an F32 tensor.
    public mutating func addTensor(name: String, shape: [Int], floats: [Float]) throws(GGUFError) {
        var bytes = [UInt8](); bytes.reserveCapacity(floats.count * 4)
        for f in floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        try addTensor(name: name, shape: shape, type: .f32, data: bytes)
    }

    /// The file's bytes.
    public func serialize() -> [UInt8] {
        var out = ByteSink()
        out.bytes.append(contentsOf: GGUFFile.magic)
        out.put(version)
        out.put(UInt64(tensorInfos.count))
        out.put(UInt64(metadata.count))
        for (key, value) in metadata.entries {
            out.putString(key)
            out.put(value.type.rawValue)
            out.putValue(value)
        }
        let alignment = self.alignment
        var offset = 0
        var offsets: [Int] = []
        for (i, t) in tensorInfos.enumerated() {
            offsets.append(offset)
            offset = GGUFWriter.align(offset + tensorBytes[i].count, alignment)
            out.putString(t.name)
            out.put(UInt32(t.shape.count))
            for d in t.shape { out.put(UInt64(d)) }
            out.put(t.type.rawValue)
            out.put(UInt64(offsets[i]))
        }
        if !tensorInfos.isEmpty {
            out.pad(to: alignment)
            let start = out.bytes.count
            for (i, data) in tensorBytes.enumerated() {
                out.bytes.append(contentsOf: repeatElement(0, count: start + offsets[i] - out.bytes.count))
                out.bytes.append(contentsOf: data)
            }
            out.pad(to: alignment)
        }
        return out.bytes
    }

    /// Writes the file to `path`, replacing it.
    public func write(to path: String) throws(GGUFError) {
        let bytes = serialize()
        guard let f = fopen(path, "wb") else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { fclose(f) }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
        guard written == bytes.count else { throw .cannotOpen(path: path, reason: "short write") }
    }

    static func align(_ n: Int, _ a: Int) -> Int { (n + a - 1) / a * a }
}

/// Little-endian byte output.
private struct ByteSink {
    var bytes: [UInt8] = []

    mutating func put<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func putString(_ s: String) {
        let utf8 = Array(s.utf8)
        put(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    mutating func pad(to alignment: Int) {
        bytes.append(contentsOf: repeatElement(0, count: GGUFWriter.align(bytes.count, alignment) - bytes.count))
    }

    mutating func putValue(_ v: GGUFValue) {
        switch v {
        case .uint8(let x): put(x)
        case .int8(let x): put(x)
        case .uint16(let x): put(x)
        case .int16(let x): put(x)
        case .uint32(let x): put(x)
        case .int32(let x): put(x)
        case .uint64(let x): put(x)
        case .int64(let x): put(x)
        case .float32(let x): put(x.bitPattern)
        case .float64(let x): put(x.bitPattern)
        case .bool(let x): put(UInt8(x ? 1 : 0))
        case .string(let s): putString(s)
        case .array(let a): putArray(a)
        }
    }

    mutating func putArray(_ a: GGUFArray) {
        put(a.elementType.rawValue)
        put(UInt64(a.count))
        switch a {
        case .array(let inner): for x in inner { putArray(x) }
        default: for x in a.values { putValue(x) }
        }
    }
}
