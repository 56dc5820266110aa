#pragma once
// Row-major single-precision GEMM through OpenBLAS (about 1.6x Eigen's GEMM
// on these machines). C = alpha * op(A) * op(B) + beta * C. Parallel over
// rows of C with hwnas's pool (OpenBLAS itself runs single-threaded); called
// inside a parallel_for it runs serially in that thread.
#include <cstdint>

#include <cblas.h>

#include "hwnas/core/parallel.hpp"

namespace hwnas::kernels {

inline void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                 const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
                 std::int64_t ldc) {
    if (m == 0 || n == 0) return;
    // Rows of C are split over hwnas's own threads, each calling single-threaded
    // OpenBLAS: OpenBLAS's own thread server, spinning beside hwnas's pool, was
    // seen to stall for minutes on a loaded 2-core machine.
    parallel_for(0, m, [&](std::int64_t r0, std::int64_t r1) {
        const float* a_rows = trans_a ? a + r0 : a + r0 * lda;
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                    static_cast<int>(r1 - r0), static_cast<int>(n), static_cast<int>(k), alpha, a_rows,
                    static_cast<int>(lda), b, static_cast<int>(ldb), beta, c + r0 * ldc, static_cast<int>(ldc));
    });
}

// Dense matrices with leading dimension = column count.
inline void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, const float* a,
                 const float* b, float* c, float beta = 0.0f) {
    gemm(trans_a, trans_b, m, n, k, 1.0f, a, trans_a ? m : k, b, trans_b ? k : n, beta, c, n);
}

}  // namespace hwnas::kernels
