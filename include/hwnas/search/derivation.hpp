#pragma once
// Turning architecture distributions into one architecture.
// - argmax_architecture: the most probable candidate per choice point.
// - darts_cell_architecture (algorithms.md 2.1): choice points are grouped by
//   the node their (first) edge feeds; per node keep the `keep` strongest
//   incoming edges, strength = largest non-zero-op probability, each with its
//   argmax non-zero op; the other edges get the zero op (`none`). Skip cap:
//   when more than max_skip kept edges chose the op named skip_name, those
//   with the weakest skip probability take their best other non-zero op.
// - most_probable_within: the architecture of highest probability (product
//   over choice points) whose additive table cost fits a budget, by dynamic
//   programming over choice points (a multiple-choice knapsack); how a
//   distribution searched with a soft cost term (FBNet, ProxylessNAS) is held
//   to the same hard budget as GRAM's sampling.
// - costliest_within_score_error: of candidates scored by an accuracy
//   measured on n examples, those within one binomial standard error of the
//   best score, the costliest: how GRAM's derive stage (swiftnet_search)
//   picks among its Gibbs samples. The best one-shot score alone is a coin
//   flip among near-equals (500 images: 1.2 points of error each, the
//   samples of a search within 2 points), and it picked networks at 72-79%
//   of the budget; more of the budget trained closer to the baseline
//   (README, issue 7's target 4).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <string_view>
#include <vector>

#include "hwnas/search/cost_model.hpp"
#include "hwnas/space/architecture.hpp"

namespace hwnas {

inline architecture argmax_architecture(const search_space& s, const std::vector<tensor>& probs,
                                        std::vector<std::uint8_t> edges = {}) {
    require(probs.size() == s.choice_points().size(), "argmax_architecture: {} distributions for {} choice points",
            probs.size(), s.choice_points().size());
    architecture a{{}, edges.empty() ? std::vector<std::uint8_t>(s.gates().size(), 1) : std::move(edges)};
    for (const auto& p : probs) a.choices.push_back(static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin()));
    return a;
}

namespace detail {
// The best candidate of point p that is not a zero op and not `except`, or -1.
inline int best_nonzero(const choice_point& cp, const tensor& p, int except = -1) {
    int best = -1;
    for (int c = 0; c < static_cast<int>(cp.candidates.size()); ++c)
        if (!cp.zero[static_cast<std::size_t>(c)] && c != except && (best < 0 || p[c] > p[best])) best = c;
    return best;
}
}  // namespace detail

inline architecture darts_cell_architecture(const search_space& s, const std::vector<tensor>& probs, int keep = 2,
                                            int max_skip = -1, std::string_view skip_name = "skip_connect") {
    architecture a = argmax_architecture(s, probs);
    const auto& points = s.choice_points();
    std::vector<int> zero_op(points.size(), -1);
    for (std::size_t p = 0; p < points.size(); ++p) {
        const auto z = std::find(points[p].zero.begin(), points[p].zero.end(), true);
        require(z != points[p].zero.end(), "darts_cell_architecture: choice point '{}' has no zero op (none)",
                points[p].name);
        zero_op[p] = static_cast<int>(z - points[p].zero.begin());
        require(detail::best_nonzero(points[p], probs[p]) >= 0,
                "darts_cell_architecture: choice point '{}' has only zero ops", points[p].name);
    }
    auto strength = [&](std::size_t p) { return probs[p][detail::best_nonzero(points[p], probs[p])]; };
    // Group by destination node (the first site's node), in order of first appearance.
    std::vector<int> dest;
    std::vector<std::vector<std::size_t>> groups;
    for (std::size_t p = 0; p < points.size(); ++p) {
        if (points[p].sites.empty()) continue;  // used by no edge: its argmax is as good as any
        const int node = points[p].sites[0].node;
        auto it = std::find(dest.begin(), dest.end(), node);
        if (it == dest.end()) {
            dest.push_back(node);
            groups.emplace_back();
            it = dest.end() - 1;
        }
        groups[static_cast<std::size_t>(it - dest.begin())].push_back(p);
    }
    std::vector<std::size_t> skips;
    for (auto& g : groups) {
        std::stable_sort(g.begin(), g.end(), [&](std::size_t x, std::size_t y) { return strength(x) > strength(y); });
        for (std::size_t r = 0; r < g.size(); ++r) {
            const std::size_t p = g[r];
            a.choices[p] = static_cast<int>(r) < keep ? detail::best_nonzero(points[p], probs[p]) : zero_op[p];
            if (static_cast<int>(r) < keep && points[p].candidates[static_cast<std::size_t>(a.choices[p])].name == skip_name)
                skips.push_back(p);
        }
    }
    if (max_skip >= 0 && static_cast<int>(skips.size()) > max_skip) {
        std::stable_sort(skips.begin(), skips.end(),
                         [&](std::size_t x, std::size_t y) { return probs[x][a.choices[x]] > probs[y][a.choices[y]]; });
        for (std::size_t r = static_cast<std::size_t>(max_skip); r < skips.size(); ++r) {
            const std::size_t p = skips[r];
            const int other = detail::best_nonzero(points[p], probs[p], a.choices[p]);
            if (other >= 0) a.choices[p] = other;
        }
    }
    return a;
}

