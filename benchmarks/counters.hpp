#pragma once
// What the kernel benchmarks share: random inputs and the rate counters.
#include <benchmark/benchmark.h>

#include <cstdint>

#include <hwnas/ops/cases/common.hpp>

namespace bench {

// A tensor of uniform [-1, 1) values; the same values for the same seed.
inline hwnas::tensor random_tensor(const hwnas::shape& s, std::uint64_t seed = 1) {
    hwnas::rng g(seed);
    return hwnas::cases::uniform(g, s);
}

// GFLOP/s of `flops` per iteration, and GB/s of `bytes` per iteration when
// bytes > 0.
inline void report(benchmark::State& st, double flops, double bytes) {
    const double n = static_cast<double>(st.iterations());
    st.counters["GFLOP/s"] = benchmark::Counter(1e-9 * flops * n, benchmark::Counter::kIsRate);
    if (bytes > 0) st.counters["GB/s"] = benchmark::Counter(1e-9 * bytes * n, benchmark::Counter::kIsRate);
}

}  // namespace bench
