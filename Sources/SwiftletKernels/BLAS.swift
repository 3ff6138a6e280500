import COpenBLAS

/// Single-precision matrix products through OpenBLAS (`cblas_sgemm`), for F16 weights in prompts (over
/// dequantized row tiles). Prompt attention has its own kernels (``attentionScores``): OpenBLAS picks its
/// kernel per CPU, and their different summation orders moved perplexities by up to 0.6%.
///
/// OpenBLAS runs single-threaded here: Swiftlet's own ``ThreadPool`` splits the work, and OpenBLAS's
/// threads would otherwise compete with the pool's for the same cores.
public enum BLAS {
    private static let configured: Bool = {
        openblas_set_num_threads(1)
        return true
    }()

    /// C (m × n, row stride ldc) = alpha · A (m × k, row stride lda) · B + beta · C, where B is
    /// (k × n, row stride ldb), or with `transposeB` the transpose of a (n × k, row stride ldb) matrix.
    /// All row-major.
    public static func sgemm(m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0, k > 0 else { return }
        _ = configured
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
}
