/// Reads the structure of a GGUF file from its bytes, checking every count, length and offset against
/// the size of the file before it is used, so that no input can make the reader crash or allocate
/// memory in proportion to an untrusted number.
struct GGUFReader {
    /// Arrays inside arrays deeper than this are refused.
    static let maxNesting = 8
    static let maxDimensions = 4

    let bytes: UnsafeRawBufferPointer
    var offset = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func need(_ n: Int, _ what: String) throws(GGUFError) {
        guard n >= 0, n <= remaining else {
            throw .truncated(offset: offset, needed: n, fileSize: bytes.count, what: what)
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: String) throws(GGUFError) -> T {
        try need(MemoryLayout<T>.size, what)
        let v = T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return v
    }

    /// Reads an element count and checks that `count` elements of at least `minSize` bytes fit in what
    /// is left of the file.
    mutating func readCount(_ what: String, minSize: Int) throws(GGUFError) -> Int {
        let at = offset
        let raw = try read(UInt64.self, what)
        guard raw <= UInt64(remaining / max(minSize, 1)) else {
            throw .countTooLarge(what: what, count: raw, offset: at)
        }
        return Int(raw)
    }

    mutating func readString(_ what: String) throws(GGUFError) -> String {
        let at = offset
        let raw = try read(UInt64.self, "\(what) length")
        // A length beyond the whole file is a bogus count; one that merely runs past the end is truncation.
        guard raw <= UInt64(bytes.count) else { throw .countTooLarge(what: "\(what) length", count: raw, offset: at) }
        let length = Int(raw)
        try need(length, what)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
        guard let s = String(validating: slice, as: UTF8.self) else { throw .invalidUTF8(offset: at) }
        offset += length
        return s
    }

    mutating func readValueType() throws(GGUFError) -> GGUFValueType {
        let at = offset
        let raw = try read(UInt32.self, "value type")
        guard let t = GGUFValueType(rawValue: raw) else { throw .unknownValueType(raw, offset: at) }
        return t
    }

    mutating func readBool() throws(GGUFError) -> Bool {
        let at = offset
        let b = try read(UInt8.self, "bool")
        guard b <= 1 else { throw .invalidBool(b, offset: at) }
        return b == 1
    }

    mutating func readValue(_ type: GGUFValueType, depth: Int) throws(GGUFError) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try read(UInt8.self, "uint8 value"))
        case .int8: return .int8(try read(Int8.self, "int8 value"))
        case .uint16: return .uint16(try read(UInt16.self, "uint16 value"))
        case .int16: return .int16(try read(Int16.self, "int16 value"))
        case .uint32: return .uint32(try read(UInt32.self, "uint32 value"))
        case .int32: return .int32(try read(Int32.self, "int32 value"))
        case .uint64: return .uint64(try read(UInt64.self, "uint64 value"))
        case .int64: return .int64(try read(Int64.self, "int64 value"))
        case .float32: return .float32(Float(bitPattern: try read(UInt32.self, "float32 value")))
        case .float64: return .float64(Double(bitPattern: try read(UInt64.self, "float64 value")))
        case .bool: return .bool(try readBool())
        case .string: return .string(try readString("string"))
        case .array: return .array(try readArray(depth: depth + 1))
        }
    }

    mutating func readArray(depth: Int) throws(GGUFError) -> GGUFArray {
        guard depth <= GGUFReader.maxNesting else {
            throw .nestingTooDeep(offset: offset, limit: GGUFReader.maxNesting)
        }
        let type = try readValueType()
        let count = try readCount("array length", minSize: type.minimumSize)
        switch type {
        case .uint8: return .uint8(try readScalars(count))
        case .int8: return .int8(try readScalars(count))
        case .uint16: return .uint16(try readScalars(count))
        case .int16: return .int16(try readScalars(count))
        case .uint32: return .uint32(try readScalars(count))
        case .int32: return .int32(try readScalars(count))
        case .uint64: return .uint64(try readScalars(count))
        case .int64: return .int64(try readScalars(count))
        case .float32: return .float32((try readScalars(count) as [UInt32]).map(Float.init(bitPattern:)))
        case .float64: return .float64((try readScalars(count) as [UInt64]).map(Double.init(bitPattern:)))
        case .bool:
            var out = [Bool](); out.reserveCapacity(count)
            for _ in 0..<count { out.append(try readBool()) }
            return .bool(out)
        case .string:
            var out = [String](); out.reserveCapacity(count)
            for _ in 0..<count { out.append(try readString("string")) }
            return .string(out)
        case .array:
            var out = [GGUFArray](); out.reserveCapacity(count)
            for _ in 0..<count { out.append(try readArray(depth: depth + 1)) }
            return .array(out)
        }
    }

    /// Reads `count` little-endian integers; `count` was already checked against the file size.
    mutating func readScalars<T: FixedWidthInteger>(_ count: Int) throws(GGUFError) -> [T] {
        let size = count * MemoryLayout<T>.size
        try need(size, "array of \(count) \(T.self)")
        let start = offset
        let out = [T](unsafeUninitializedCapacity: count) { buf, n in
            for i in 0..<count {
                buf[i] = T(littleEndian: bytes.loadUnaligned(fromByteOffset: start + i * MemoryLayout<T>.size, as: T.self))
            }
            n = count
        }
        offset += size
        return out
    }
}
