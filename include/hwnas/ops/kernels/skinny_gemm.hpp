#pragma once
// C = A * B (+ C) for row-major A [m, k] and B [k, n] when k is small: the
// expand convolution of a mobile block and the input gradient of its project
// convolution (k = 16..32, m = batch x pixels). On these shapes OpenBLAS
// copies the tall operand into its packed layout (a whole extra pass over
// it) and, for beta = 0, zeroes C first (another); here each row of A is read
// once and each row of C written once, with B held in L1. Row tiles of 6
// share every load of B; per element the sum runs over k in order, so results
// do not depend on how rows are split across threads.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "hwnas/ops/kernels/conv_common.hpp"

namespace hwnas::kernels {

// Where the kernel beats OpenBLAS (measured on these machines, one thread,
// 50176 rows): k <= 32 with n up to 256, 1.1-1.7x. With n small and k large
// (a project conv) it does not: 0.7-1.0x, so those stay with OpenBLAS. n must
// be a multiple of 8: with scalar tail columns, the channel-pruned networks
// of swiftnet_search (19 hidden channels) measured 17-30% slower at batch 1,
// relative to the baseline network, than with OpenBLAS.
inline bool skinny_gemm_fits(std::int64_t n, std::int64_t k) { return k <= 32 && n <= 256 && n % 8 == 0; }

namespace detail {

// Rows per tile: six rows share every load of B. With 16-column tiles that
// is 12 accumulators (+ 2 B vectors + 1 broadcast: 15 of the 16 AVX
// registers), enough independent FMA chains to hide their latency; with 4
// rows (8 accumulators) the batch-1 expand convs ran at 61-67 GFLOP/s, 0.65x
// OpenBLAS, and at 96-105 with 6 (hwnas_bench pointwise_expand, session 10).
inline constexpr int skinny_rows_per_tile = 6;

// Rows [0, R) x columns [0, 8V) of C from a (row stride lda) and b (row stride ldb).
template <int V>
inline void skinny_tile(const float* a, std::int64_t lda, const float* b, std::int64_t ldb, std::int64_t k,
                        bool accumulate, float* c, std::int64_t ldc) {
    constexpr int R = skinny_rows_per_tile;
    float8 acc[R][V];
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v) {
            if (accumulate)
                load(acc[r][v], c + r * ldc + 8 * v);
            else
                acc[r][v] = float8{};
        }
    for (std::int64_t q = 0; q < k; ++q) {
        float8 bv[V];
        for (int v = 0; v < V; ++v) load(bv[v], b + q * ldb + 8 * v);
        for (int r = 0; r < R; ++r) {
            const float s = a[r * lda + q];
            for (int v = 0; v < V; ++v) acc[r][v] += s * bv[v];
        }
    }
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v) store(c + r * ldc + 8 * v, acc[r][v]);
}

// Rows [0, R) of C: column tiles of 16, then 8 (n is a multiple of 8).
inline void skinny_rows(const float* a, std::int64_t lda, const float* b, std::int64_t ldb, std::int64_t n,
                        std::int64_t k, bool accumulate, float* c, std::int64_t ldc) {
    std::int64_t j = 0;
    for (; j + 16 <= n; j += 16) skinny_tile<2>(a, lda, b + j, ldb, k, accumulate, c + j, ldc);
    if (j < n) skinny_tile<1>(a, lda, b + j, ldb, k, accumulate, c + j, ldc);
}

}  // namespace detail

// Rows [r0, r1) of C = A * B (accumulate: C += A * B); n a multiple of 8.
// Every row goes through the same R-row code, the last few through a
// zero-padded copy: the compiler contracts multiply-adds into FMAs
// differently in other tile shapes, and a row's bits would then depend on
// where a thread's rows begin.
inline void skinny_gemm_rows(std::int64_t r0, std::int64_t r1, std::int64_t n, std::int64_t k, const float* a,
                             std::int64_t lda, const float* b, std::int64_t ldb, bool accumulate, float* c,
                             std::int64_t ldc) {
    constexpr std::int64_t R = detail::skinny_rows_per_tile;
    std::int64_t r = r0;
    for (; r + R <= r1; r += R) detail::skinny_rows(a + r * lda, lda, b, ldb, n, k, accumulate, c + r * ldc, ldc);
    if (r == r1) return;
    std::vector<float> ta(static_cast<std::size_t>(R * k), 0.0f), tc(static_cast<std::size_t>(R * n), 0.0f);
    for (std::int64_t i = 0; i < r1 - r; ++i) {
        std::copy(a + (r + i) * lda, a + (r + i) * lda + k, ta.begin() + i * k);
        if (accumulate) std::copy(c + (r + i) * ldc, c + (r + i) * ldc + n, tc.begin() + i * n);
    }
    detail::skinny_rows(ta.data(), k, b, ldb, n, k, accumulate, tc.data(), n);
    for (std::int64_t i = 0; i < r1 - r; ++i) std::copy(tc.begin() + i * n, tc.begin() + (i + 1) * n, c + (r + i) * ldc);
}

}  // namespace hwnas::kernels
