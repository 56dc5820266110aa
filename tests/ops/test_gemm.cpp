// kernels::gemm against a double-precision reference, on the shapes that take
// the skinny path (small k; op(B) transposed or not; row remainders of the
// 4-row tiles and the 8-column tile after the 16-column ones;
// accumulation; leading dimensions wider than the matrices) and on ones that
// stay with OpenBLAS; and the skinny path's independence of the thread count.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <hwnas/core/parallel.hpp>
#include <hwnas/core/rng.hpp>
#include <hwnas/ops/kernels/gemm.hpp>

namespace test_gemm {

using namespace hwnas;

struct gemm_case {
    std::int64_t m, n, k;
    bool trans_a, trans_b;
    float beta;
    std::int64_t pad;  // extra columns of every leading dimension
};

std::vector<float> random_floats(std::size_t count, rng& gen) {
    std::vector<float> v(count);
    for (float& x : v) x = gen.uniform(-1.0f, 1.0f);
    return v;
}

// C after kernels::gemm, and the largest error against the double reference.
double gemm_error(const gemm_case& t, std::vector<float>* out = nullptr) {
    rng gen(static_cast<std::uint64_t>(t.m * 131 + t.n * 17 + t.k));
    const std::int64_t a_rows = t.trans_a ? t.k : t.m, a_cols = t.trans_a ? t.m : t.k;
    const std::int64_t b_rows = t.trans_b ? t.n : t.k, b_cols = t.trans_b ? t.k : t.n;
    const std::int64_t lda = a_cols + t.pad, ldb = b_cols + t.pad, ldc = t.n + t.pad;
    const std::vector<float> a = random_floats(static_cast<std::size_t>(a_rows * lda), gen);
    const std::vector<float> b = random_floats(static_cast<std::size_t>(b_rows * ldb), gen);
    std::vector<float> c = random_floats(static_cast<std::size_t>(t.m * ldc), gen);
    const std::vector<float> c0 = c;
    kernels::gemm(t.trans_a, t.trans_b, t.m, t.n, t.k, 1.0f, a.data(), lda, b.data(), ldb, t.beta, c.data(), ldc);
    double worst = 0;
    for (std::int64_t i = 0; i < t.m; ++i) {
        for (std::int64_t j = 0; j < t.n; ++j) {
            double s = t.beta * static_cast<double>(c0[static_cast<std::size_t>(i * ldc + j)]);
            for (std::int64_t q = 0; q < t.k; ++q)
                s += static_cast<double>(a[static_cast<std::size_t>(t.trans_a ? q * lda + i : i * lda + q)]) *
                     b[static_cast<std::size_t>(t.trans_b ? j * ldb + q : q * ldb + j)];
            worst = std::max(worst, std::abs(s - c[static_cast<std::size_t>(i * ldc + j)]));
        }
        // Columns past n (the padding of ldc) are left alone.
        for (std::int64_t j = t.n; j < ldc; ++j)
            CHECK(c[static_cast<std::size_t>(i * ldc + j)] == c0[static_cast<std::size_t>(i * ldc + j)]);
    }
    if (out) *out = c;
    return worst;
}

TEST_CASE("gemm matches a double-precision reference on skinny and general shapes") {
    const std::vector<gemm_case> cases = {
        {50, 96, 16, false, false, 0.0f, 0},   // expand: k small
        {50, 16, 96, false, false, 0.0f, 0},   // project: n small (OpenBLAS)
        {37, 96, 16, false, true, 0.0f, 0},    // input gradient of project: B transposed, k small
        {37, 24, 16, false, true, 1.0f, 3},    // accumulate, padded leading dimensions
        {9, 24, 13, false, false, 1.0f, 5},    // remainders: rows, and the 8 columns after a 16-column tile
        {3, 8, 7, false, true, 0.0f, 0},       // fewer rows than one tile
        {4, 24, 0, false, false, 0.0f, 0},     // k = 0: C = beta * C
        {9, 29, 13, false, false, 1.0f, 5},    // n not a multiple of 8: OpenBLAS
        {20, 300, 40, false, false, 0.0f, 0},  // neither small: OpenBLAS
        {16, 96, 200, true, false, 1.0f, 0},   // weight gradient (A transposed): OpenBLAS
    };
    for (const gemm_case& t : cases) {
        CAPTURE(t.m);
        CAPTURE(t.n);
        CAPTURE(t.k);
        CAPTURE(t.trans_b);
        CHECK(gemm_error(t) < 1e-5 * static_cast<double>(t.k + 1));
    }
}

TEST_CASE("the skinny gemm gives the same bits on 1 and 2 threads") {
    const int threads = num_threads();
    std::vector<float> one, two;
    set_num_threads(1);
    gemm_error({203, 40, 24, false, false, 0.0f, 0}, &one);
    set_num_threads(2);
    gemm_error({203, 40, 24, false, false, 0.0f, 0}, &two);
    set_num_threads(threads);
    CHECK(one == two);
}

}  // namespace test_gemm
