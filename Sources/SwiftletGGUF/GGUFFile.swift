/// A GGUF file, opened and validated.
///
/// Opening reads the header, metadata and tensor infos and checks them all; the tensor data stays in
/// the read-only mapping and is never read or copied until a caller touches a tensor's bytes.
///
/// ```swift
/// let file = try GGUFFile(path: "model.gguf")
/// let layers = file.metadata[hyperparameter: "block_count"]?.int
/// let bytes = try file.tensorData(named: "token_embd.weight")
/// ```
public final class GGUFFile: Sendable {
    /// The four bytes every GGUF file starts with.
    public static let magic: [UInt8] = Array("GGUF".utf8)
    public static let defaultAlignment = 32

    public let version: UInt32
    public let metadata: GGUFMetadata
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    /// The alignment of tensor data: `general.alignment`, or 32.
    public let alignment: Int
    /// Byte offset of the data section in the file.
    public let dataOffset: Int
    /// The mapped file; tensor bytes are views into it.
    public let storage: MappedFile
    private let tensorIndex: [String: Int]

    /// Opens and validates the file at `path`, mapping it read-only.
    public convenience init(path: String) throws(GGUFError) {
        try self.init(storage: MappedFile(path: path))
    }

    /// Parses GGUF content held in memory.
    public convenience init(bytes: some Collection<UInt8>) throws(GGUFError) {
        try self.init(storage: MappedFile(copying: bytes))
    }

    public init(storage: MappedFile) throws(GGUFError) {
        self.storage = storage
        var r = GGUFReader(bytes: storage.bytes)

        try r.need(4, "magic")
        let magic = Array(storage.bytes[0..<4])
        guard magic == GGUFFile.magic else { throw .notGGUF(magic: magic) }
        r.offset = 4
        let version = try r.read(UInt32.self, "version")
        guard version == 2 || version == 3 else {
            let swapped = version.byteSwapped
            if swapped >= 1 && swapped <= 3 { throw .bigEndian(version: swapped) }
            throw .unsupportedVersion(version)
        }
        self.version = version

        // Smallest tensor info: name length (8), dimension count (4), type (4), offset (8).
        let tensorCount = try r.readCount("tensor count", minSize: 24)
        // Smallest key-value pair: key length (8), value type (4), a one-byte value.
        let kvCount = try r.readCount("metadata key-value count", minSize: 13)

        var metadata = GGUFMetadata()
        for _ in 0..<kvCount {
            let keyOffset = r.offset
            let key = try r.readString("metadata key")
            let type = try r.readValueType()
            let value = try r.readValue(type, depth: 0)
            guard !metadata.contains(key) else { throw .duplicateKey(key, offset: keyOffset) }
            metadata[key] = value
        }
        self.metadata = metadata

        let alignment: Int
        if let value = metadata["general.alignment"] {
            guard let a = value.int else {
                throw .invalidAlignment("has type \(value.type.name), expected an integer")
            }
            guard a > 0, a & (a - 1) == 0 else { throw .invalidAlignment("is \(a), not a positive power of two") }
            alignment = a
        } else {
            alignment = GGUFFile.defaultAlignment
        }
        self.alignment = alignment

        var rawInfos: [(info: GGUFTensorInfo, at: Int, rawOffset: UInt64)] = []
        rawInfos.reserveCapacity(tensorCount)
        var index: [String: Int] = [:]
        for i in 0..<tensorCount {
            let at = r.offset
            let name = try r.readString("tensor name")
            let dimsAt = r.offset
            let nDims = try r.read(UInt32.self, "tensor dimension count")
            guard nDims <= UInt32(GGUFReader.maxDimensions) else {
                throw .tooManyDimensions(tensor: name, count: nDims, offset: dimsAt)
            }
            var shape: [Int] = []
            for _ in 0..<Int(nDims) {
                let dAt = r.offset
                let d = try r.read(UInt64.self, "tensor dimension")
                guard d <= UInt64(Int64.max) else { throw .invalidDimension(tensor: name, dimension: d, offset: dAt) }
                shape.append(Int(d))
            }
            let typeAt = r.offset
            let rawType = try r.read(UInt32.self, "tensor type")
            guard let type = GGMLType(rawValue: rawType) else {
                throw .unknownTensorType(tensor: name, type: rawType, offset: typeAt)
            }
            let rawOffset = try r.read(UInt64.self, "tensor data offset")
            guard rawOffset % UInt64(alignment) == 0 else {
                throw .misalignedTensor(tensor: name, offset: rawOffset, alignment: alignment)
            }
            guard index[name] == nil else { throw .duplicateTensor(name, offset: at) }
            let info: GGUFTensorInfo
            do {
                info = try GGUFTensorInfo(
                    name: name, shape: shape, type: type, offset: Int(clamping: rawOffset))
            } catch {
                // Report shape errors at the tensor info's own offset.
                switch error {
                case .shapeOverflow: throw .shapeOverflow(tensor: name, offset: dimsAt)
                default: throw error
                }
            }
            index[name] = i
            rawInfos.append((info, at, rawOffset))
        }

        // The data section starts at the next multiple of the alignment after the tensor infos.
        let (padded, overflow) = r.offset.addingReportingOverflow(alignment - 1)
        let dataOffset = overflow ? Int.max : padded / alignment * alignment
        let dataSize = max(0, storage.bytes.count - dataOffset)
        if tensorCount > 0 && dataOffset > storage.bytes.count {
            throw .truncated(offset: r.offset, needed: dataOffset - r.offset, fileSize: storage.bytes.count, what: "alignment padding before the data section")
        }
        self.dataOffset = dataOffset

        for (info, _, rawOffset) in rawInfos {
            guard rawOffset <= UInt64(dataSize), info.byteCount <= dataSize - Int(rawOffset) else {
                throw .tensorOutOfBounds(tensor: info.name, start: rawOffset, byteCount: info.byteCount, dataSize: dataSize)
            }
        }
        let byStart = rawInfos.map(\.info).filter { $0.byteCount > 0 }.sorted { $0.offset < $1.offset }
        for (a, b) in zip(byStart, byStart.dropFirst()) where a.offset + a.byteCount > b.offset {
            throw .tensorsOverlap(a.name, b.name)
        }

        self.tensors = rawInfos.map(\.info)
        self.tensorIndex = index
    }

    /// The info of the tensor called `name`, if there is one.
    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// A zero-copy view of a tensor's bytes inside the mapping. Valid while this file is alive.
    public func tensorData(_ info: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: storage.bytes[(dataOffset + info.offset)..<(dataOffset + info.offset + info.byteCount)])
    }

    /// A zero-copy view of the bytes of the tensor called `name`.
    public func tensorData(named name: String) throws(GGUFError) -> UnsafeRawBufferPointer {
        guard let info = tensor(named: name) else { throw .missingTensor(name) }
        return tensorData(info)
    }

    /// Total elements over all tensors.
    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.elementCount } }
    /// Total bytes of tensor data.
    public var tensorBytes: Int { tensors.reduce(0) { $0 + $1.byteCount } }
}