// Each candidate's cost above its choice point's cheapest is rounded up to
// `resolution` steps of (budget - cheapest architecture) / resolution, so the
// result always fits, the cheapest architecture fits any budget it meets, and
// an architecture that fits only within that rounding can be missed. The
// additive sum counts every choice point, so in a space with edges (where dead
// nodes cost nothing) it bounds the true cost from above: the result fits
// there too. Throws when even the cheapest candidates exceed the budget.
inline architecture most_probable_within(const search_space& s, const std::vector<tensor>& probs,
                                         const cost_table& cost, double budget, int resolution = 4096) {
    const auto& table = cost.table();
    require(probs.size() == s.choice_points().size() && table.size() == probs.size(),
            "most_probable_within: {} distributions and {} table rows for {} choice points", probs.size(),
            table.size(), s.choice_points().size());
    require(resolution > 0, "most_probable_within: resolution {} must be positive", resolution);
    const double cheapest = cost.cheapest();
    require(cheapest <= budget,
            "most_probable_within: the cheapest architecture costs {:.4g} {}, over the budget {:.4g} {}", cheapest,
            cost.unit(), budget, cost.unit());
    const double step = (budget - cheapest) / resolution;
    const auto steps = [&](double excess) {  // resolution + 1: never fits
        if (excess <= 0) return 0;
        if (step <= 0) return resolution + 1;
        return static_cast<int>(std::min<double>(resolution + 1, std::ceil(excess / step - 1e-9)));
    };
    constexpr double none = -std::numeric_limits<double>::infinity();
    // best[b]: highest log-probability of the points so far using exactly b steps.
    std::vector<double> best(static_cast<std::size_t>(resolution) + 1, none);
    best[0] = 0;
    std::vector<std::vector<int>> pick(probs.size(), std::vector<int>(best.size(), -1));
    std::vector<std::vector<std::size_t>> cost_steps(probs.size());  // per point and candidate
    for (std::size_t p = 0; p < probs.size(); ++p) {
        require(static_cast<index_t>(table[p].size()) == probs[p].numel(),
                "most_probable_within: choice point '{}' has {} probabilities and {} costs",
                s.choice_points()[p].name, probs[p].numel(), table[p].size());
        std::vector<double> log_p;
        const double low = *std::min_element(table[p].begin(), table[p].end());
        for (std::size_t c = 0; c < table[p].size(); ++c) {
            cost_steps[p].push_back(static_cast<std::size_t>(steps(table[p][c] - low)));
            const double pr = probs[p][static_cast<index_t>(c)];
            log_p.push_back(pr > 0 ? std::log(pr) : none);
        }
        std::vector<double> next(best.size(), none);
        for (std::size_t b = 0; b < best.size(); ++b) {
            if (best[b] == none) continue;
            for (std::size_t c = 0; c < log_p.size(); ++c) {
                const std::size_t nb = b + cost_steps[p][c];
                if (nb >= best.size() || log_p[c] == none) continue;
                const double v = best[b] + log_p[c];
                if (v > next[nb]) next[nb] = v, pick[p][nb] = static_cast<int>(c);
            }
        }
        best = std::move(next);
    }
    const auto end = std::max_element(best.begin(), best.end());
    require(*end != none, "most_probable_within: no architecture of non-zero probability fits the budget {:.4g} {}",
            budget, cost.unit());
    architecture a{std::vector<int>(probs.size()), std::vector<std::uint8_t>(s.gates().size(), 1)};
    std::size_t b = static_cast<std::size_t>(end - best.begin());
    for (std::size_t p = probs.size(); p-- > 0;) {
        a.choices[p] = pick[p][b];
        b -= cost_steps[p][static_cast<std::size_t>(a.choices[p])];
    }
    return a;
}

inline std::size_t costliest_within_score_error(std::span<const double> accuracy, std::span<const double> cost,
                                                std::int64_t n) {
    require(!accuracy.empty() && accuracy.size() == cost.size() && n > 0,
            "costliest_within_score_error: {} scores, {} costs, {} examples; expected as many costs as scores (at least "
            "one) and n > 0",
            accuracy.size(), cost.size(), n);
    for (std::size_t i = 0; i < accuracy.size(); ++i)
        require(accuracy[i] >= 0 && accuracy[i] <= 1 && std::isfinite(cost[i]),
                "costliest_within_score_error: candidate {} has accuracy {} and cost {}, expected an accuracy in [0, 1] "
                "and a finite cost",
                i, accuracy[i], cost[i]);
    const double best = *std::max_element(accuracy.begin(), accuracy.end());
    const double tie = best - std::sqrt(best * (1 - best) / static_cast<double>(n));
    std::size_t pick = 0;
    double costliest = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < accuracy.size(); ++i)
        if (accuracy[i] >= tie && cost[i] > costliest) costliest = cost[i], pick = i;
    return pick;
}

}  // namespace hwnas
