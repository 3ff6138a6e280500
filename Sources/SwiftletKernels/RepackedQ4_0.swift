import Foundation
import SwiftletGGUF

/// Q4_0 weights regrouped eight rows at a time, the layout the AVX2 kernel in `Q4_0x8.swift` reads.
///
/// For each group of eight rows and each 32-value block: the eight rows' scales as `Float` (32 bytes),
/// then four 32-byte vectors; vector j holds bytes 4j…4j+3 of every row's sixteen nibble bytes, row r at
/// bytes 4r…4r+3. One vector then meets one 4-byte slice of a token's activations broadcast to all rows,
/// so a block's eight row sums come out in eight lanes with no horizontal additions (ggml repacks Q4_0
/// the same way on AVX2, for the same reason). 160 bytes per group-block against the file's 144: a heap
/// copy about 11% larger than the Q4_0 tensors it replaces in the matrix products.
public final class RepackedQ4_0: @unchecked Sendable {
    // @unchecked: the buffer is written once in `init` and only read afterwards.
    static let rowsPerGroup = 8
    static let bytesPerGroupBlock = 160
    let data: UnsafeMutableRawPointer
    let groups: Int
    let blocks: Int

    /// Byte count of the heap copy, for memory accounting.
    public var byteCount: Int { groups * blocks * RepackedQ4_0.bytesPerGroupBlock }

    /// Nil unless `w` is Q4_0 with a whole number of eight-row groups.
    init?(_ w: WeightMatrix) {
        guard w.type == .q4_0, w.rows % RepackedQ4_0.rowsPerGroup == 0, w.rows > 0, w.columns % 32 == 0 else { return nil }
        groups = w.rows / RepackedQ4_0.rowsPerGroup
        blocks = w.columns / 32
        data = .allocate(byteCount: groups * blocks * RepackedQ4_0.bytesPerGroupBlock, alignment: 64)
        for g in 0..<groups {
            for b in 0..<blocks {
                let dst = group(g) + b * RepackedQ4_0.bytesPerGroupBlock
                for r in 0..<RepackedQ4_0.rowsPerGroup {
                    let src = w.row(g * RepackedQ4_0.rowsPerGroup + r) + b * 18
                    dst.storeBytes(of: Float(Float16(bitPattern: src.loadUnaligned(as: UInt16.self))), toByteOffset: 4 * r, as: Float.self)
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
    func group(_ g: Int) -> UnsafeMutableRawPointer { data + g * blocks * RepackedQ4_0.bytesPerGroupBlock }
}
