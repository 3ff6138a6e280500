import Foundation
import SwiftletGGUF

public struct WeightMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    public let data: UnsafeRawPointer
    public let bytesPerRow: Int
    public init(_ tensor: GGUFTensorInfo, in file: GGUFFile) throws(KernelError) {
        guard tensor.shape.count == 1 || tensor.shape.count == 2 else { throw .shapeMismatch("\(tensor.name) has \(tensor.shape.count) dimensions") }
        type = tensor.type
        columns = tensor.shape[0]
        rows = tensor.shape.count == 2 ? tensor.shape[1] : 1
        bytesPerRow = tensor.bytesPerRow
        guard let base = file.tensorData(tensor).baseAddress else { throw .shapeMismatch("\(tensor.name) is empty") }
        data = base
    }
    public func row(_ r: Int) -> UnsafeRawPointer { data + r * bytesPerRow }
}
