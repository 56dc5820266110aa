#pragma once
// The width-multiplier baseline (algorithms.md 4.4, 5): the same node-wise
// DAG architecture in a space whose widths are all scaled by one multiplier m,
// with m chosen as the largest one whose latency meets a budget.
//
//   dag_config c = scale_widths(gram_fmnist_config(), 0.5);   // stem, stage and head widths x0.5
//   search_space s = dag_space(c);                            // same choice points and edge variables:
//                                                             // an architecture of gram_fmnist is valid here
//   budget_search_result r = search_width_multiplier(
//       [&](double m) { return measured_latency(dag_space(scale_widths(cfg, m)), arch); }, budget_ms);
//   r.x = m, r.cost = its latency, r.met, r.trials = every (m, latency) measured
//
// Only widths change: strides, node counts, candidates (an MBConv's expansion
// is relative to its input) and the class count stay; so does every choice
// and edge value of an architecture.
#include <algorithm>
#include <cmath>
#include <functional>

#include <fmt/format.h>

#include "hwnas/error.hpp"
#include "hwnas/prune/budget_search.hpp"
#include "hwnas/space/dag_space.hpp"

namespace hwnas {

// channels * m rounded to the nearest multiple of 4, at least 4.
inline index_t scale_width(index_t channels, double m) {
    require(m > 0 && std::isfinite(m), "scale_width: multiplier {}, expected a positive finite number", m);
    return std::max<index_t>(4, 4 * static_cast<index_t>(std::llround(static_cast<double>(channels) * m / 4.0)));
}

// c with the stem, every stage and the head (when it sets a width) scaled by
// m; the name gets "_w<m>" so tables and reports never mix the two spaces.
inline dag_config scale_widths(dag_config c, double m) {
    require(m > 0 && std::isfinite(m), "scale_widths: multiplier {}, expected a positive finite number", m);
    c.name = fmt::format("{}_w{:g}", c.name, m);
    c.stem.channels = scale_width(c.stem.channels, m);
    for (dag_stage& s : c.stages) s.channels = scale_width(s.channels, m);
    if (c.head.channels > 0) c.head.channels = scale_width(c.head.channels, m);
    return c;
}

// The largest m in [lo, 1] with latency(m) <= budget: latency(1) first, then
// latency(lo), then `steps` bisection steps (largest_within_budget). Assumes
// latency grows with m; widths move in steps of 4 channels, so nearby m can
// give the same network. met is false (and m = lo) when even lo is too slow.
inline budget_search_result search_width_multiplier(const std::function<double(double)>& latency, double budget,
                                                    double lo = 0.25, int steps = 6) {
    require(lo > 0 && lo <= 1, "search_width_multiplier: lowest multiplier {}, expected in (0, 1]", lo);
    return largest_within_budget(latency, budget, lo, 1.0, steps);
}

}  // namespace hwnas
