#pragma once
// Row-major single-precision GEMM through OpenBLAS (about 1.6x Eigen's GEMM
// on these machines), or through skinny_gemm where k is small.
// C = alpha * op(A) * op(B) + beta * C. Parallel over rows of C with hwnas's
// pool (OpenBLAS itself runs single-threaded); called inside a parallel_for
// it runs serially in that thread.
#include <cstdint>
#include <vector>

#include <cblas.h>

#include "hwnas/core/parallel.hpp"
#include "hwnas/ops/kernels/skinny_gemm.hpp"

namespace hwnas::kernels {

inline void gemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                 const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c,
                 std::int64_t ldc) {
    if (m == 0 || n == 0) return;
    if (!trans_a && alpha == 1.0f && (beta == 0.0f || beta == 1.0f) && skinny_gemm_fits(n, k)) {
        // B^T [n, k] is at most 8K floats: transposed once, then read from L1.
        std::vector<float> bt;
        if (trans_b) {
            bt.resize(static_cast<std::size_t>(k * n));
            for (std::int64_t i = 0; i < n; ++i)
                for (std::int64_t q = 0; q < k; ++q) bt[static_cast<std::size_t>(q * n + i)] = b[i * ldb + q];
        }
        const float* bb = trans_b ? bt.data() : b;
        const std::int64_t ldbb = trans_b ? n : ldb;
        parallel_for(0, m, [&](std::int64_t r0, std::int64_t r1) {
            skinny_gemm_rows(r0, r1, n, k, a, lda, bb, ldbb, beta == 1.0f, c, ldc);
        });
        return;
    }
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
