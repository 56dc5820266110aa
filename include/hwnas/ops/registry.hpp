#pragma once
// The one list of op cases. Each case names an op configuration, makes its
// inputs from a seeded generator, applies the op, and states its forward
// FLOPs. Tests grad-check every case; benchmarks time them.
#include <functional>
#include <string>
#include <vector>

#include "hwnas/autograd/grad_check.hpp"
#include "hwnas/core/rng.hpp"
#include "hwnas/ops/activation.hpp"
#include "hwnas/ops/elementwise.hpp"
#include "hwnas/ops/linear.hpp"
#include "hwnas/ops/reduce.hpp"

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

inline std::vector<op_case> op_cases() {
    std::vector<op_case> c;
    const shape act{2, 3, 4, 5};  // [N, H, W, C]
    const double n = static_cast<double>(act.numel());

    // elementwise
    c.push_back({"add", [=](rng& g) { return std::vector{cases::uniform(g, act), cases::uniform(g, act)}; },
                 [](std::span<const var> in) { return add(in[0], in[1]); }, {}, n});
    c.push_back({"add same input twice", [=](rng& g) { return std::vector{cases::uniform(g, act)}; },
                 [](std::span<const var> in) { return add(in[0], in[0]); }, {}, n});
    c.push_back({"mul", [=](rng& g) { return std::vector{cases::uniform(g, act), cases::uniform(g, act)}; },
                 [](std::span<const var> in) { return mul(in[0], in[1]); }, {}, n});
    c.push_back({"mul by scalar", [=](rng& g) { return std::vector{cases::uniform(g, act), cases::uniform(g, {1})}; },
                 [](std::span<const var> in) { return mul(in[0], in[1]); }, {}, n});
    c.push_back({"scale", [=](rng& g) { return std::vector{cases::uniform(g, act)}; },
                 cases::unary([](const var& x) { return scale(x, -2.5f); }), {}, n});

    // activations
    c.push_back({"relu", [=](rng& g) { return std::vector{cases::away_from(g, act, {0.0f}, -2, 2)}; },
                 cases::unary([](const var& x) { return relu(x); }), {}, n});
    c.push_back({"relu6", [=](rng& g) { return std::vector{cases::away_from(g, act, {0.0f, 6.0f}, -2, 8)}; },
                 cases::unary([](const var& x) { return relu6(x); }), {}, n});
    c.push_back({"hard_swish", [=](rng& g) { return std::vector{cases::away_from(g, act, {-3.0f, 3.0f}, -5, 5)}; },
                 cases::unary([](const var& x) { return hard_swish(x); }), {}, 4 * n});
    c.push_back({"sigmoid", [=](rng& g) { return std::vector{cases::uniform(g, act, -4, 4)}; },
                 cases::unary([](const var& x) { return sigmoid(x); }), {}, 4 * n});

    // reductions
    c.push_back({"sum", [=](rng& g) { return std::vector{cases::uniform(g, act)}; },
                 cases::unary([](const var& x) { return sum(x); }), {}, n});
    c.push_back({"mean", [=](rng& g) { return std::vector{cases::uniform(g, act)}; },
                 cases::unary([](const var& x) { return mean(x); }), {}, n});

    // linear
    c.push_back({"linear with bias",
                 [](rng& g) { return std::vector{cases::uniform(g, {4, 6}), cases::uniform(g, {6, 3}), cases::uniform(g, {3})}; },
                 [](std::span<const var> in) { return linear(in[0], in[1], in[2]); }, {}, 2.0 * 4 * 6 * 3});
    c.push_back({"linear without bias",
                 [](rng& g) { return std::vector{cases::uniform(g, {5, 7}), cases::uniform(g, {7, 2})}; },
                 [](std::span<const var> in) { return linear(in[0], in[1]); }, {}, 2.0 * 5 * 7 * 2});
    return c;
}

}  // namespace hwnas
