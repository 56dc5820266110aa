#pragma once
// Block profiling (algorithms.md 5, after Mills et al., CIKM 2021): the effect
// of every (choice point, candidate) on a measured value (latency, accuracy),
// estimated from end-to-end measurements of whole sampled networks only.
//
// Model: value = constant + sum over slots of coef * indicator, one indicator
// per choice point and candidate (encoding.hpp slot order), 1 when that
// candidate runs there and the choice point is live in the derived network
// (architecture.hpp: live_choice_points). A dead choice point (a removed DAG
// node, a NAS-Bench-201 edge cut off by `none`) contributes nothing, and a
// zero candidate (`none`) never runs: both are the level "the point does not
// run", whose coefficient is 0. Fitted by ridge-regularized least squares with
// the constant unpenalized (as latency/additive.hpp). For measurements of
// implementations that run dead edges anyway (the NAS-Bench-201 tables:
// their fpga and eyeriss columns are exact sums over all six edges), the
// indicators can count every chosen candidate instead (live_only = false).
//
// Effects are contrasts within a position, which the data determine even
// when a position's indicators always sum to one (layer-wise spaces): effect
// = coef[candidate] - coef[baseline]. The baseline of a position is its best
// known level, the one observed most often (ties: the lowest candidate index;
// "does not run" when that is the most frequent level and no zero candidate
// stands for it). Standard errors come from the ridge estimator's covariance
// sigma^2 A^-1 G A^-1 (G the centered Gram matrix, A = G + ridge), sigma^2 =
// RSS / (n - 1 - tr(A^-1 G)). A candidate never observed at a position has
// NaN effect and standard error.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <span>
#include <utility>
#include <string>
#include <vector>

#include <Eigen/Dense>
#include <fmt/format.h>

#include "hwnas/core/rng.hpp"
#include "hwnas/error.hpp"
#include "hwnas/latency/metrics.hpp"
#include "hwnas/latency/profiler.hpp"
#include "hwnas/space/architecture.hpp"
#include "hwnas/space/cost.hpp"
#include "hwnas/space/encoding.hpp"
#include "hwnas/space/sample.hpp"
#include "hwnas/space/search_space.hpp"

namespace hwnas {

// Per encoding slot of the choice points (choice_encoding_size(s) values): 1
// when that candidate runs at a live choice point of a's derived network, else
// 0. live_only = false: 1 for every chosen candidate, live or not (zero
// candidates included), for measurements of implementations that run dead
// edges too. Validates a.
inline std::vector<double> block_indicators(const search_space& s, const architecture& a, bool live_only = true) {
    std::vector<bool> live(a.choices.size(), true);
    if (live_only)
        live = live_choice_points(s, a);
    else
        validate(s, a);
    std::vector<double> x(choice_encoding_size(s), 0.0);
    for (std::size_t p = 0; p < live.size(); ++p)
        if (live[p]) x[encoding_index(s, static_cast<int>(p), a.choices[p])] = 1.0;
    return x;
}

struct block_effect_options {
    // Penalty ridge * n * |coef|^2 on the block coefficients (not the constant).
    double ridge = 1e-6;
    // Share of the samples held out (drawn with seed) to score a fit on the
    // others; 0 skips it. The reported effects always use every sample.
    double holdout_fraction = 0.2;
    std::uint64_t seed = 0;
    // block_indicators' live_only: false when the measured implementation
    // runs dead edges too (the NAS-Bench-201 tables); then no candidate
    // stands for "the point does not run".
    bool live_only = true;
};

struct block_fit_quality {
    std::size_t n = 0;
    double r2 = 0;                 // in sample
    double residual_sd = 0;        // sigma, NaN without residual degrees of freedom
    double dof = 0;                // residual degrees of freedom n - 1 - tr(A^-1 G)
    std::size_t heldout_n = 0;     // 0: no held-out score
    double heldout_r2 = std::numeric_limits<double>::quiet_NaN();
    double heldout_mape = std::numeric_limits<double>::quiet_NaN();  // percent; NaN when a value is 0
};

struct block_effects {
    std::string space;
    std::vector<std::string> point_names;
    std::vector<std::vector<std::string>> candidate_names;  // [point][candidate]
    std::vector<int> baseline;                     // per point: candidate index, or -1 = the point does not run
    std::vector<std::vector<double>> effect;       // [point][candidate], relative to the baseline
    std::vector<std::vector<double>> std_error;    // [point][candidate]
    std::vector<std::vector<int>> count;           // samples where it ran (zero candidates: the point did not run)
    std::vector<int> absent;                       // per point: samples where it did not run
    std::vector<double> coef;                      // per encoding slot (block_indicators order)
    Eigen::MatrixXd cov;                           // covariance of coef
    std::vector<std::size_t> first_slot;           // per point: the slot of its candidate 0
    std::vector<std::vector<bool>> zero;           // [point][candidate]: a zero candidate (the point does not run)
    double constant = 0;
    double baseline_value = 0;                     // prediction with every point live at its baseline
    block_fit_quality fit;

