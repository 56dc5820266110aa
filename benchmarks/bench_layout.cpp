// Layout study: NCHW vs NHWC for the two ops of a mobile block, at batch 64,
// 28x28, one thread. Each layout gets the same simple loop structure, written
// so that its contiguous axis is the vectorized one (x in NCHW, channels in
// NHWC); pointwise convs go to OpenBLAS in both layouts. hwnas's own NHWC
// kernels run alongside for reference.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>

#include <cblas.h>

#include <hwnas/core/parallel.hpp>
#include <hwnas/core/rng.hpp>
#include <hwnas/ops/conv2d.hpp>

#include "counters.hpp"

namespace {

using namespace hwnas;
using i64 = std::int64_t;

constexpr i64 batch = 64, side = 28;

// Output column range whose tap kw (padding 1) lands inside the row.
void tap_columns(i64 kw, i64& lo, i64& hi) {
    lo = std::max<i64>(0, 1 - kw);
    hi = std::min<i64>(side, side + 1 - kw);
}

// 3x3, stride 1, padding 1. x, y [N, C, H, W]; w [C, 3, 3]. Vectorized along x.
void depthwise_nchw(const float* x, const float* w, float* y, i64 c) {
    for (i64 plane = 0; plane < batch * c; ++plane) {
        const float* xp = x + plane * side * side;
        const float* wk = w + plane % c * 9;
        for (i64 oy = 0; oy < side; ++oy) {
            float* __restrict yr = y + (plane * side + oy) * side;
            std::fill(yr, yr + side, 0.0f);
            for (i64 kh = 0; kh < 3; ++kh) {
                const i64 iy = oy - 1 + kh;
                if (iy < 0 || iy >= side) continue;
                for (i64 kw = 0; kw < 3; ++kw) {
                    const float wv = wk[kh * 3 + kw];
                    const float* __restrict xr = xp + iy * side;
                    i64 lo, hi;
                    tap_columns(kw, lo, hi);
                    for (i64 ox = lo; ox < hi; ++ox) yr[ox] += wv * xr[ox + kw - 1];
                }
            }
        }
    }
}

// The same loops in NHWC. x, y [N, H, W, C]; w [3, 3, C]. Vectorized along C.
void depthwise_nhwc(const float* x, const float* w, float* y, i64 c) {
    for (i64 row = 0; row < batch * side; ++row) {
        const i64 n = row / side, oy = row % side;
        float* yr = y + row * side * c;
        std::fill(yr, yr + side * c, 0.0f);
        for (i64 kh = 0; kh < 3; ++kh) {
            const i64 iy = oy - 1 + kh;
            if (iy < 0 || iy >= side) continue;
            for (i64 kw = 0; kw < 3; ++kw) {
                const float* __restrict wk = w + (kh * 3 + kw) * c;
                const float* xr = x + (n * side + iy) * side * c;
                i64 lo, hi;
                tap_columns(kw, lo, hi);
                for (i64 ox = lo; ox < hi; ++ox) {
                    float* __restrict yo = yr + ox * c;
                    const float* __restrict xo = xr + (ox + kw - 1) * c;
                    for (i64 ch = 0; ch < c; ++ch) yo[ch] += xo[ch] * wk[ch];
                }
            }
        }
    }
}

enum class variant { nchw, nhwc, hwnas_nhwc };

void bench_depthwise(benchmark::State& st, variant v, i64 c) {
    set_num_threads(1);
    const shape xs = v == variant::nchw ? shape{batch, c, side, side} : shape{batch, side, side, c};
    const tensor x = bench::random_tensor(xs, 2), w = bench::random_tensor({9 * c}, 2);
    tensor y = tensor::uninitialized(xs);
    const conv2d_params p{.padding = 1, .groups = c};
    const shape nhwc{batch, side, side, c}, ws{3, 3, 1, c};
    const auto g = detail::conv2d_geometry(nhwc, ws, nhwc, p);
    for (auto _ : st) {
        if (v == variant::nchw)
            depthwise_nchw(x.data(), w.data(), y.data(), c);
        else if (v == variant::nhwc)
            depthwise_nhwc(x.data(), w.data(), y.data(), c);
        else
            kernels::depthwise_forward(g, x.data(), w.data(), nullptr, y.data());
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    const double elems = static_cast<double>(xs.numel());
    bench::report(st, 2.0 * 9 * elems, 8.0 * elems);
}

// Pointwise cin -> cout: NCHW is W[cout, cin] x X[cin, H*W] per image; NHWC
// is one GEMM X[N*H*W, cin] x W[cin, cout]; hwnas's kernel runs that GEMM in
// chunks of output rows.
void bench_pointwise(benchmark::State& st, variant v, i64 cin, i64 cout) {
    set_num_threads(1);
    const i64 hw = side * side;
    const tensor x = bench::random_tensor({batch * hw * cin}, 2), w = bench::random_tensor({cin * cout}, 2);
    tensor y = tensor::uninitialized({batch * hw * cout});
    const int ci = static_cast<int>(cin), co = static_cast<int>(cout), p = static_cast<int>(hw);
    const shape xs{batch, side, side, cin}, ws{1, 1, cin, cout};
    const auto g = detail::conv2d_geometry(xs, ws, conv2d_output_shape(xs, ws, {}), {});
    for (auto _ : st) {
        if (v == variant::nchw)
            for (i64 n = 0; n < batch; ++n)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, co, p, ci, 1.0f, w.data(), ci,
                            x.data() + n * hw * cin, p, 0.0f, y.data() + n * hw * cout, p);
        else if (v == variant::nhwc)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(batch) * p, co, ci, 1.0f,
                        x.data(), ci, w.data(), co, 0.0f, y.data(), co);
        else
            kernels::conv_gemm_forward(g, x.data(), w.data(), nullptr, y.data());
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    bench::report(st, 2.0 * static_cast<double>(batch * hw * cin * cout),
                  4.0 * static_cast<double>(batch * hw * (cin + cout)));
}

const bool registered = [] {
    for (const i64 c : {16, 96}) {
        const std::string s = std::to_string(c);
        benchmark::RegisterBenchmark(("layout_depthwise3x3/NCHW/c" + s).c_str(), bench_depthwise, variant::nchw, c)
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("layout_depthwise3x3/NHWC/c" + s).c_str(), bench_depthwise, variant::nhwc, c)
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("layout_depthwise3x3/NHWC_hwnas_kernel/c" + s).c_str(), bench_depthwise,
                                     variant::hwnas_nhwc, c)
            ->Unit(benchmark::kMicrosecond);
    }
    for (const auto& [cin, cout] : {std::pair<i64, i64>{16, 96}, std::pair<i64, i64>{96, 16}}) {
        const std::string s = std::to_string(cin) + "to" + std::to_string(cout);
        benchmark::RegisterBenchmark(("layout_pointwise/NCHW/" + s).c_str(), bench_pointwise, variant::nchw, cin, cout)
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("layout_pointwise/NHWC/" + s).c_str(), bench_pointwise, variant::nhwc, cin, cout)
            ->Unit(benchmark::kMicrosecond);
        benchmark::RegisterBenchmark(("layout_pointwise/NHWC_hwnas_kernel/" + s).c_str(), bench_pointwise,
                                     variant::hwnas_nhwc, cin, cout)
            ->Unit(benchmark::kMicrosecond);
    }
    return true;
}();

}  // namespace
