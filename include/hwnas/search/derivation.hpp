#pragma once
// Turning architecture distributions into one architecture.
// - argmax_architecture: the most probable candidate per choice point.
// - darts_cell_architecture (algorithms.md 2.1): choice points are grouped by
//   the node their (first) edge feeds; per node keep the `keep` strongest
//   incoming edges, strength = largest non-zero-op probability, each with its
//   argmax non-zero op; the other edges get the zero op (`none`). Skip cap:
//   when more than max_skip kept edges chose the op named skip_name, those
//   with the weakest skip probability take their best other non-zero op.
#include <algorithm>
#include <numeric>
#include <string_view>
#include <vector>

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

}  // namespace hwnas
