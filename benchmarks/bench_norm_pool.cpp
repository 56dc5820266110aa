// Batch norm (+ fused ReLU; inference, training) and max/avg pooling, forward and
// forward + backward, at batch 1 and 64 on MobileNet-like activations.
// The "bytes" rate counts every tensor the op reads or writes once: x and y
// forward; x, y, dy and dx (and max pool's int32 argmax) forward + backward.
// Forward + backward goes through the public backward(y, dy), which also
// copies dy once (as any caller pays).
#include <benchmark/benchmark.h>

#include <hwnas/autograd/backward.hpp>
#include <hwnas/ops/batch_norm.hpp>
#include <hwnas/ops/cases/common.hpp>
#include <hwnas/ops/pool.hpp>

#include "shapes.hpp"

namespace {

using hwnas::index_t;

// Args: N, H, W, C, threads.
hwnas::shape input_shape(const benchmark::State& st) {
    return {st.range(0), st.range(1), st.range(2), st.range(3)};
}

void shapes(benchmark::internal::Benchmark* b) {
    b->ArgNames({"N", "H", "W", "C", "threads"});
    for (const bench::setting set : bench::settings)
        for (const bench::activation in : bench::activations) b->Args({set.batch, in.side, in.side, in.c, set.threads});
    b->UseRealTime();
}

void report_bytes(benchmark::State& st, double bytes) {
    st.counters["bytes"] = benchmark::Counter(bytes * static_cast<double>(st.iterations()),
                                              benchmark::Counter::kIsRate);
}

// Training: batch statistics (and running-statistic update); inference: running
// statistics folded into one scale and shift, fused with the ReLU.
template <bool Training, bool Backward>
void bm_batch_norm_relu(benchmark::State& st) {
    static_assert(Training || !Backward);
    hwnas::set_num_threads(static_cast<int>(st.range(4)));
    const hwnas::shape s = input_shape(st);
    const index_t c = s[3];
    hwnas::rng g(1);
    hwnas::var x(hwnas::cases::uniform(g, s), Backward), gamma(hwnas::tensor::ones({c}), Backward),
        beta(hwnas::tensor::zeros({c}), Backward);
    const hwnas::tensor gy = hwnas::cases::uniform(g, s);
    hwnas::tensor rm = hwnas::tensor::zeros({c}), rv = hwnas::tensor::ones({c});
    auto call = [&] {
        hwnas::var y = hwnas::batch_norm(x, gamma, beta, rm, rv, Training, 0.1f, 1e-5f, hwnas::activation::relu);
        if constexpr (Backward) {
            hwnas::backward(y, gy);
            x.zero_grad();
            gamma.zero_grad();
            beta.zero_grad();
        }
        benchmark::DoNotOptimize(y.value().data());
    };
    for (int i = 0; i < 2; ++i) call();  // untimed: the first call pays the new buffers' page faults
    for (auto _ : st) call();
    report_bytes(st, static_cast<double>(s.numel()) * 4.0 * (Backward ? 4 : 2));
}

template <bool Max, bool Backward, index_t kernel, index_t stride, index_t padding>
void bm_pool(benchmark::State& st) {
    hwnas::set_num_threads(static_cast<int>(st.range(4)));
    const hwnas::shape s = input_shape(st);
    hwnas::rng g(1);
    hwnas::var x(hwnas::cases::uniform(g, s), Backward);
    auto pool = [&] {
        return Max ? hwnas::max_pool2d(x, kernel, stride, padding)
                   : hwnas::avg_pool2d(x, kernel, stride, padding, false);
    };
    const hwnas::tensor gy = hwnas::cases::uniform(g, pool().shape());
    auto call = [&] {
        hwnas::var y = pool();
        if constexpr (Backward) {
            hwnas::backward(y, gy);
            x.zero_grad();
        }
        benchmark::DoNotOptimize(y.value().data());
    };
    for (int i = 0; i < 2; ++i) call();  // untimed, as above
    for (auto _ : st) call();
    const double in = static_cast<double>(s.numel()) * 4.0, out = static_cast<double>(gy.numel()) * 4.0;
    report_bytes(st, Backward ? 2 * in + (Max ? 3 : 2) * out : in + out);
}

}  // namespace

BENCHMARK_TEMPLATE(bm_batch_norm_relu, false, false)->Apply(shapes);
BENCHMARK_TEMPLATE(bm_batch_norm_relu, true, false)->Apply(shapes);
BENCHMARK_TEMPLATE(bm_batch_norm_relu, true, true)->Apply(shapes);
BENCHMARK_TEMPLATE(bm_pool, true, false, 3, 1, 1)->Apply(shapes);
BENCHMARK_TEMPLATE(bm_pool, true, true, 3, 1, 1)->Apply(shapes);
BENCHMARK_TEMPLATE(bm_pool, true, false, 3, 2, 1)->Apply(shapes);
BENCHMARK_TEMPLATE(bm_pool, true, true, 3, 2, 1)->Apply(shapes);
BENCHMARK_TEMPLATE(bm_pool, false, false, 3, 1, 1)->Apply(shapes);
BENCHMARK_TEMPLATE(bm_pool, false, true, 3, 1, 1)->Apply(shapes);
