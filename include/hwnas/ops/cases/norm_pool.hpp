#pragma once
// Op cases: batch_norm (training and eval, each fused activation), max and
// average pooling, global average pooling.
#include <cmath>
#include <string>
#include <vector>

#include "hwnas/ops/batch_norm.hpp"
#include "hwnas/ops/cases/common.hpp"
#include "hwnas/ops/pool.hpp"

namespace hwnas {

namespace cases {

// Inputs {x, gamma, beta} for batch_norm followed by an activation with the
// given kinks. The output is normalized, so x alone cannot keep it off a kink:
// per channel, beta is chosen on a grid to keep gamma * xhat + beta as far as
// possible from every kink, with the first kink inside the bulk of the values
// (at xhat in [-1.5, 0.5]) so both sides of it are exercised. xhat uses the
// batch statistics, or (mean, var) when given (eval).
inline std::vector<tensor> batch_norm_inputs(rng& g, const shape& s, float gamma_scale, std::vector<float> kinks,
                                             const tensor& mean = tensor(), const tensor& var = tensor()) {
    tensor x = uniform(g, s), gamma = uniform(g, {s.dim(-1)}, 0.8f * gamma_scale, 1.2f * gamma_scale),
           beta = uniform(g, {s.dim(-1)}, -0.5f, 0.5f);
    if (kinks.empty()) return {x, gamma, beta};
    const index_t C = s.dim(-1), rows = x.numel() / C;
    for (index_t c = 0; c < C; ++c) {
        std::vector<double> xhat(static_cast<std::size_t>(rows));
        double m = 0, v = 0;
        if (mean.defined()) {
            m = mean[c], v = var[c];
        } else {
            for (index_t r = 0; r < rows; ++r) m += x[r * C + c];
            m /= static_cast<double>(rows);
            for (index_t r = 0; r < rows; ++r) v += (x[r * C + c] - m) * (x[r * C + c] - m);
            v /= static_cast<double>(rows);
        }
        for (index_t r = 0; r < rows; ++r) xhat[static_cast<std::size_t>(r)] = (x[r * C + c] - m) / std::sqrt(v + 1e-5);
        double best_gap = -1;
        for (double t = -1.5; t <= 0.5; t += 0.005) {
            const double b = kinks.front() - gamma[c] * t;
            double gap = 1e9;
            for (double xh : xhat)
                for (float k : kinks) gap = std::min(gap, std::abs(gamma[c] * xh + b - k));
            if (gap > best_gap) best_gap = gap, beta[c] = static_cast<float>(b);
        }
    }
    return {x, gamma, beta};
}

inline graph_fn batch_norm_apply(bool training, activation act, tensor running_mean, tensor running_var) {
    return [=](std::span<const var> in) {
        tensor rm = running_mean, rv = running_var;  // shared storage: training updates them in place
        return batch_norm(in[0], in[1], in[2], rm, rv, training, 0.1f, 1e-5f, act);
    };
}

}  // namespace cases

inline void add_norm_pool_cases(std::vector<op_case>& c) {
    // batch_norm, training: rank 4 with every fused activation, rank 2.
    struct act_case {
        const char* name;
        activation act;
        float gamma;  // spreads the values over the activation's kinks
        std::vector<float> kinks;
    };
    const std::vector<act_case> acts{{"", activation::none, 1.0f, {}},
                                     {" relu", activation::relu, 1.5f, {0.0f}},
                                     {" relu6", activation::relu6, 4.0f, {0.0f, 6.0f}},
                                     {" hard_swish", activation::hard_swish, 3.0f, {-3.0f, 3.0f}},
                                     {" sigmoid", activation::sigmoid, 2.0f, {}}};
    for (const shape s : {shape{2, 3, 4, 5}, shape{8, 3}}) {
        const tensor rm = tensor::zeros({s.dim(-1)}), rv = tensor::ones({s.dim(-1)});
        for (const auto& a : acts) {
            if (s.rank() == 2 && a.act != activation::none && a.act != activation::relu) continue;
            c.push_back({"batch_norm training" + std::string(a.name) + " rank " + std::to_string(s.rank()),
                         [=](rng& g) { return cases::batch_norm_inputs(g, s, a.gamma, a.kinks); },
                         cases::batch_norm_apply(true, a.act, rm.clone(), rv.clone()), {},
                         batch_norm_flops(s, true)});
        }
    }
    // batch_norm, eval: fixed running statistics.
    for (const auto& a : {acts[0], acts[2]}) {
        const shape s{2, 3, 4, 5};
        rng stats(7);
        const tensor rm = cases::uniform(stats, {5}, -0.5f, 0.5f), rv = cases::uniform(stats, {5}, 0.5f, 1.5f);
        c.push_back({"batch_norm eval" + std::string(a.name),
                     [=](rng& g) { return cases::batch_norm_inputs(g, s, a.gamma, a.kinks, rm, rv); },
                     cases::batch_norm_apply(false, a.act, rm, rv), {}, batch_norm_flops(s, false)});
    }

    // 2-d pooling; max pool inputs are distinct so finite differences never swap a window's maximum.
    auto pool_flops = [](const shape& s, index_t k, index_t st, index_t p) {
        return pool2d_flops({s[0], (s[1] + 2 * p - k) / st + 1, (s[2] + 2 * p - k) / st + 1, s[3]}, k);
    };
    struct pool_case {
        index_t k, s, p;
        shape in;
    };
    for (const pool_case& p : {pool_case{2, 2, 0, {2, 4, 4, 3}}, pool_case{3, 2, 1, {2, 5, 5, 3}},
                               pool_case{3, 1, 1, {1, 4, 4, 2}}}) {
        c.push_back({fmt::format("max_pool2d k{} s{} p{}", p.k, p.s, p.p),
                     [=](rng& g) { return std::vector{cases::distinct(g, p.in)}; },
                     cases::unary([=](const var& x) { return max_pool2d(x, p.k, p.s, p.p); }), {},
                     pool_flops(p.in, p.k, p.s, p.p)});
    }
    for (const pool_case& p : {pool_case{3, 1, 1, {2, 4, 4, 3}}, pool_case{3, 2, 1, {2, 5, 5, 3}},
                               pool_case{2, 2, 0, {2, 4, 4, 3}}})
        for (bool include : {true, false}) {
            if (p.p == 0 && !include) continue;  // without padding both settings are the same
            c.push_back({fmt::format("avg_pool2d k{} s{} p{}{}", p.k, p.s, p.p, include ? " count_include_pad" : ""),
                         [=](rng& g) { return std::vector{cases::uniform(g, p.in)}; },
                         cases::unary([=](const var& x) { return avg_pool2d(x, p.k, p.s, p.p, include); }), {},
                         pool_flops(p.in, p.k, p.s, p.p)});
        }
    c.push_back({"global_avg_pool", [](rng& g) { return std::vector{cases::uniform(g, {2, 3, 4, 5})}; },
                 cases::unary([](const var& x) { return global_avg_pool(x); }), {}, 2.0 * 3 * 4 * 5});
}

}  // namespace hwnas
