// Batch norm (+ fused ReLU, training mode) and max/avg pooling, forward and
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

namespace {

using hwnas::index_t;

// Args: N, H, W, C, threads.
hwnas::shape input_shape(const benchmark::State& st) {
    return {st.range(0), st.range(1), st.range(2), st.range(3)};
}

void shapes(benchmark::internal::Benchmark* b) {
    b->ArgNames({"N", "H", "W", "C", "threads"});
    for (int threads : {1, 2})
        for (index_t n : {1, 64})
            for (auto [h, c] : {std::pair<index_t, index_t>{56, 24}, {28, 16}, {14, 64}}) b->Args({n, h, h, c, threads});
    b->UseRealTime();
}

void report_bytes(benchmark::State& st, double bytes) {
    st.counters["bytes"] = benchmark::Counter(bytes * static_cast<double>(st.iterations()),
                                              benchmark::Counter::kIsRate);
}

template <bool Backward>
void bm_batch_norm_relu(benchmark::State& st) {
    hwnas::set_num_threads(static_cast<int>(st.range(4)));
    const hwnas::shape s = input_shape(st);
    const index_t c = s[3];
    hwnas::rng g(1);
    hwnas::var x(hwnas::cases::uniform(g, s), Backward), gamma(hwnas::tensor::ones({c}), Backward),
        beta(hwnas::tensor::zeros({c}), Backward);
    const hwnas::tensor gy = hwnas::cases::uniform(g, s);
    hwnas::tensor rm = hwnas::tensor::zeros({c}), rv = hwnas::tensor::ones({c});
    for (auto _ : st) {
        hwnas::var y = hwnas::batch_norm(x, gamma, beta, rm, rv, true, 0.1f, 1e-5f, hwnas::activation::relu);
        if constexpr (Backward) {
            hwnas::backward(y, gy);
            x.zero_grad();
            gamma.zero_grad();
            beta.zero_grad();
        }
        benchmark::DoNotOptimize(y.value().data());
    }
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
    for (auto _ : st) {
        hwnas::var y = pool();
        if constexpr (Backward) {
            hwnas::backward(y, gy);
            x.zero_grad();
        }
        benchmark::DoNotOptimize(y.value().data());
    }
    const double in = static_cast<double>(s.numel()) * 4.0, out = static_cast<double>(gy.numel()) * 4.0;
    report_bytes(st, Backward ? 2 * in + (Max ? 3 : 2) * out : in + out);
}

}  // namespace

BENCHMARK(bm_batch_norm_relu<false>)->Apply(shapes);
BENCHMARK(bm_batch_norm_relu<true>)->Apply(shapes);
BENCHMARK_TEMPLATE(bm_pool, true, false, 3, 1, 1)->Apply(shapes);
BENCHMARK_TEMPLATE(bm_pool, true, true, 3, 1, 1)->Apply(shapes);
BENCHMARK_TEMPLATE(bm_pool, true, false, 3, 2, 1)->Apply(shapes);
BENCHMARK_TEMPLATE(bm_pool, true, true, 3, 2, 1)->Apply(shapes);
BENCHMARK_TEMPLATE(bm_pool, false, false, 3, 1, 1)->Apply(shapes);
BENCHMARK_TEMPLATE(bm_pool, false, true, 3, 1, 1)->Apply(shapes);