    // Coefficient vector selecting level j minus level k at point p (-1 or a
    // zero candidate: the point does not run, the zero vector).
    Eigen::VectorXd contrast(std::size_t p, int j, int k) const {
        Eigen::VectorXd c = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(coef.size()));
        for (const auto& [level, sign] : {std::pair{j, 1.0}, std::pair{k, -1.0}})
            if (level >= 0 && !zero[p][static_cast<std::size_t>(level)])
                c[static_cast<Eigen::Index>(first_slot[p] + static_cast<std::size_t>(level))] += sign;
        return c;
    }
    // Standard error of the effect of level j minus that of level k at point p.
    double difference_se(std::size_t p, int j, int k) const {
        const Eigen::VectorXd c = contrast(p, j, k);
        return std::sqrt(std::max(0.0, c.dot(cov * c)));
    }

    // constant + coef . block_indicators(s, a); s must be the fitted space.
    bool live_only = true;                         // the indicators it was fitted on

    double predict(const search_space& s, const architecture& a) const {
        require(s.name() == space && choice_encoding_size(s) == coef.size(),
                "block_effects::predict: effects of the space {} ({} slots), given the space {} ({} slots)", space,
                coef.size(), s.name(), choice_encoding_size(s));
        const std::vector<double> x = block_indicators(s, a, live_only);
        return std::inner_product(x.begin(), x.end(), coef.begin(), constant);
    }
};

namespace detail {

// Ridge fit of y on the rows of x with an unpenalized constant; fills the
// coefficients, the constant, the in-sample quality and the covariance.
struct block_ridge {
    Eigen::VectorXd coef;
    double constant = 0;
    Eigen::MatrixXd cov;  // of coef
    block_fit_quality fit;
};

inline block_ridge fit_block_ridge(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, double ridge) {
    const auto n = static_cast<double>(x.rows());
    const Eigen::RowVectorXd x_mean = x.colwise().mean();
    const double y_mean = y.mean();
    const Eigen::MatrixXd xc = x.rowwise() - x_mean;
    const Eigen::MatrixXd gram = xc.transpose() * xc;
    Eigen::MatrixXd a = gram;
    a.diagonal().array() += ridge * n;
    const Eigen::LDLT<Eigen::MatrixXd> ldlt(a);
    block_ridge r;
    r.coef = ldlt.solve(xc.transpose() * (y.array() - y_mean).matrix());
    r.constant = y_mean - x_mean.dot(r.coef);
    const Eigen::MatrixXd a_inv_gram = ldlt.solve(gram);
    const double rss = ((x * r.coef).array() + r.constant - y.array()).square().sum();
    const double tss = (y.array() - y_mean).square().sum();
    r.fit.n = static_cast<std::size_t>(x.rows());
    r.fit.r2 = tss > 0 ? 1 - rss / tss : std::numeric_limits<double>::quiet_NaN();
    r.fit.dof = n - 1 - a_inv_gram.trace();
    const double sigma2 = r.fit.dof > 0.5 ? rss / r.fit.dof : std::numeric_limits<double>::quiet_NaN();
    r.fit.residual_sd = std::sqrt(sigma2);
    r.cov = sigma2 * a_inv_gram * ldlt.solve(Eigen::MatrixXd::Identity(x.cols(), x.cols()));
    return r;
}

inline Eigen::MatrixXd block_design(const search_space& s, std::span<const architecture> archs, bool live_only) {
    Eigen::MatrixXd x(static_cast<Eigen::Index>(archs.size()), static_cast<Eigen::Index>(choice_encoding_size(s)));
    for (std::size_t i = 0; i < archs.size(); ++i) {
        const std::vector<double> row = block_indicators(s, archs[i], live_only);
        x.row(static_cast<Eigen::Index>(i)) = Eigen::Map<const Eigen::RowVectorXd>(row.data(), x.cols());
    }
    return x;
}

}  // namespace detail

