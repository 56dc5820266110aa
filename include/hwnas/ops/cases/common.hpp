#pragma once
// What an op case is, and input makers for cases.
#include <functional>
#include <string>
#include <vector>

#include "hwnas/autograd/grad_check.hpp"
#include "hwnas/core/rng.hpp"

namespace hwnas {

struct op_case {
    std::string name;  // op and configuration, e.g. "relu [2,4,4,3]"
    std::function<std::vector<tensor>(rng&)> make_inputs;
    graph_fn apply;
    std::vector<bool> differentiable;  // per input; empty means all
    double flops = 0;                  // forward floating-point operations
    grad_check_options check{};
};

// Input makers for cases.
namespace cases {

inline tensor uniform(rng& g, const shape& s, float lo = -1.0f, float hi = 1.0f) {
    tensor t = tensor::uninitialized(s);
    for (float& v : t) v = g.uniform(lo, hi);
    return t;
}
// Values at least `gap` away from every kink in `kinks`, for piecewise ops.
inline tensor away_from(rng& g, const shape& s, std::initializer_list<float> kinks, float lo, float hi,
                        float gap = 0.05f) {
    tensor t = tensor::uninitialized(s);
    for (float& v : t) {
        bool ok;
        do {
            v = g.uniform(lo, hi);
            ok = true;
            for (float k : kinks) ok = ok && std::abs(v - k) > gap;
        } while (!ok);
    }
    return t;
}
// All values distinct and spaced apart (max pool, argmax-like ops).
inline tensor distinct(rng& g, const shape& s, float spacing = 0.05f) {
    std::vector<index_t> perm(static_cast<std::size_t>(s.numel()));
    for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<index_t>(i);
    g.shuffle(perm);
    tensor t = tensor::uninitialized(s);
    const float offset = -0.5f * spacing * static_cast<float>(perm.size());
    for (std::size_t i = 0; i < perm.size(); ++i) t[static_cast<index_t>(i)] = offset + spacing * static_cast<float>(perm[i]);
    return t;
}

template <class F>
graph_fn unary(F f) {
    return [f](std::span<const var> in) { return f(in[0]); };
}

}  // namespace cases

}  // namespace hwnas
