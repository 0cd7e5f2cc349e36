//  BLAS.swift
//
//  Single-precision GEMM, row-major, through OpenBLAS on Linux and Accelerate on macOS.

import RealModule

#if canImport(Accelerate)
import Accelerate
#else
import CBLAS
#endif

/// Row-major single-precision matrix products.
public enum BLAS {
    /// C (M×N) = alpha · op(A) · op(B) + beta · C, all row-major.
    ///
    /// op(A) is M×K (A is K×M when `transposeA`), op(B) is K×N (B is N×K when `transposeB`).
    /// Leading dimensions are the stored row lengths.
    @inlinable
    public static func sgemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Sets the number of threads the BLAS library uses (OpenBLAS only; Accelerate manages its own).
    public static func setThreads(_ count: Int) {
        #if !canImport(Accelerate)
        openblas_set_num_threads(Int32(max(1, count)))
        #endif
    }
}
