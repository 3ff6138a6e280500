import SwiftletGGUF

/// Why a Hugging Face model folder could not be converted to GGUF.
public enum ConversionError: Error, Sendable, Equatable, CustomStringConvertible {
    case notADirectory(String)
    case missingFile(String)
    case invalidJSON(file: String, reason: String)
    /// A config or tokenizer value is missing or has the wrong kind.
    case invalidConfig(file: String, key: String, reason: String)
    /// `config.json`'s `architectures` names no architecture a mapping handles.
    case unsupportedArchitecture([String], supported: [String])
    case unsupportedType(String)
    case safetensors(file: String, SafetensorsError)
    case missingTensor(String)
    /// A tensor the mapping does not know (llama.cpp's converter stops on these too).
    case unexpectedTensor(String)
    case tensorShape(name: String, expected: [Int], actual: [Int])
    case tokenizer(String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .notADirectory(let p): "\(p) is not a model folder"
        case .missingFile(let p): "the model folder has no \(p)"
        case .invalidJSON(let f, let r): "\(f) is not valid JSON: \(r)"
        case .invalidConfig(let f, let k, let r): "\(f): \(k) \(r)"
        case .unsupportedArchitecture(let a, let s):
            "unsupported architecture \(a.isEmpty ? "(config.json names none)" : a.joined(separator: ", ")) "
                + "(supported: \(s.joined(separator: ", ")))"
        case .unsupportedType(let t): "unsupported output type '\(t)' (expected F32, F16 or Q8_0)"
        case .safetensors(let f, let e): "\(f): \(e)"
        case .missingTensor(let n): "the model has no tensor \(n)"
        case .unexpectedTensor(let n): "cannot map tensor \(n)"
        case .tensorShape(let n, let e, let a): "tensor \(n) has shape \(a), expected \(e)"
        case .tokenizer(let r): "tokenizer: \(r)"
        case .writeFailed(let p, let r): "cannot write \(p): \(r)"
        }
    }
}
