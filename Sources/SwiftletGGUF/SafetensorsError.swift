/// Everything that can be wrong with a safetensors file; each message names the tensor or header byte at fault.
public enum SafetensorsError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    /// Shorter than the 8-byte header length, or than the header it announces.
    case truncated(fileSize: Int, needed: Int, what: String)
    /// The announced header length is larger than any header Swiftlet accepts (100 MB).
    case headerTooLarge(length: UInt64)
    case invalidHeaderJSON(offset: Int, reason: String)
    /// The header is JSON but not a safetensors header (not an object, an entry without dtype, …).
    case invalidHeader(String)
    case invalidTensorEntry(tensor: String, reason: String)
    case unknownDType(tensor: String, dtype: String)
    case duplicateTensor(String)
    case offsetsOutOfRange(tensor: String, begin: UInt64, end: UInt64, dataSize: Int)
    case sizeMismatch(tensor: String, shape: [Int], dtype: SafetensorsDType, expectedBytes: Int, spanBytes: Int)
    case tensorsOverlap(String, String)
    case missingTensor(String)
    /// The tensor's dtype cannot be read as floats.
    case notFloatingPoint(tensor: String, dtype: SafetensorsDType)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            "cannot open \(path): \(reason)"
        case .truncated(let size, let needed, let what):
            "truncated safetensors file: \(what) needs \(needed) bytes but the file has \(size)"
        case .headerTooLarge(let n):
            "invalid safetensors file: header length \(n) is larger than 100 MB"
        case .invalidHeaderJSON(let offset, let reason):
            "invalid safetensors header: bad JSON at header byte \(offset): \(reason)"
        case .invalidHeader(let reason):
            "invalid safetensors header: \(reason)"
        case .invalidTensorEntry(let t, let reason):
            "invalid safetensors header: tensor \"\(t)\": \(reason)"
        case .unknownDType(let t, let d):
            "invalid safetensors header: tensor \"\(t)\" has unknown dtype \"\(d)\""
        case .duplicateTensor(let t):
            "invalid safetensors header: tensor \"\(t)\" appears twice"
        case .offsetsOutOfRange(let t, let b, let e, let size):
            "invalid safetensors file: tensor \"\(t)\" data_offsets [\(b), \(e)] are outside the \(size)-byte data"
        case .sizeMismatch(let t, let shape, let dtype, let expected, let span):
            "invalid safetensors file: tensor \"\(t)\" of shape \(shape) and dtype \(dtype.rawValue) needs "
                + "\(expected) bytes but its data_offsets span \(span)"
        case .tensorsOverlap(let a, let b):
            "invalid safetensors file: the data of tensors \"\(a)\" and \"\(b)\" overlap"
        case .missingTensor(let t):
            "safetensors file has no tensor \"\(t)\""
        case .notFloatingPoint(let t, let d):
            "tensor \"\(t)\" has dtype \(d.rawValue), not F32, F16 or BF16"
        }
    }
}
