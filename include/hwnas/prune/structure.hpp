#pragma once
// GRAM's structure-level pruning (algorithms.md 4.4, 5): shrink a node-wise
// DAG architecture to a cost budget by removing whole edges and nodes, never
// a width.
//
//   structure_prune_result r = prune_structure(space, start, importance, cost, budget);
//   r.arch      the pruned architecture (valid in space)
//   r.cost      cost.of(r.arch); r.met: r.cost <= budget (false when no removal is left: no throw)
//   r.removals  one row per removal, in order: kind ("edge" | "node"), index (edge variable or choice
//               point), name, importance, cost_before, cost_after
//   csv_writer log(path, structure_removal_columns());
//   for (std::size_t i = 0; i < r.removals.size(); ++i) log.write_row(structure_removal_row(i + 1, r.removals[i]));
//
// While cost.of(a) > budget, every removable unit of a is tried:
// - an active edge variable (switched off), importance = importance.edges[g];
// - a live node, i.e. a live choice point (all its gated input edges switched
//   off), importance = importance.nodes[p];
// each followed by without_dead_edges (what only the removed unit fed goes
// too, and the importances of the nodes that go with it are added to the
// unit's). A removal that leaves an invalid architecture (a stage without a path
// to a sink) or saves nothing (cost.of unchanged or higher) is skipped; of
// the rest, the one with the lowest importance / cost saved is applied (ties:
// edges before nodes, lower index first). Importances come from GRAM's
// meta-graph (search/meta_graph.hpp); the cost model must see edges, e.g. a
// cost_table built with the space (macs_cost_table: liveness-aware), or
// removing an edge never saves anything. With such a table an edge whose
// removal kills no node saves nothing (identity edges are free) and is kept.
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hwnas/error.hpp"
#include "hwnas/io/csv.hpp"
#include "hwnas/search/cost_model.hpp"
#include "hwnas/search/meta_graph.hpp"
#include "hwnas/space/architecture.hpp"

namespace hwnas {

struct structure_removal {
    std::string kind;  // "edge" (an edge variable) or "node" (a choice point)
    int index = 0;     // edge variable or choice point index
    std::string name;  // its name in the space
    double importance = 0;
    double cost_before = 0, cost_after = 0;
};

struct structure_prune_result {
    architecture arch;
    double cost = 0;  // cost.of(arch)
    bool met = false; // cost <= budget
    std::vector<structure_removal> removals;
};

// The CSV columns of a removal log, and one removal's row (step counts from 1).
inline std::vector<std::string> structure_removal_columns() {
    return {"step", "kind", "index", "name", "importance", "cost_before", "cost_after"};
}
inline std::vector<std::string> structure_removal_row(std::size_t step, const structure_removal& r) {
    return {std::to_string(step), r.kind, std::to_string(r.index), r.name, csv_writer::cell(r.importance),
            csv_writer::cell(r.cost_before), csv_writer::cell(r.cost_after)};
}

namespace detail {

// The gated inputs of the node that choice point p runs on (one site in a DAG space).
inline std::vector<int> node_gates(const search_space& s, int p) {
    const edge_ref site = s.choice_points()[static_cast<std::size_t>(p)].sites.at(0);
    std::vector<int> gates;
    for (const space_edge& e : s.node_at(s.at(site).from).inputs)
        if (e.gate_index >= 0) gates.push_back(e.gate_index);
    return gates;
}

}  // namespace detail

inline structure_prune_result prune_structure(const search_space& s, const architecture& start,
                                              const structure_importance& importance, const cost_model& cost,
                                              double budget) {
    const auto& points = s.choice_points();
    require(!s.gates().empty(), "prune_structure: the space {} has no edge variables, expected a node-wise DAG space",
            s.name());
    for (const choice_point& p : points)
        require(p.sites.size() == 1, "prune_structure: choice point {} of the space {} runs on {} edges, expected 1 "
                "(a node-wise DAG space)", p.name, s.name(), p.sites.size());
    require(importance.nodes.size() == points.size() && importance.edges.size() == s.gates().size(),
            "prune_structure: importances for {} nodes and {} edges, the space {} has {} choice points and {} edge "
            "variables",
            importance.nodes.size(), importance.edges.size(), s.name(), points.size(), s.gates().size());
    const auto check = [&](const std::vector<double>& v, std::size_t i, const std::string& name) {
        require(std::isfinite(v[i]) && v[i] >= 0, "prune_structure: importance of {} is {}, expected a finite number >= 0",
                name, v[i]);
    };
    for (std::size_t p = 0; p < points.size(); ++p) check(importance.nodes, p, points[p].name);
    for (std::size_t g = 0; g < s.gates().size(); ++g) check(importance.edges, g, s.gates()[g].name);
    require(std::isfinite(budget), "prune_structure: budget {}, expected a finite number", budget);
    validate(s, start);

    structure_prune_result r{start, cost.of(start), false, {}};
    while (r.cost > budget) {
        structure_removal best;
        architecture best_arch;
        bool found = false;
        double best_ratio = 0;
        const std::vector<bool> live = live_choice_points(s, r.arch);
        // A removal also removes the nodes it alone fed: their importances count
        // too. (An edge that is a node's only input has next to no saliency of
        // its own when the node's op starts with a conv + BN, which cancels any
        // scaling of the input; the node's saliency is what removing it costs.)
        const auto consider = [&](architecture a, const char* kind, int index, const std::string& name, double imp) {
            a = without_dead_edges(s, std::move(a));
            if (!is_valid(s, a)) return;
            const double after = cost.of(a), saved = r.cost - after;
            if (!(saved > 0)) return;
            const std::vector<bool> still = live_choice_points(s, a);
            for (std::size_t p = 0; p < points.size(); ++p)
                if (live[p] && !still[p] && !(kind == std::string_view("node") && static_cast<int>(p) == index))
                    imp += importance.nodes[p];
            const double ratio = imp / saved;
            if (!found || ratio < best_ratio) {
                found = true;
                best_ratio = ratio;
                best = {kind, index, name, imp, r.cost, after};
                best_arch = std::move(a);
            }
        };
        for (std::size_t g = 0; g < s.gates().size(); ++g) {
            if (!r.arch.edges[g]) continue;
            architecture a = r.arch;
            a.edges[g] = 0;
            consider(std::move(a), "edge", static_cast<int>(g), s.gates()[g].name, importance.edges[g]);
        }
        for (std::size_t p = 0; p < points.size(); ++p) {
            if (!live[p]) continue;
            architecture a = r.arch;
            for (int g : detail::node_gates(s, static_cast<int>(p))) a.edges[static_cast<std::size_t>(g)] = 0;
            consider(std::move(a), "node", static_cast<int>(p), points[p].name, importance.nodes[p]);
        }
        if (!found) break;  // nothing left that saves cost
        r.arch = std::move(best_arch);
        r.cost = best.cost_after;
        r.removals.push_back(std::move(best));
    }
    r.met = r.cost <= budget;
    return r;
}

}  // namespace hwnas
