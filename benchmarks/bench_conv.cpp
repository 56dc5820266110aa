// conv2d kernels: forward, and forward + backward (input, weight and bias
// gradients), in GFLOP/s; depthwise also in GB/s of compulsory traffic. Each
// GEMM-type conv is registered next to OpenBLAS sgemm on its equivalent GEMM
// shape(s) (named sgemm.<op>), at the same thread count; conv3x3 (Winograd
// where conv2d picks it) next to conv3x3_im2col, the im2col + GEMM path on the
// same shape. GFLOP/s count a direct conv's FLOPs for every path. Names:
// op/HxWxC/bBATCH/tTHREADS/mode, C the block input channels, 6c expanded
// (shapes and settings: shapes.hpp).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include <cblas.h>
#include <fmt/format.h>

#include <hwnas/core/parallel.hpp>
#include <hwnas/core/rng.hpp>
#include <hwnas/ops/conv2d.hpp>

#include "counters.hpp"
#include "shapes.hpp"

namespace {

using namespace hwnas;

void run_conv(benchmark::State& st, shape xs, shape ws, conv2d_params p, int threads, bool backward,
              bool im2col_only = false) {
    set_num_threads(threads);
    const shape ys = conv2d_output_shape(xs, ws, p);
    const auto g = detail::conv2d_geometry(xs, ws, ys, p);
    const tensor x = bench::random_tensor(xs), w = bench::random_tensor(ws);
    const tensor b = bench::random_tensor({ws[3]}), gy = bench::random_tensor(ys);
    tensor y = tensor::uninitialized(ys), gx = tensor::uninitialized(xs), gw = tensor::uninitialized(ws),
           gb = tensor::uninitialized({ws[3]});
    using kernels::conv_geometry;
    const auto forward = im2col_only ? [](const conv_geometry& k, const float* a, const float* b, const float* c,
                                          float* d) { kernels::conv_gemm_forward(k, a, b, c, d); }
                                     : detail::conv2d_forward;
    const auto input_grad = im2col_only ? [](const conv_geometry& k, const float* a, const float* b,
                                             float* c) { kernels::conv_gemm_backward_input(k, a, b, c); }
                                        : detail::conv2d_backward_input;
    const auto weight_grad = im2col_only ? [](const conv_geometry& k, const float* a, const float* b,
                                              float* c) { kernels::conv_gemm_backward_weight(k, a, b, c); }
                                         : detail::conv2d_backward_weight;
    const auto step = [&] {
        forward(g, x.data(), w.data(), b.data(), y.data());
        if (backward) {
            input_grad(g, gy.data(), w.data(), gx.data());
            weight_grad(g, x.data(), gy.data(), gw.data());
            kernels::bias_grad(gy.data(), g.out_pixels(), g.cout, gb.data());
        }
    };
    step();  // untimed: the first write to each fresh output page faults (measured 0.7 s of 0.73 s, 308 MB)
    for (auto _ : st) {
        step();
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    const double fwd = 2.0 * conv2d_macs(xs, ws, p);
    // Depthwise is memory-bound: count what each kernel must move at least
    // once. Forward: x read, y written. Backward: gy read and gx written
    // (input), x and gy read (weight), gy read (bias).
    const double xb = 4.0 * static_cast<double>(xs.numel()), yb = 4.0 * static_cast<double>(ys.numel());
    const double bytes = g.depthwise() ? (backward ? 3 * xb + 4 * yb : xb + yb) : 0;
    bench::report(st, backward ? 3 * fwd : fwd, bytes);
}

// `groups` independent row-major GEMMs [m, k] x [k, n]; with backward also
// the two gradient GEMMs (NT and TN), as a conv's backward runs them.
void run_sgemm(benchmark::State& st, int m, int n, int k, int groups, int threads, bool backward) {
    set_num_threads(threads);
    const tensor a = bench::random_tensor({groups, m, k}), b = bench::random_tensor({groups, k, n});
    const tensor gc = bench::random_tensor({groups, m, n});
    tensor c = tensor::uninitialized({groups, m, n}), ga = tensor::uninitialized({groups, m, k}),
           gb = tensor::uninitialized({groups, k, n});
    const auto step = [&] {
        for (int i = 0; i < groups; ++i) {
            const auto ma = static_cast<std::int64_t>(m) * k * i, mb = static_cast<std::int64_t>(k) * n * i,
                       mc = static_cast<std::int64_t>(m) * n * i;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a.data() + ma, k, b.data() + mb, n,
                        0.0f, c.data() + mc, n);
            if (backward) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, k, n, 1.0f, gc.data() + mc, n, b.data() + mb,
                            n, 0.0f, ga.data() + ma, k);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, n, m, 1.0f, a.data() + ma, k, gc.data() + mc,
                            n, 0.0f, gb.data() + mb, n);
            }
        }
    };
    step();  // untimed, as in run_conv
    for (auto _ : st) {
        step();
        benchmark::DoNotOptimize(c.data());
        benchmark::ClobberMemory();
    }
    bench::report(st, 2.0 * m * n * k * groups * (backward ? 3 : 1), 0);
}

const bool registered = [] {
    for (const bench::activation in : bench::activations)
        for (const bench::setting set : bench::settings)
            for (const bool backward : {false, true}) {
                const index_t c = in.c, e = 6 * in.c, batch = set.batch;
                const int m = static_cast<int>(batch * in.side * in.side), threads = set.threads;
                const std::string tag = fmt::format("{}/{}/{}", in.str(), set.str(), backward ? "fwd_bwd" : "fwd");
                const shape x{batch, in.side, in.side, c}, xe{batch, in.side, in.side, e};
                auto conv = [&](const std::string& name, shape xs, shape ws, conv2d_params p, bool im2col = false) {
                    benchmark::RegisterBenchmark((name + "/" + tag).c_str(), [=](benchmark::State& st) {
                        run_conv(st, xs, ws, p, threads, backward, im2col);
                    })->UseRealTime()->Unit(benchmark::kMicrosecond);
                };
                auto sgemm = [&](const std::string& name, int mm, index_t n, index_t k, int groups) {
                    benchmark::RegisterBenchmark(("sgemm." + name + "/" + tag).c_str(), [=](benchmark::State& st) {
                        run_sgemm(st, mm, static_cast<int>(n), static_cast<int>(k), groups, threads, backward);
                    })->UseRealTime()->Unit(benchmark::kMicrosecond);
                };
                conv("conv3x3", x, {3, 3, c, c}, {.padding = 1});
                conv("conv3x3_im2col", x, {3, 3, c, c}, {.padding = 1}, true);
                sgemm("conv3x3", m, c, 9 * c, 1);
                conv("pointwise_expand", x, {1, 1, c, e}, {});
                sgemm("pointwise_expand", m, e, c, 1);
                conv("pointwise_project", xe, {1, 1, e, c}, {});
                sgemm("pointwise_project", m, c, e, 1);
                conv("grouped_pointwise_g2", x, {1, 1, c / 2, e}, {.groups = 2});
                sgemm("grouped_pointwise_g2", m, e / 2, c / 2, 2);
                for (const index_t k : {3, 5})
                    for (const index_t s : {1, 2})
                        for (const index_t ch : {c, e})
                            conv(fmt::format("depthwise_k{}s{}_{}", k, s, ch == c ? "c" : "6c"), ch == c ? x : xe,
                                 {k, k, 1, ch}, {.stride = s, .padding = k / 2, .groups = ch});
            }
    return true;
}();

}  // namespace
