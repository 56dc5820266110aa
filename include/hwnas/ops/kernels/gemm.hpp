#pragma once
// Row-major single-precision GEMM through OpenBLAS (about 1.6x Eigen's GEMM
// on these machines). C = alpha * op(A) * op(B) + beta * C. Call it from the
// top level, not inside parallel_for: OpenBLAS runs its own threads, governed
// by set_num_threads.
#include <cstdint>

#include <cblas.h>

namespace hwnas::kernels {

inline void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                 const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
                 std::int64_t ldc) {
    if (m == 0 || n == 0) return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a, static_cast<int>(lda), b,
                static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

// Dense matrices with leading dimension = column count.
inline void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, const float* a,
                 const float* b, float* c, float beta = 0.0f) {
    gemm(trans_a, trans_b, m, n, k, 1.0f, a, trans_a ? m : k, b, trans_b ? k : n, beta, c, n);
}

}  // namespace hwnas::kernels
