import Foundation
import SwiftletGGUF

public enum KernelError: Error, Sendable, CustomStringConvertible {
    case unsupportedType(GGMLType)
    case shapeMismatch(String)
    public var description: String {
        switch self {
        case .unsupportedType(let t): "unsupported tensor type \(t.name)"
        case .shapeMismatch(let s): "shape mismatch: \(s)"
        }
    }
}
