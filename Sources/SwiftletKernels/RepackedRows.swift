import Foundation
import SwiftletGGUF

/// Q4_0, Q5_0 or Q8_0 weights regrouped eight rows at a time, the layout the AVX2 kernels in
/// `RepackedKernels.swift` read.
///
/// For each group of eight rows and each 32-value block: the eight rows' scales as `Float` (32 bytes),
/// then 32-byte vectors in which vector j holds bytes 4j…4j+3 of every row's quantized bytes, row r at
/// bytes 4r…4r+3: four vectors of nibble bytes for Q4_0 and Q5_0, eight of signed bytes for Q8_0. One
/// vector then meets one 4-byte slice of a token's activations broadcast to all rows, so a block's eight
/// row sums come out in eight lanes with no horizontal additions (ggml repacks Q4_0 the same way on
/// AVX2, for the same reason). Q5_0 adds each row's 32 fifth bits (its `qh` word, bits reordered by
/// ``reorderHighBits(_:)``), row r at bytes 4r…4r+3 of a fifth vector. Bytes per group-block against
/// the file's: 160 for 144 (Q4_0), 192 for 176 (Q5_0), 288 for 272 (Q8_0): a heap copy 6–11% larger
/// than the tensors it replaces in the products.
public final class RepackedRows: @unchecked Sendable {
    // @unchecked: the buffer is written once in `init` and only read afterwards.
    static let rowsPerGroup = 8
    let type: GGMLType
    let data: UnsafeMutableRawPointer
    let groups: Int
    let blocks: Int
    let bytesPerGroupBlock: Int

    /// Byte count of the heap copy, for memory accounting.
    public var byteCount: Int { groups * blocks * bytesPerGroupBlock }

    /// Bytes per group-block for the types with a repacked layout.
    static func bytesPerGroupBlock(_ type: GGMLType) -> Int? {
        switch type { case .q4_0: 160; case .q5_0: 192; case .q8_0: 288; default: nil }
    }

    /// Nil unless `w` is Q4_0, Q5_0 or Q8_0 with a whole number of eight-row groups.
    init?(_ w: WeightMatrix) {
        guard w.type == .q4_0, let groupBlockBytes = RepackedRows.bytesPerGroupBlock(w.type), w.rows % RepackedRows.rowsPerGroup == 0, w.rows > 0, w.columns % 32 == 0 else { return nil }
        type = w.type
        groups = w.rows / RepackedRows.rowsPerGroup
        blocks = w.columns / 32
        bytesPerGroupBlock = groupBlockBytes
        // Where a block's quantized bytes start in the file, and how many 4-byte slices they make.
        let (valueOffset, slices) = switch w.type { case .q4_0: (2, 4); case .q5_0: (6, 4); default: (2, 8) }
        data = .allocate(byteCount: groups * blocks * bytesPerGroupBlock, alignment: 64)
        for g in 0..<groups {
            for b in 0..<blocks {
                let dst = group(g) + b * bytesPerGroupBlock
                for r in 0..<RepackedRows.rowsPerGroup {
                    let src = w.row(g * RepackedRows.rowsPerGroup + r) + b * w.type.bytesPerBlock
                    dst.storeBytes(of: Float(Float16(bitPattern: src.loadUnaligned(as: UInt16.self))), toByteOffset: 4 * r, as: Float.self)
                    for j in 0..<slices {
                        dst.storeBytes(of: src.loadUnaligned(fromByteOffset: valueOffset + 4 * j, as: UInt32.self),
                                       toByteOffset: 32 + 32 * j + 4 * r, as: UInt32.self)
                    }
                    if w.type == .q5_0 {
                        dst.storeBytes(of: RepackedRows.reorderHighBits(src.loadUnaligned(fromByteOffset: 2, as: UInt32.self)),
                                       toByteOffset: 160 + 4 * r, as: UInt32.self)
                    }
                }
            }
        }
    }

    deinit { data.deallocate() }

    /// A Q5_0 block's `qh` word (bit e: value e's fifth bit) with its bits moved so that one shift and a
    /// mask give a 4-value slice's fifth bits as bytes of 16: value 4j+i (i < 4) goes to bit 8i+4+j (shift
    /// right by j), value 16+4j+i to bit 8i+3−j (shift left by j+1).
    static func reorderHighBits(_ qh: UInt32) -> UInt32 {
        var h: UInt32 = 0
        for e in 0..<32 where (qh >> UInt32(e)) & 1 == 1 {
            let j = (e % 16) / 4, i = e % 4
            h |= 1 << UInt32(e < 16 ? 8 * i + 4 + j : 8 * i + 3 - j)
        }
        return h
    }

    /// The first byte of row group `g`.
    func group(_ g: Int) -> UnsafeMutableRawPointer { data + g * blocks * bytesPerGroupBlock }
}
