/// One tensor's entry in a GGUF file: its name, shape, element type and where its bytes are.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// Dimensions in ggml order: `shape[0]` is the contiguous (row) dimension.
    public let shape: [Int]
    public let type: GGMLType
    /// Offset of the tensor's bytes from the start of the data section.
    public let offset: Int
    /// Elements in the tensor: the product of `shape`.
    public let elementCount: Int
    /// Bytes of tensor data.
    public let byteCount: Int

    /// Builds a tensor info, checking that the shape fits the type and its size does not overflow.
    public init(name: String, shape: [Int], type: GGMLType, offset: Int) throws(GGUFError) {
        var elements = 1
        for d in shape {
            guard d >= 0 else { throw .invalidDimension(tensor: name, dimension: UInt64(bitPattern: Int64(d)), offset: 0) }
            let (p, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow else { throw .shapeOverflow(tensor: name, offset: 0) }
            elements = p
        }
        let first = shape.first ?? 1
        guard first % type.blockSize == 0 else {
            throw .notBlockMultiple(tensor: name, type: type, firstDimension: first)
        }
        guard let bytes = type.byteCount(elements: elements) else { throw .shapeOverflow(tensor: name, offset: 0) }
        self.name = name
        self.shape = shape
        self.type = type
        self.offset = offset
        self.elementCount = elements
        self.byteCount = bytes
    }

    /// Elements in one row (`shape[0]`).
    public var rowLength: Int { shape.first ?? 1 }
    /// Rows: all elements divided by the row length.
    public var rowCount: Int { rowLength == 0 ? 0 : elementCount / rowLength }
    /// Bytes of one row.
    public var bytesPerRow: Int { rowLength / type.blockSize * type.bytesPerBlock }
}
