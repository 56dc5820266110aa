// A whole MobileNetV2 block (expansion 6, k3, ReLU6, residual) on every
// activation shape of shapes.hpp: inference (eval mode, no graph) and a
// training forward + backward, in GFLOP/s. And the memory-bandwidth roofline
// the depthwise kernels are judged against: a STREAM-style triad
// a = b + s * c on arrays far larger than the caches, in GB/s (12 bytes per
// element: two reads and one write, STREAM's convention).
#include <optional>
#include <vector>

#include <benchmark/benchmark.h>

#include <fmt/format.h>

#include <hwnas/autograd/backward.hpp>
#include <hwnas/core/parallel.hpp>
#include <hwnas/nn/mbconv.hpp>
#include <hwnas/ops/cases/common.hpp>

#include "shapes.hpp"

namespace {

using namespace hwnas;

void run_block(benchmark::State& st, bench::activation in, bench::setting set, bool backward) {
    set_num_threads(set.threads);
    rng g(1);
    mbconv m(in.c, in.c, g, {.kernel = 3, .expansion = 6, .act = activation::relu6});
    const shape xs{set.batch, in.side, in.side, in.c};
    const var x(cases::uniform(g, xs), backward);
    const tensor gy = cases::uniform(g, xs);
    if (backward) m.train();
    else m.eval();
    auto call = [&] {
        std::optional<no_grad> inference;
        if (!backward) inference.emplace();
        var y = m.forward(x);
        if (backward) {
            hwnas::backward(y, gy);
            m.zero_grad();
        }
        benchmark::DoNotOptimize(y.value().data());
    };
    // Untimed calls first: the first one pays for every new buffer's page
    // faults (12x the call itself at batch 64 on this VM), and a slow call
    // can be the only one Google Benchmark times.
    for (int i = 0; i < 2; ++i) call();
    for (auto _ : st) call();
    const double flops = 2.0 * m.macs(xs) * (backward ? 3 : 1);
    st.counters["GFLOP/s"] =
        benchmark::Counter(1e-9 * flops * static_cast<double>(st.iterations()), benchmark::Counter::kIsRate);
}

void memory_triad(benchmark::State& st) {
    set_num_threads(static_cast<int>(st.range(0)));
    const std::int64_t n = std::int64_t{1} << 25;  // 128 MiB per array
    std::vector<float> a(static_cast<std::size_t>(n)), b(a.size(), 1.0f), c(a.size(), 2.0f);
    for (auto _ : st) {
        parallel_for(0, n, [&](std::int64_t lo, std::int64_t hi) {
            float* pa = a.data();
            const float *pb = b.data(), *pc = c.data();
            for (std::int64_t i = lo; i < hi; ++i) pa[i] = pb[i] + 3.0f * pc[i];
        });
        benchmark::DoNotOptimize(a.data());
        benchmark::ClobberMemory();
    }
    st.counters["GB/s"] = benchmark::Counter(12e-9 * static_cast<double>(n) * static_cast<double>(st.iterations()),
                                             benchmark::Counter::kIsRate);
}

const bool registered = [] {
    for (const bench::activation in : bench::activations)
        for (const bench::setting set : bench::settings)
            for (const bool backward : {false, true})
                benchmark::RegisterBenchmark(
                    fmt::format("mbconv_e6_k3/{}/{}/{}", in.str(), set.str(), backward ? "fwd_bwd" : "fwd").c_str(),
                    [=](benchmark::State& st) { run_block(st, in, set, backward); })
                    ->UseRealTime()
                    ->Unit(benchmark::kMicrosecond);
    return true;
}();

}  // namespace

BENCHMARK(memory_triad)->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMillisecond);
