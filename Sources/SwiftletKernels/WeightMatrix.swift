import Foundation
import SwiftletGGUF

public struct WeightMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    public let data: UnsafeRawPointer
    public let bytesPerRow: Int
    /// A regrouped copy the matrix products read instead of `data`, when one was made (see
    /// ``repackedForMatmul()``); `data` still serves row lookups such as embeddings.
    public private(set) var repacked: RepackedRows?

    public init(_ tensor: GGUFTensorInfo, in file: GGUFFile) throws(KernelError) {
        guard tensor.shape.count == 1 || tensor.shape.count == 2 else { throw .shapeMismatch("\(tensor.name) has \(tensor.shape.count) dimensions") }
        type = tensor.type
        columns = tensor.shape[0]
        rows = tensor.shape.count == 2 ? tensor.shape[1] : 1
        bytesPerRow = tensor.bytesPerRow
        guard let base = file.tensorData(tensor).baseAddress else { throw .shapeMismatch("\(tensor.name) is empty") }
        data = base
    }

    /// A matrix over `rows` rows of `columns` values of `type` at `data` (which must outlive it), such as
    /// one expert of a 3-D expert tensor.
    public init(type: GGMLType, rows: Int, columns: Int, data: UnsafeRawPointer) throws(KernelError) {
        guard let bytes = type.byteCount(elements: columns) else {
            throw .shapeMismatch("\(columns) columns do not fill whole \(type.name) blocks")
        }
        self.init(type: type, rows: rows, columns: columns, bytesPerRow: bytes, data: data)
    }

    /// The rows in `range`, in place (a fused matrix's parts: Phi-3's `attn_qkv`, gate and up in `ffn_up`).
    /// Taken before any regrouping, which the parts then make for themselves.
    public func rows(_ range: Range<Int>) -> WeightMatrix {
        precondition(repacked == nil && range.lowerBound >= 0 && range.upperBound <= rows, "row view out of range")
        return WeightMatrix(type: type, rows: range.count, columns: columns, bytesPerRow: bytesPerRow,
                            data: data + range.lowerBound * bytesPerRow)
    }

    private init(type: GGMLType, rows: Int, columns: Int, bytesPerRow: Int, data: UnsafeRawPointer) {
        self.type = type
        self.rows = rows
        self.columns = columns
        self.bytesPerRow = bytesPerRow
        self.data = data
    }

    public func row(_ r: Int) -> UnsafeRawPointer { data + r * bytesPerRow }

    /// Lets the kernel drop the whole pages of this matrix's (read-only, file-backed) mapping that the
    /// repacking just read, so that the copy does not double the resident size; a later row lookup
    /// reads them back from the file.
    private func releaseMappedPages() {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: data) + page - 1) / page * page
        let end = (Int(bitPattern: data) + rows * bytesPerRow) / page * page
        guard end > start, let p = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(p, end - start, Int32(MADV_DONTNEED))
    }

    /// This matrix with a regrouped copy of its weights for the matrix products, where this build has a
    /// faster kernel for the regrouped layout (Q4_0 with AVX2, rows in groups of eight, as ggml regroups it);
    /// else itself. The copy is on the heap (see ``RepackedRows`` for its size against the file's).
    public func repackedForMatmul() -> WeightMatrix {
        #if SWIFTLET_AVX2 && arch(x86_64)
        var m = self
        m.repacked = RepackedRows(self)
        if m.repacked != nil { releaseMappedPages() }
        return m
        #else
        return self
        #endif
    }
}