// The block effects of s on values (one per architecture of archs, each a
// valid architecture of s). config_error on a size mismatch, fewer than 2
// samples, a non-finite value or bad options.
inline block_effects fit_block_effects(const search_space& s, std::span<const architecture> archs,
                                       std::span<const double> values, const block_effect_options& o = {}) {
    require(archs.size() == values.size(), "fit_block_effects: {} architectures and {} values, expected equal counts",
            archs.size(), values.size());
    require(archs.size() >= 2, "fit_block_effects: {} samples, expected at least 2", archs.size());
    require(o.ridge > 0 && std::isfinite(o.ridge), "fit_block_effects: ridge {}, expected a finite value > 0", o.ridge);
    require(o.holdout_fraction >= 0 && o.holdout_fraction < 1,
            "fit_block_effects: holdout fraction {}, expected 0 <= f < 1", o.holdout_fraction);
    for (std::size_t i = 0; i < values.size(); ++i)
        require(std::isfinite(values[i]), "fit_block_effects: value {} is {}, expected finite", i, values[i]);
    const Eigen::MatrixXd x = detail::block_design(s, archs, o.live_only);
    const Eigen::Map<const Eigen::VectorXd> y(values.data(), static_cast<Eigen::Index>(values.size()));
    const detail::block_ridge r = detail::fit_block_ridge(x, y, o.ridge);

    block_effects e;
    e.space = s.name();
    e.live_only = o.live_only;
    e.coef.assign(r.coef.data(), r.coef.data() + r.coef.size());
    e.cov = r.cov;
    e.constant = r.constant;
    e.baseline_value = r.constant;
    e.fit = r.fit;
    const auto& points = s.choice_points();
    for (std::size_t p = 0; p < points.size(); ++p) {
        const choice_point& cp = points[p];
        const std::size_t k_count = cp.candidates.size();
        e.first_slot.push_back(encoding_index(s, static_cast<int>(p), 0));
        e.zero.push_back(o.live_only ? cp.zero : std::vector<bool>(k_count, false));
        e.point_names.push_back(cp.name);
        e.candidate_names.emplace_back();
        for (const op_spec& c : cp.candidates) e.candidate_names.back().push_back(c.name);
        // A point runs in a sample when one of its slots is 1.
        int ran = 0;
        std::vector<int> count(k_count, 0);
        for (std::size_t k = 0; k < k_count; ++k) {
            count[k] = static_cast<int>(x.col(static_cast<Eigen::Index>(e.first_slot[p] + k)).sum());
            ran += count[k];
        }
        const int absent = static_cast<int>(archs.size()) - ran;
        for (std::size_t k = 0; k < k_count; ++k)
            if (e.zero[p][k]) count[k] = absent;
        // The baseline: the most observed level; -1 when it is "does not run" and no zero candidate names it.
        int base = static_cast<int>(std::max_element(count.begin(), count.end()) - count.begin());
        if (absent > count[static_cast<std::size_t>(base)]) base = -1;
        std::vector<double> eff(k_count), se(k_count);
        for (std::size_t k = 0; k < k_count; ++k) {
            const int level = static_cast<int>(k);
            eff[k] = count[k] == 0 ? std::numeric_limits<double>::quiet_NaN() : e.contrast(p, level, base).dot(r.coef);
            se[k] = count[k] == 0 ? std::numeric_limits<double>::quiet_NaN() : e.difference_se(p, level, base);
        }
        e.baseline_value += e.contrast(p, base, -1).dot(r.coef);
        e.baseline.push_back(base);
        e.effect.push_back(std::move(eff));
        e.std_error.push_back(std::move(se));
        e.count.push_back(std::move(count));
        e.absent.push_back(absent);
    }

    const auto n_test = static_cast<std::size_t>(o.holdout_fraction * static_cast<double>(archs.size()) + 0.5);
    if (n_test >= 1 && archs.size() - n_test >= 2) {
        std::vector<std::size_t> order(archs.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        rng gen(o.seed);
        gen.shuffle(order);
        const auto n_train = static_cast<Eigen::Index>(archs.size() - n_test);
        Eigen::MatrixXd x_train(n_train, x.cols());
        Eigen::VectorXd y_train(n_train);
        for (Eigen::Index i = 0; i < n_train; ++i) {
            x_train.row(i) = x.row(static_cast<Eigen::Index>(order[static_cast<std::size_t>(i)]));
            y_train[i] = y[static_cast<Eigen::Index>(order[static_cast<std::size_t>(i)])];
        }
        const detail::block_ridge held = detail::fit_block_ridge(x_train, y_train, o.ridge);
        std::vector<double> measured, predicted;
        for (std::size_t i = static_cast<std::size_t>(n_train); i < order.size(); ++i) {
            const auto row = static_cast<Eigen::Index>(order[i]);
            measured.push_back(y[row]);
            predicted.push_back(x.row(row).dot(held.coef) + held.constant);
        }
        const double m = std::accumulate(measured.begin(), measured.end(), 0.0) / static_cast<double>(n_test);
        double ss_res = 0, ss_tot = 0;
        for (std::size_t i = 0; i < n_test; ++i) {
            ss_res += (measured[i] - predicted[i]) * (measured[i] - predicted[i]);
            ss_tot += (measured[i] - m) * (measured[i] - m);
        }
        e.fit.heldout_n = n_test;
        if (ss_tot > 0) e.fit.heldout_r2 = 1 - ss_res / ss_tot;
        if (std::none_of(measured.begin(), measured.end(), [](double v) { return v == 0; }))
            e.fit.heldout_mape = mape(measured, predicted);
    }
    return e;
}

// The value a caller measures per architecture besides latency, e.g. the
// one-shot accuracy with a supernet's weights.
using accuracy_function = std::function<double(const architecture&)>;

// An accuracy stand-in when none is measured: the derived network's MACs
// (s must outlive the function). More computation is taken as more capacity.
inline accuracy_function macs_proxy(const search_space& s) {
    return [&s](const architecture& a) { return static_cast<double>(network_cost(s, a).macs); };
}

// As macs_proxy, with the derived network's parameter count.
inline accuracy_function params_proxy(const search_space& s) {
    return [&s](const architecture& a) { return static_cast<double>(network_cost(s, a).params); };
}

struct block_profile_options {
    std::size_t samples = 100;
    std::uint64_t seed = 0;  // of the samples
    profile_options profile{};
    timing_stat stat = timing_stat::median;
    block_effect_options fit{};
};

struct block_profile {
    std::vector<architecture> archs;
    std::vector<double> latency_ms;
    std::vector<double> accuracy;
    block_effects latency;
    block_effects accuracy_effects;
};

// Samples o.samples architectures of s (uniformly, seeded), measures each end
// to end on this CPU (profile_network, statistic o.stat) and with accuracy,
// then fits both effect sets. progress(done, total), if given, is called
// after each architecture.
inline block_profile profile_blocks(const search_space& s, const accuracy_function& accuracy,
                                    const block_profile_options& o = {},
                                    const std::function<void(std::size_t, std::size_t)>& progress = {}) {
    require(static_cast<bool>(accuracy), "profile_blocks: no accuracy function (macs_proxy gives a stand-in)");
    require(o.samples >= 2, "profile_blocks: {} samples, expected at least 2", o.samples);
    block_profile r;
    rng gen(o.seed);
    for (std::size_t i = 0; i < o.samples; ++i) {
        r.archs.push_back(sample_architecture(s, gen));
        r.latency_ms.push_back(pick(profile_network(s, r.archs.back(), o.profile).t, o.stat));
        r.accuracy.push_back(accuracy(r.archs.back()));
        if (progress) progress(i + 1, o.samples);
    }
    r.latency = fit_block_effects(s, r.archs, r.latency_ms, o.fit);
    r.accuracy_effects = fit_block_effects(s, r.archs, r.accuracy, o.fit);
    return r;
}

}  // namespace hwnas
