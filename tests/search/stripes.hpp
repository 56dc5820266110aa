#pragma once
// The synthetic task of the searchers' known-answer tests: 8x8 gray images,
// class 0 horizontal stripes, class 1 vertical, random phase and amplitude.
// Every pixel histogram is the same in both classes, so a per-pixel op (skip,
// a 1x1 conv) followed by global pooling cannot tell them apart; a 3x3 conv can.
#include <hwnas/core/rng.hpp>
#include <hwnas/data/dataset.hpp>

namespace test_support {

inline hwnas::dataset stripes(hwnas::index_t n, std::uint64_t seed) {
    hwnas::rng g(seed);
    hwnas::tensor x = hwnas::tensor::zeros({n, 8, 8, 1});
    std::vector<std::int32_t> y(static_cast<std::size_t>(n));
    for (hwnas::index_t i = 0; i < n; ++i) {
        const int label = static_cast<int>(g.below(2));
        const auto phase = static_cast<hwnas::index_t>(g.below(2));
        const float amp = g.uniform(0.5f, 1.5f);
        for (hwnas::index_t r = 0; r < 8; ++r)
            for (hwnas::index_t c = 0; c < 8; ++c)
                if (((label == 0 ? r : c) + phase) % 2 == 0) x[(i * 8 + r) * 8 + c] = amp;
        y[static_cast<std::size_t>(i)] = label;
    }
    return hwnas::dataset(std::move(x), std::move(y), 2);
}

}  // namespace test_support
