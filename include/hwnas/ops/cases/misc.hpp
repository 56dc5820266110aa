#pragma once
// Op cases: softmax family and losses, channel movement, weighted_sum,
// dropout, elementwise math and reshape. Ops that draw random numbers re-seed
// their generator inside apply, so every evaluation of a case is identical.
#include <cstdint>
#include <vector>

#include "hwnas/ops/cases/common.hpp"
#include "hwnas/ops/channels.hpp"
#include "hwnas/ops/dropout.hpp"
#include "hwnas/ops/elementwise.hpp"
#include "hwnas/ops/math.hpp"
#include "hwnas/ops/mixed.hpp"
#include "hwnas/ops/softmax.hpp"

namespace hwnas {

inline void add_misc_cases(std::vector<op_case>& c) {
    const shape act{2, 3, 4, 5};  // [N, H, W, C]
    const double n = static_cast<double>(act.numel());
    auto one = [](shape s, float lo = -1.0f, float hi = 1.0f) {
        return [=](rng& g) { return std::vector{cases::uniform(g, s, lo, hi)}; };
    };
    const std::vector<std::int32_t> labels{1, 4, 0, 2};  // for logits [4, 5]

    // softmax family (about 4 flops per element: max, subtract, exp, normalize)
    c.push_back({"softmax rank 1 [7]", one({7}, -3, 3), cases::unary([](const var& x) { return softmax(x); }), {},
                 4.0 * 7});
    c.push_back({"softmax rank 2 [3,5]", one({3, 5}, -3, 3), cases::unary([](const var& x) { return softmax(x); }),
                 {}, 4.0 * 15});
    c.push_back({"softmax rank 4 [2,2,3,4]", one({2, 2, 3, 4}, -3, 3),
                 cases::unary([](const var& x) { return softmax(x); }), {}, 4.0 * 48});
    c.push_back({"log_softmax [3,5]", one({3, 5}, -3, 3), cases::unary([](const var& x) { return log_softmax(x); }),
                 {}, 4.0 * 15});
    c.push_back({"cross_entropy [4,5]", one({4, 5}, -3, 3),
                 cases::unary([labels](const var& x) { return cross_entropy(x, labels); }), {}, 5.0 * 20});
    c.push_back({"cross_entropy label smoothing 0.1 [4,5]", one({4, 5}, -3, 3),
                 cases::unary([labels](const var& x) { return cross_entropy(x, labels, 0.1f); }), {}, 6.0 * 20});
    // FBNet's loss CE * alpha * log(LAT)^beta, with LAT a positive scalar.
    c.push_back({"fbnet loss ce * 0.2 * log(lat)^0.6",
                 [](rng& g) { return std::vector{cases::uniform(g, {4, 5}, -3, 3), cases::uniform(g, {}, 2, 5)}; },
                 [labels](std::span<const var> in) {
                     return mul(cross_entropy(in[0], labels), scale(pow_scalar(log(in[1]), 0.6f), 0.2f));
                 },
                 {}, 5.0 * 20 + 4});
    c.push_back({"gumbel_softmax tau 1 [3,4]", one({3, 4}, -2, 2), cases::unary([](const var& x) {
                     rng gen(7);
                     return gumbel_softmax(x, 1.0f, gen);
                 }),
                 {}, 8.0 * 12});
    c.push_back({"gumbel_softmax tau 0.5 [2,2,4]", one({2, 2, 4}, -2, 2), cases::unary([](const var& x) {
                     rng gen(8);
                     return gumbel_softmax(x, 0.5f, gen);
                 }),
                 {}, 8.0 * 16});

    // channel movement (no arithmetic)
    c.push_back({"concat_channels 2 inputs",
                 [](rng& g) { return std::vector{cases::uniform(g, {2, 3, 3, 2}), cases::uniform(g, {2, 3, 3, 4})}; },
                 [](std::span<const var> in) { return concat_channels({in[0], in[1]}); }, {}, 0});
    c.push_back({"concat_channels 3 inputs",
                 [](rng& g) {
                     return std::vector{cases::uniform(g, {3, 3}), cases::uniform(g, {3, 1}),
                                        cases::uniform(g, {3, 5})};
                 },
                 [](std::span<const var> in) { return concat_channels(in); }, {}, 0});
    c.push_back({"slice_channels [1,4) of [2,3,3,6]", one({2, 3, 3, 6}),
                 cases::unary([](const var& x) { return slice_channels(x, 1, 4); }), {}, 0});
    c.push_back({"channel_shuffle 3 groups [2,2,2,6]", one({2, 2, 2, 6}),
                 cases::unary([](const var& x) { return channel_shuffle(x, 3); }), {}, 0});
    c.push_back({"channel_shuffle 2 groups [3,8]", one({3, 8}),
                 cases::unary([](const var& x) { return channel_shuffle(x, 2); }), {}, 0});

    // mixture of candidate outputs
    c.push_back({"weighted_sum 3 inputs",
                 [=](rng& g) {
                     return std::vector{cases::uniform(g, act), cases::uniform(g, act), cases::uniform(g, act),
                                        cases::uniform(g, {3})};
                 },
                 [](std::span<const var> in) { return weighted_sum(in.first(3), in[3]); }, {}, 2.0 * 3 * n});
    // ProxylessNAS: path 1 is not computed and its gate is held at exactly 0;
    // the two live gates are the differentiable input.
    c.push_back({"weighted_sum with one absent input",
                 [=](rng& g) {
                     return std::vector{cases::uniform(g, act), cases::uniform(g, act), cases::uniform(g, {2})};
                 },
                 [](std::span<const var> in) {
                     const var w = concat_channels(
                         {slice_channels(in[2], 0, 1), var(tensor::zeros({1})), slice_channels(in[2], 1, 2)});
                     return weighted_sum({in[0], var(), in[1]}, w);
                 },
                 {}, 2.0 * 2 * n});

    // dropout
    c.push_back({"dropout p 0.3 training", one(act), cases::unary([](const var& x) {
                     rng gen(11);
                     return dropout(x, 0.3f, gen, true);
                 }),
                 {}, n});
    c.push_back({"dropout p 0.3 eval", one(act), cases::unary([](const var& x) {
                     rng gen(11);
                     return dropout(x, 0.3f, gen, false);
                 }),
                 {}, 0});

    // elementwise math and views
    c.push_back({"log", one(act, 0.5f, 3.0f), cases::unary([](const var& x) { return log(x); }), {}, n});
    c.push_back({"exp", one(act, -2.0f, 2.0f), cases::unary([](const var& x) { return exp(x); }), {}, n});
    c.push_back({"pow_scalar 2.5", one(act, 0.5f, 2.0f), cases::unary([](const var& x) { return pow_scalar(x, 2.5f); }),
                 {}, n});
    c.push_back({"pow_scalar 3 negative base", one(act, -2.0f, 2.0f),
                 cases::unary([](const var& x) { return pow_scalar(x, 3.0f); }), {}, n});
    c.push_back({"pow_scalar -1.5", one(act, 0.5f, 2.0f),
                 cases::unary([](const var& x) { return pow_scalar(x, -1.5f); }), {}, n});
    c.push_back({"sub", [=](rng& g) { return std::vector{cases::uniform(g, act), cases::uniform(g, act)}; },
                 [](std::span<const var> in) { return sub(in[0], in[1]); }, {}, n});
    c.push_back({"reshape [2,3,4,5] to [6,20]", one(act),
                 cases::unary([](const var& x) { return reshape(x, {6, 20}); }), {}, 0});
    c.push_back({"flatten [2,3,4,5]", one(act), cases::unary([](const var& x) { return flatten(x); }), {}, 0});
}

}  // namespace hwnas
