import SwiftletKernels
import Testing

@Suite struct BLASTests {
    /// BLAS.sgemm against plain loops, with row strides wider than the rows and both B orientations.
    @Test(arguments: [false, true])
    func sgemmMatchesLoops(transposeB: Bool) {
        let m = 5, n = 7, k = 3, lda = 4, ldb = transposeB ? 5 : 9, ldc = 8
        var rng = SplitMix(3)
        let a = (0..<(m * lda)).map { _ in rng.nextFloat() }
        let b = (0..<((transposeB ? n : k) * ldb)).map { _ in rng.nextFloat() }
        var c = [Float](repeating: 9, count: m * ldc)
        BLAS.sgemm(m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb, transposeB: transposeB, c: &c, ldc: ldc)
        for i in 0..<m {
            for j in 0..<n {
                var s: Float = 0
                for p in 0..<k { s += a[i * lda + p] * (transposeB ? b[j * ldb + p] : b[p * ldb + j]) }
                #expect(abs(c[i * ldc + j] - 0.5 * s) < 1e-5, "c[\(i),\(j)]")
            }
            #expect(c[i * ldc + n] == 9, "past the row's end must stay untouched")
        }
    }
}
