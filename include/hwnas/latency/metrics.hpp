#pragma once
// How good a latency (or any cost) prediction is, on held-out architectures:
// relative error (MAPE, share within +-5% / +-10%), RMSE, and how well the
// ranking is kept (Kendall tau-b, Spearman rho, both with ties handled the
// way scipy.stats does). Rank correlations are NaN when one side is constant.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "hwnas/error.hpp"

namespace hwnas {

namespace detail {

inline void check_metric_inputs(std::string_view fn, std::span<const double> measured,
                                std::span<const double> predicted, std::size_t min_n = 1) {
    if (measured.size() != predicted.size())
        throw config_error(fmt::format("{}: {} measured and {} predicted values, expected equal counts", fn,
                                       measured.size(), predicted.size()));
    if (measured.size() < min_n)
        throw config_error(fmt::format("{}: {} values, expected at least {}", fn, measured.size(), min_n));
}

inline void check_relative_inputs(std::string_view fn, std::span<const double> measured,
                                  std::span<const double> predicted) {
    check_metric_inputs(fn, measured, predicted);
    for (std::size_t i = 0; i < measured.size(); ++i)
        if (measured[i] == 0 || !std::isfinite(measured[i]))
            throw config_error(fmt::format("{}: measured value {} is {}, expected a finite non-zero value", fn, i,
                                           measured[i]));
}

inline std::int64_t tied_pairs(std::int64_t t) { return t * (t - 1) / 2; }

// Counts pairs i < j with v[i] > v[j], sorting v (stable merge sort).
inline std::int64_t count_inversions(std::vector<double>& v) {
    std::vector<double> buf(v.size());
    std::int64_t inv = 0;
    for (std::size_t width = 1; width < v.size(); width *= 2) {
        for (std::size_t lo = 0; lo < v.size(); lo += 2 * width) {
            const std::size_t mid = std::min(lo + width, v.size()), hi = std::min(lo + 2 * width, v.size());
            std::size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                if (v[j] < v[i]) {
                    inv += static_cast<std::int64_t>(mid - i);
                    buf[k++] = v[j++];
                } else {
                    buf[k++] = v[i++];
                }
            }
            while (i < mid) buf[k++] = v[i++];
            while (j < hi) buf[k++] = v[j++];
        }
        v.swap(buf);
    }
    return inv;
}

}  // namespace detail

// Mean absolute percentage error, in percent: 100 * mean |p - m| / |m|.
inline double mape(std::span<const double> measured, std::span<const double> predicted) {
    detail::check_relative_inputs("mape", measured, predicted);
    double s = 0;
    for (std::size_t i = 0; i < measured.size(); ++i) s += std::abs(predicted[i] - measured[i]) / std::abs(measured[i]);
    return 100.0 * s / static_cast<double>(measured.size());
}

// Root mean squared error, in the unit of the values.
inline double rmse(std::span<const double> measured, std::span<const double> predicted) {
    detail::check_metric_inputs("rmse", measured, predicted);
    double s = 0;
    for (std::size_t i = 0; i < measured.size(); ++i) s += (predicted[i] - measured[i]) * (predicted[i] - measured[i]);
    return std::sqrt(s / static_cast<double>(measured.size()));
}

// Share in [0, 1] of predictions with |p - m| / |m| <= tolerance (0.1 = +-10%).
inline double within(std::span<const double> measured, std::span<const double> predicted, double tolerance) {
    detail::check_relative_inputs("within", measured, predicted);
    std::size_t k = 0;
    for (std::size_t i = 0; i < measured.size(); ++i)
        k += std::abs(predicted[i] - measured[i]) <= tolerance * std::abs(measured[i]);
    return static_cast<double>(k) / static_cast<double>(measured.size());
}

