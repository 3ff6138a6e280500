import Foundation
import Testing
import SwiftletGGUF
import SwiftletKernels

/// ``ProductOrder/tokenwise`` (a decoding step of several sequences) gives each token exactly what the
/// one-token product gives it alone, for every weight type, in the file's layout and repacked.
@Suite struct TokenwiseProductTests {
    static let types: [GGMLType] = [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .f16, .bf16]

    @Test(arguments: types)
    func eachTokenAsAlone(type: GGMLType) throws {
        let pool = ThreadPool(threads: 2)
        var rng = SplitMix(99)
        // 131 rows: rows over after the decoding kernels' passes of four (or two) rows.
        for (rows, columns) in [(64, 512), (40, 768), (131, 512)] {
            let bytes = (0..<rows).flatMap { r in randomRow(type, columns: columns, seed: UInt64(r + 3) &* 131) }
            try bytes.withUnsafeBytes { raw in
                let plain = try WeightMatrix(type: type, rows: rows, columns: columns, data: raw.baseAddress!)
                for w in [plain, plain.repackedForMatmul()] {
                    for tokens in [2, 3, 5, 8, 9] {
                        let x = (0..<(tokens * columns)).map { _ in rng.nextFloat() * 4 }
                        var batched = [Float](repeating: 0, count: tokens * rows)
                        x.withUnsafeBufferPointer { xp in
                            batched.withUnsafeMutableBufferPointer { yp in
                                matmul([(w, yp.baseAddress!)], xp.baseAddress!, tokens: tokens, pool: pool, order: .tokenwise)
                            }
                        }
                        for t in 0..<tokens {
                            var alone = [Float](repeating: 0, count: rows)
                            x.withUnsafeBufferPointer { xp in matvec(w, xp.baseAddress! + t * columns, &alone, pool: pool) }
                            #expect(Array(batched[(t * rows)..<((t + 1) * rows)]) == alone,
                                    "\(type.name) \(rows)×\(columns), token \(t) of \(tokens)")
                        }
                    }
                }
            }
        }
    }
}
