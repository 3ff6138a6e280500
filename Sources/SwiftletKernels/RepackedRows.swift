import Foundation
import SwiftletGGUF

/// Q4_0 weights regrouped eight rows at a time, the layout the AVX2 kernel in `RepackedKernels.swift`
/// reads.
///
/// For each group of eight rows and each 32-value block: the eight rows' scales as `Float` (32 bytes),
/// then four 32-byte vectors in which vector j holds bytes 4j…4j+3 of every row's nibble bytes, row r at
/// bytes 4r…4r+3. One vector then meets one 4-byte slice of a token's activations broadcast to all rows,
/// so a block's eight row sums come out in eight lanes with no horizontal additions. ggml's AVX2 build
/// repacks Q4_0 the same way (and only Q4_0 of these formats), and adds each block's exact integer sum
/// times d·da per row, as this kernel does, so the two agree to the bit. 160 bytes per group-block
/// against the file's 144: a heap copy 11% larger than the tensors it replaces in the products.
public final class RepackedRows: @unchecked Sendable {
    // @unchecked: the buffer is written once in `init` and only read afterwards.
    static let rowsPerGroup = 8
    /// Eight F32 scales, then four vectors of eight rows' 4-byte nibble slices.
    static let bytesPerGroupBlock = 160
    let data: UnsafeMutableRawPointer
    let groups: Int
    let blocks: Int

    /// Byte count of the heap copy, for memory accounting.
    public var byteCount: Int { groups * blocks * RepackedRows.bytesPerGroupBlock }

    /// Nil unless `w` is Q4_0 with a whole number of eight-row groups.
    init?(_ w: WeightMatrix) {
        guard w.type == .q4_0, w.rows % RepackedRows.rowsPerGroup == 0, w.rows > 0, w.columns % 32 == 0 else { return nil }
        groups = w.rows / RepackedRows.rowsPerGroup
        blocks = w.columns / 32
        data = .allocate(byteCount: groups * blocks * RepackedRows.bytesPerGroupBlock, alignment: 64)
        for g in 0..<groups {
            for b in 0..<blocks {
                let dst = group(g) + b * RepackedRows.bytesPerGroupBlock
                for r in 0..<RepackedRows.rowsPerGroup {
                    let src = w.row(g * RepackedRows.rowsPerGroup + r) + b * w.type.bytesPerBlock
                    dst.storeBytes(of: Float(Float16(bitPattern: src.loadUnaligned(as: UInt16.self))), toByteOffset: 4 * r, as: Float.self)
                    // A block's nibble bytes start at byte 2 of the file's block: four 4-byte slices.
                    for j in 0..<4 {
                        dst.storeBytes(of: src.loadUnaligned(fromByteOffset: 2 + 4 * j, as: UInt32.self),
                                       toByteOffset: 32 + 32 * j + 4 * r, as: UInt32.self)
                    }
                }
            }
        }
    }

    deinit { data.deallocate() }

    /// The first byte of row group `g`.
    func group(_ g: Int) -> UnsafeMutableRawPointer { data + g * blocks * RepackedRows.bytesPerGroupBlock }
}