// Ranks 1..n, tied values sharing the mean of their ranks.
inline std::vector<double> average_ranks(std::span<const double> v) {
    std::vector<std::size_t> idx(v.size());
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
    std::vector<double> r(v.size());
    for (std::size_t i = 0; i < idx.size();) {
        std::size_t j = i;
        while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
        const double rank = 0.5 * static_cast<double>(i + j) + 1.0;
        for (std::size_t k = i; k <= j; ++k) r[idx[k]] = rank;
        i = j + 1;
    }
    return r;
}

// Kendall's tau-b in O(n log n) (Knight 1966): sort by (a, b), count ties,
// then count discordant pairs as the inversions of b.
inline double kendall_tau(std::span<const double> a, std::span<const double> b) {
    detail::check_metric_inputs("kendall_tau", a, b, 2);
    const std::size_t n = a.size();
    std::vector<std::size_t> idx(n);
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    std::sort(idx.begin(), idx.end(), [&](std::size_t i, std::size_t j) {
        return a[i] < a[j] || (a[i] == a[j] && b[i] < b[j]);
    });
    std::int64_t ties_a = 0, ties_ab = 0, ties_b = 0;
    for (std::size_t i = 0; i < n;) {  // runs tied in a, and within them runs tied in b too
        std::size_t j = i;
        while (j + 1 < n && a[idx[j + 1]] == a[idx[i]]) ++j;
        ties_a += detail::tied_pairs(static_cast<std::int64_t>(j - i + 1));
        for (std::size_t k = i; k <= j;) {
            std::size_t l = k;
            while (l + 1 <= j && b[idx[l + 1]] == b[idx[k]]) ++l;
            ties_ab += detail::tied_pairs(static_cast<std::int64_t>(l - k + 1));
            k = l + 1;
        }
        i = j + 1;
    }
    std::vector<double> bs(n);
    for (std::size_t i = 0; i < n; ++i) bs[i] = b[idx[i]];
    const std::int64_t discordant = detail::count_inversions(bs);  // leaves bs sorted
    for (std::size_t i = 0; i < n;) {
        std::size_t j = i;
        while (j + 1 < n && bs[j + 1] == bs[i]) ++j;
        ties_b += detail::tied_pairs(static_cast<std::int64_t>(j - i + 1));
        i = j + 1;
    }
    const std::int64_t pairs = detail::tied_pairs(static_cast<std::int64_t>(n));
    const double denom = std::sqrt(static_cast<double>(pairs - ties_a) * static_cast<double>(pairs - ties_b));
    if (denom == 0) return std::numeric_limits<double>::quiet_NaN();
    return static_cast<double>(pairs - ties_a - ties_b + ties_ab - 2 * discordant) / denom;
}

// Pearson correlation; NaN when either side is constant.
inline double pearson_r(std::span<const double> a, std::span<const double> b) {
    detail::check_metric_inputs("pearson_r", a, b, 2);
    const double n = static_cast<double>(a.size());
    const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n, mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
    double sab = 0, saa = 0, sbb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    if (saa == 0 || sbb == 0) return std::numeric_limits<double>::quiet_NaN();
    return sab / std::sqrt(saa * sbb);
}

// Spearman's rho: Pearson correlation of the average ranks.
inline double spearman_rho(std::span<const double> a, std::span<const double> b) {
    detail::check_metric_inputs("spearman_rho", a, b, 2);
    return pearson_r(average_ranks(a), average_ranks(b));
}

// All metrics of a prediction at once.
struct prediction_metrics {
    std::size_t n = 0;
    double mape = 0;      // percent
    double rmse = 0;      // unit of the values
    double within5 = 0;   // share in [0, 1]
    double within10 = 0;  // share in [0, 1]
    double kendall_tau = 0;
    double spearman_rho = 0;
};

inline prediction_metrics evaluate_predictions(std::span<const double> measured, std::span<const double> predicted) {
    detail::check_metric_inputs("evaluate_predictions", measured, predicted, 2);
    return {measured.size(),
            mape(measured, predicted),
            rmse(measured, predicted),
            within(measured, predicted, 0.05),
            within(measured, predicted, 0.10),
            kendall_tau(measured, predicted),
            spearman_rho(measured, predicted)};
}

}  // namespace hwnas
