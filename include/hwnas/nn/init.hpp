#pragma once
// Weight initialization from a seeded hwnas::rng, so a seed fixes the initial
// network on every platform. Fans follow PyTorch: linear [in, out] has fan_in
// in and fan_out out; a conv weight HWIO [KH, KW, Cin/groups, Cout] has
// fan_in KH*KW*Cin/groups and fan_out KH*KW*Cout.
#include <cmath>
#include <numbers>

#include "hwnas/core/rng.hpp"
#include "hwnas/tensor/tensor.hpp"

namespace hwnas {

enum class fan_mode { fan_in, fan_out };

// Gain for ReLU-family activations (He et al. 2015).
inline constexpr float relu_gain = std::numbers::sqrt2_v<float>;

struct fans {
    index_t in = 0, out = 0;
};

inline fans compute_fans(const shape& w) {
    if (w.rank() == 2) return {w[0], w[1]};
    if (w.rank() == 4) return {w[0] * w[1] * w[2], w[0] * w[1] * w[3]};
    throw shape_error(fmt::format(
        "compute_fans: weight has shape {}, expected rank 2 [in, out] or rank 4 [KH, KW, Cin/groups, Cout]", w));
}

inline index_t fan(const shape& w, fan_mode mode) {
    const fans f = compute_fans(w);
    const index_t n = mode == fan_mode::fan_in ? f.in : f.out;
    if (n == 0) throw shape_error(fmt::format("compute_fans: weight of shape {} has a zero fan", w));
    return n;
}

// Uniform in [lo, hi).
inline void uniform_init(tensor& w, rng& gen, float lo, float hi) {
    require(lo < hi, "uniform_init: the range [{}, {}) is empty, expected lo < hi", lo, hi);
    for (float& v : w) v = gen.uniform(lo, hi);
}

// Normal with standard deviation gain / sqrt(fan).
inline void kaiming_normal(tensor& w, rng& gen, fan_mode mode = fan_mode::fan_in, float gain = relu_gain) {
    const float stddev = gain / std::sqrt(static_cast<float>(fan(w.shape(), mode)));
    for (float& v : w) v = gen.normal(0.0f, stddev);
}

// Uniform in [-b, b) with b = gain * sqrt(3 / fan): the same variance as kaiming_normal.
inline void kaiming_uniform(tensor& w, rng& gen, fan_mode mode = fan_mode::fan_in, float gain = relu_gain) {
    const float bound = gain * std::sqrt(3.0f / static_cast<float>(fan(w.shape(), mode)));
    uniform_init(w, gen, -bound, bound);
}

}  // namespace hwnas
