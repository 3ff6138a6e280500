/// Everything that can be wrong with a GGUF file. Each message names what was wrong and where: a byte
/// offset into the file, a key or a tensor name.
public enum GGUFError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case notGGUF(magic: [UInt8])
    case bigEndian(version: UInt32)
    case unsupportedVersion(UInt32)
    case truncated(offset: Int, needed: Int, fileSize: Int, what: String)
    case countTooLarge(what: String, count: UInt64, offset: Int)
    case invalidUTF8(offset: Int)
    case unknownValueType(UInt32, offset: Int)
    case invalidBool(UInt8, offset: Int)
    case nestingTooDeep(offset: Int, limit: Int)
    case duplicateKey(String, offset: Int)
    case invalidAlignment(String)
    case duplicateTensor(String, offset: Int)
    case tooManyDimensions(tensor: String, count: UInt32, offset: Int)
    case invalidDimension(tensor: String, dimension: UInt64, offset: Int)
    case shapeOverflow(tensor: String, offset: Int)
    case unknownTensorType(tensor: String, type: UInt32, offset: Int)
    case notBlockMultiple(tensor: String, type: GGMLType, firstDimension: Int)
    case misalignedTensor(tensor: String, offset: UInt64, alignment: Int)
    case tensorOutOfBounds(tensor: String, start: UInt64, byteCount: Int, dataSize: Int)
    case tensorsOverlap(String, String)
    case missingTensor(String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            "cannot open \(path): \(reason)"
        case .notGGUF(let magic):
            "not a GGUF file: magic bytes are \(magic.map { String($0, radix: 16) }) at offset 0, expected \"GGUF\""
        case .bigEndian(let version):
            "unsupported GGUF file: big-endian (version \(version) byte-swapped) at offset 4; only little-endian files are supported"
        case .unsupportedVersion(let v):
            "unsupported GGUF version \(v) at offset 4; versions 2 and 3 are supported"
        case .truncated(let offset, let needed, let size, let what):
            "truncated GGUF file: \(what) needs \(needed) bytes at offset \(offset) but the file has \(size) bytes"
        case .countTooLarge(let what, let count, let offset):
            "invalid GGUF file: \(what) \(count) at offset \(offset) is larger than the file could hold"
        case .invalidUTF8(let offset):
            "invalid GGUF file: string at offset \(offset) is not valid UTF-8"
        case .unknownValueType(let t, let offset):
            "invalid GGUF file: unknown metadata value type \(t) at offset \(offset)"
        case .invalidBool(let b, let offset):
            "invalid GGUF file: bool value \(b) at offset \(offset) is neither 0 nor 1"
        case .nestingTooDeep(let offset, let limit):
            "invalid GGUF file: arrays nested deeper than \(limit) levels at offset \(offset)"
        case .duplicateKey(let key, let offset):
            "invalid GGUF file: duplicate metadata key '\(key)' at offset \(offset)"
        case .invalidAlignment(let reason):
            "invalid GGUF file: general.alignment \(reason)"
        case .duplicateTensor(let name, let offset):
            "invalid GGUF file: duplicate tensor name '\(name)' at offset \(offset)"
        case .tooManyDimensions(let t, let n, let offset):
            "invalid GGUF file: tensor '\(t)' has \(n) dimensions at offset \(offset); at most 4 are allowed"
        case .invalidDimension(let t, let d, let offset):
            "invalid GGUF file: tensor '\(t)' has dimension \(d) at offset \(offset), out of range"
        case .shapeOverflow(let t, let offset):
            "invalid GGUF file: tensor '\(t)' at offset \(offset) has a shape whose size overflows"
        case .unknownTensorType(let t, let type, let offset):
            "invalid GGUF file: tensor '\(t)' has unknown ggml type \(type) at offset \(offset)"
        case .notBlockMultiple(let t, let type, let ne0):
            "invalid GGUF file: tensor '\(t)' of type \(type.name) has first dimension \(ne0), not a multiple of its block size \(type.blockSize)"
        case .misalignedTensor(let t, let offset, let alignment):
            "invalid GGUF file: tensor '\(t)' data offset \(offset) is not a multiple of the alignment \(alignment)"
        case .tensorOutOfBounds(let t, let start, let count, let dataSize):
            "invalid GGUF file: tensor '\(t)' data (\(count) bytes at data offset \(start)) runs past the end of the data section (\(dataSize) bytes)"
        case .tensorsOverlap(let a, let b):
            "invalid GGUF file: the data of tensors '\(a)' and '\(b)' overlap"
        case .missingTensor(let name):
            "no tensor named '\(name)' in the GGUF file"
        }
    }
}
