#pragma once
// Search-space reduction (algorithms.md 5, after Mills et al., CIKM 2021).
// With the block effects on latency and on accuracy of one device
// (block_profile.hpp), a candidate is hardware-unfriendly at a position when
// another candidate there has a lower latency effect and a higher or equal
// accuracy effect: it is dominated, and dropped. The fastest candidate with
// known effects is never dominated, so every position keeps at least one;
// candidates never observed (NaN effects) are neither dropped nor dominate.
//
// restrict_candidates rebuilds a space with fewer candidates per choice point
// (same nodes, edges, gates and choice point order); to_restricted / to_full
// map architectures between the two.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "hwnas/error.hpp"
#include "hwnas/prune/block_profile.hpp"
#include "hwnas/space/architecture.hpp"
#include "hwnas/space/search_space.hpp"

namespace hwnas {

struct reduction_options {
    // j dominates k when lat[j] < lat[k] - latency_tolerance - latency_z * se
    // and acc[j] >= acc[k] - accuracy_tolerance (in the units of the
    // effects), se the standard error of lat[k] - lat[j]: with latency_z > 0
    // only a latency difference the measurements resolve counts (noisy devices).
    double latency_tolerance = 0;
    double accuracy_tolerance = 0;
    double latency_z = 0;
};

struct candidate_reduction {
    std::vector<std::vector<bool>> allowed;       // [point][candidate]
    std::vector<std::vector<int>> dominated_by;   // [point][candidate]: the fastest dominating candidate, or -1
};

// The non-dominated candidates of every position. latency and accuracy must
// be effects of the same space.
inline candidate_reduction reduce_candidates(const block_effects& latency, const block_effects& accuracy,
                                             const reduction_options& o = {}) {
    require(latency.space == accuracy.space && latency.candidate_names == accuracy.candidate_names,
            "reduce_candidates: latency effects of the space {} and accuracy effects of the space {}, expected the "
            "same space",
            latency.space, accuracy.space);
    require(o.latency_tolerance >= 0 && o.accuracy_tolerance >= 0 && o.latency_z >= 0,
            "reduce_candidates: tolerances {} (latency), {} (accuracy) and z {}, expected >= 0", o.latency_tolerance,
            o.accuracy_tolerance, o.latency_z);
    require(o.latency_z == 0 || (!latency.coef.empty() && latency.cov.rows() == static_cast<Eigen::Index>(latency.coef.size())),
            "reduce_candidates: latency_z needs the covariance of fitted latency effects (fit_block_effects)");
    candidate_reduction r;
    for (std::size_t p = 0; p < latency.effect.size(); ++p) {
        const auto& lat = latency.effect[p];
        const auto& acc = accuracy.effect[p];
        const auto known = [&](std::size_t k) { return std::isfinite(lat[k]) && std::isfinite(acc[k]); };
        std::vector<int> by(lat.size(), -1);
        for (std::size_t k = 0; k < lat.size(); ++k) {
            if (!known(k)) continue;
            for (std::size_t j = 0; j < lat.size(); ++j) {
                if (j == k || !known(j) || acc[j] < acc[k] - o.accuracy_tolerance) continue;
                double margin = o.latency_tolerance;
                if (o.latency_z > 0) margin += o.latency_z * latency.difference_se(p, static_cast<int>(k), static_cast<int>(j));
                if (lat[j] < lat[k] - margin && (by[k] < 0 || lat[j] < lat[static_cast<std::size_t>(by[k])]))
                    by[k] = static_cast<int>(j);
            }
        }
        std::vector<bool> keep(lat.size());
        for (std::size_t k = 0; k < lat.size(); ++k) keep[k] = by[k] < 0;
        r.allowed.push_back(std::move(keep));
        r.dominated_by.push_back(std::move(by));
    }
    return r;
}

// A space rebuilt with a subset of each choice point's candidates.
struct restricted_space {
    search_space space;
    std::string full_name;
    std::vector<std::vector<std::string>> full_candidates;  // [point]: the full space's candidate names
    std::vector<std::vector<int>> kept;                     // [point]: full-space indices of the kept candidates, in order
};

// s with, at every choice point p, only the candidates k with allowed[p][k]
// (in their order); named name, or "<s.name()>_reduced". config_error when
// allowed does not match s or leaves a choice point empty.
inline restricted_space restrict_candidates(const search_space& s, const std::vector<std::vector<bool>>& allowed,
                                            std::string name = {}) {
    const auto& points = s.choice_points();
    require(allowed.size() == points.size(), "restrict_candidates: {} masks, the space {} has {} choice points",
            allowed.size(), s.name(), points.size());
    if (name.empty()) name = s.name() + "_reduced";
    search_space r(name, s.input_shape(), s.registry());
    std::vector<std::vector<std::string>> full;
    std::vector<std::vector<int>> kept(points.size());
    for (std::size_t p = 0; p < points.size(); ++p) {
        const choice_point& cp = points[p];
        require(allowed[p].size() == cp.candidates.size(),
                "restrict_candidates: the mask of {} has {} entries, expected {} (its candidates)", cp.name,
                allowed[p].size(), cp.candidates.size());
        std::vector<op_spec> candidates;
        full.emplace_back();
        for (std::size_t k = 0; k < cp.candidates.size(); ++k) {
            full.back().push_back(cp.candidates[k].name);
            if (!allowed[p][k]) continue;
            candidates.push_back(cp.candidates[k]);
            kept[p].push_back(static_cast<int>(k));
        }
        require(!candidates.empty(), "restrict_candidates: the mask of {} allows no candidate, expected at least one",
                cp.name);
        r.add_choice_point(cp.name, std::move(candidates));
    }
    // Same nodes in the same order: choice point, gate and site numbering stay the same.
    for (std::size_t i = 1; i < s.nodes().size(); ++i) {
        const space_node& n = s.nodes()[i];
        r.add_node(n.name, n.how, n.inputs);
    }
    return {std::move(r), s.name(), std::move(full), std::move(kept)};
}

// a (an architecture of the full space) in the restricted space; config_error
// when it uses a dropped candidate or does not fit.
inline architecture to_restricted(const restricted_space& r, const architecture& a) {
    require(a.choices.size() == r.kept.size(), "to_restricted: {} choices, the space {} has {} choice points",
            a.choices.size(), r.full_name, r.kept.size());
    architecture out{{}, a.edges};
    const auto& points = r.space.choice_points();
    for (std::size_t p = 0; p < r.kept.size(); ++p) {
        const int c = a.choices[p];
        const auto& names = r.full_candidates[p];
        require(c >= 0 && c < static_cast<int>(names.size()),
                "to_restricted: {} choice {} out of range, the space {} has {} candidates there", points[p].name, c,
                r.full_name, names.size());
        const auto it = std::find(r.kept[p].begin(), r.kept[p].end(), c);
        if (it == r.kept[p].end()) {
            std::vector<std::string> kept_names;
            for (const op_spec& k : points[p].candidates) kept_names.push_back(k.name);
            throw config_error(fmt::format("to_restricted: {} runs {} (candidate {}), which the space {} dropped (kept: {})",
                                           points[p].name, names[static_cast<std::size_t>(c)], c, r.space.name(),
                                           fmt::join(kept_names, ", ")));
        }
        out.choices.push_back(static_cast<int>(it - r.kept[p].begin()));
    }
    validate(r.space, out);
    return out;
}

// a (an architecture of the restricted space, validated) in the full space.
inline architecture to_full(const restricted_space& r, const architecture& a) {
    validate(r.space, a);
    architecture out{{}, a.edges};
    for (std::size_t p = 0; p < a.choices.size(); ++p)
        out.choices.push_back(r.kept[p][static_cast<std::size_t>(a.choices[p])]);
    return out;
}

}  // namespace hwnas
