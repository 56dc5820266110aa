#pragma once
// Op cases: elementwise arithmetic, activations, reductions, linear.
#include "hwnas/ops/activation.hpp"
#include "hwnas/ops/cases/common.hpp"
#include "hwnas/ops/elementwise.hpp"
#include "hwnas/ops/linear.hpp"
#include "hwnas/ops/reduce.hpp"

namespace hwnas {

inline void add_basic_cases(std::vector<op_case>& c) {
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
}

}  // namespace hwnas
