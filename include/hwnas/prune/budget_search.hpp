#pragma once
// The budget search both channel baselines share (algorithms.md 4.4: a width
// multiplier and magnitude channel pruning, each to the same budget as GRAM's
// structure-level pruning): the largest x in [lo, hi] whose cost(x) is
// within the budget, by bisection, assuming cost is non-decreasing in x (a
// wider network is not faster). A measured latency is noisy, so a bisection
// step may go the wrong way near the budget; the result is always a value
// that was measured within budget (or lo, flagged as missing it).
//
//   budget_search_result r = largest_within_budget([&](double m) { return latency_of(m); }, 2.0, 0.25, 1.0, 6);
//   r.x, r.cost, r.met, r.trials (every (x, cost) evaluated, in order: for a log)
#include <cmath>
#include <functional>
#include <vector>

#include "hwnas/error.hpp"

namespace hwnas {

struct budget_trial {
    double x = 0;
    double cost = 0;
};

struct budget_search_result {
    double x = 0;     // the chosen value
    double cost = 0;  // its cost
    bool met = false; // cost <= budget (false only when even lo is over: then x = lo)
    std::vector<budget_trial> trials;
};

// cost(hi) first (within budget: hi), then cost(lo) (over: lo, not met), then
// `steps` halvings of the interval between the largest value within budget
// and the smallest over it. cost must return finite numbers.
inline budget_search_result largest_within_budget(const std::function<double(double)>& cost, double budget, double lo,
                                                  double hi, int steps) {
    require(lo > 0 && lo <= hi && std::isfinite(hi), "largest_within_budget: range [{}, {}], expected 0 < lo <= hi",
            lo, hi);
    require(steps >= 0, "largest_within_budget: {} bisection steps, expected >= 0", steps);
    require(std::isfinite(budget), "largest_within_budget: budget {}, expected a finite number", budget);
    budget_search_result r;
    const auto eval = [&](double x) {
        const double c = cost(x);
        require<numeric_error>(std::isfinite(c), "largest_within_budget: cost({}) is {}, expected a finite number", x,
                               c);
        r.trials.push_back({x, c});
        return c;
    };
    const double c_hi = eval(hi);
    if (c_hi <= budget) return {hi, c_hi, true, std::move(r.trials)};
    double ok = lo, over = hi, c_ok = eval(lo);
    if (c_ok > budget) return {lo, c_ok, false, std::move(r.trials)};
    for (int i = 0; i < steps; ++i) {
        const double mid = 0.5 * (ok + over);
        const double c = eval(mid);
        if (c <= budget) {
            ok = mid;
            c_ok = c;
        } else {
            over = mid;
        }
    }
    return {ok, c_ok, true, std::move(r.trials)};
}

}  // namespace hwnas
