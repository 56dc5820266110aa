#pragma once
// The activation shapes every kernel benchmark runs on (MobileNet-like stages
// from 112x112x16 down to 7x7x160) and the (batch, threads) settings: batch 1
// on one thread is the latency case, batch 64 on one and two threads the
// training case.
#include <string>

#include <fmt/format.h>

#include <hwnas/tensor/shape.hpp>

namespace bench {

struct activation {
    hwnas::index_t side, c;
    std::string str() const { return fmt::format("{}x{}x{}", side, side, c); }
};
inline constexpr activation activations[] = {{112, 16}, {56, 24}, {28, 16}, {28, 32}, {14, 64}, {7, 160}};

struct setting {
    hwnas::index_t batch;
    int threads;
    std::string str() const { return fmt::format("b{}/t{}", batch, threads); }
};
inline constexpr setting settings[] = {{1, 1}, {64, 1}, {64, 2}};

}  // namespace bench
