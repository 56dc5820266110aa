#pragma once
// One point of a search space: a candidate index per choice point and, for
// spaces with edge variables (node-wise DAGs), one 0/1 per edge variable.
// Also what follows from it: which parts of the network are live (the derived
// network keeps only those) and whether the architecture is valid.
//
// Liveness. An edge is active when its edge variable is 1 (ungated edges
// always are; a sink edge is active while its source has no other active
// outgoing edge); it carries data when it is active and its op is not a zero
// op. A node is fed when some data-carrying edge comes from a fed node (the
// input is fed): its value depends on the network input. A node is kept when
// it is fed and reaches the output through data-carrying edges; the derived
// network holds the kept nodes and the edges between them, nothing else (dead
// nodes cost nothing). An architecture whose output is not fed (a NAS-Bench-201
// cell with no path to node 3) computes a constant: nothing is kept.
//
// Validity. Choices in range and the right number of them; edge values 0 or
// 1; and, for edge variables: an active gated edge must come from a fed node
// (a node without input cannot feed another), and a node fed by sink edges (a
// DAG stage output) must be fed (a path from the stage input to a sink). A
// node that has neither input nor active output is simply removed.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "hwnas/error.hpp"
#include "hwnas/space/search_space.hpp"

namespace hwnas {

struct architecture {
    std::vector<int> choices;          // per choice point: the candidate index
    std::vector<std::uint8_t> edges;   // per edge variable: 0 or 1 (empty when the space has none)
    friend bool operator==(const architecture&, const architecture&) = default;
};

// Which parts of a space's network an architecture uses; indexed [node][input].
struct live_graph {
    std::vector<std::vector<bool>> active;   // switched on, whatever its ends
    std::vector<std::vector<bool>> carries;  // kept in the derived network
    std::vector<bool> fed;                   // value depends on the network input
    std::vector<bool> kept;                  // fed and reaching the output
    bool edge(edge_ref r) const { return carries[static_cast<std::size_t>(r.node)][static_cast<std::size_t>(r.input)]; }
    bool node(int i) const { return kept[static_cast<std::size_t>(i)]; }
};

namespace detail {

inline std::size_t space_idx(int i) { return static_cast<std::size_t>(i); }

// The candidate running on edge e under a (0 for a fixed op).
inline int arch_candidate(const space_edge& e, const architecture& a) { return e.choice < 0 ? 0 : a.choices[space_idx(e.choice)]; }

// The number and ranges of the choices; "" when fine.
inline std::string arch_choice_problem(const search_space& s, const std::vector<int>& choices) {
    const auto& points = s.choice_points();
    if (choices.size() != points.size())
        return fmt::format("architecture: {} choices, the space {} has {} choice points", choices.size(), s.name(),
                           points.size());
    for (std::size_t i = 0; i < points.size(); ++i) {
        const int c = choices[i];
        if (c < 0 || c >= static_cast<int>(points[i].candidates.size()))
            return fmt::format("architecture: {} choice {} out of range, the space {} has {} candidates there",
                               points[i].name, c, s.name(), points[i].candidates.size());
    }
    return {};
}

// Choice and edge counts and ranges; "" when fine.
inline std::string arch_range_problem(const search_space& s, const architecture& a) {
    if (auto why = arch_choice_problem(s, a.choices); !why.empty()) return why;
    if (a.edges.size() != s.gates().size())
        return fmt::format("architecture: {} edge values, the space {} has {} edge variables", a.edges.size(),
                           s.name(), s.gates().size());
    for (std::size_t g = 0; g < a.edges.size(); ++g)
        if (a.edges[g] > 1)
            return fmt::format("architecture: {} is {}, expected 0 or 1", s.gates()[g].name, a.edges[g]);
    return {};
}

// Liveness of a (whose ranges are valid).
inline live_graph arch_liveness(const search_space& s, const architecture& a) {
    const auto& nodes = s.nodes();
    const std::size_t n = nodes.size();
    live_graph g;
    g.active.resize(n);
    g.carries.resize(n);
    std::vector<int> outputs_on(n, 0);  // active non-sink outgoing edges
    for (std::size_t i = 0; i < n; ++i) {
        for (const space_edge& e : nodes[i].inputs) {
            const bool on = e.gate_index < 0 || a.edges[space_idx(e.gate_index)] != 0;
            g.active[i].push_back(on);
            if (on && !e.sink) ++outputs_on[space_idx(e.from)];
        }
    }
    g.fed.assign(n, false);
    g.fed[0] = true;
    for (std::size_t i = 1; i < n; ++i) {
        for (std::size_t k = 0; k < nodes[i].inputs.size(); ++k) {
            const space_edge& e = nodes[i].inputs[k];
            if (e.sink) g.active[i][k] = outputs_on[space_idx(e.from)] == 0;
            const bool zero = e.choice >= 0 && s.choice_points()[space_idx(e.choice)].zero[space_idx(arch_candidate(e, a))];
            g.carries[i].push_back(g.active[i][k] && !zero && g.fed[space_idx(e.from)]);
            if (g.carries[i][k]) g.fed[i] = true;
        }
    }
    g.kept.assign(n, false);
    g.kept[n - 1] = g.fed[n - 1];
    for (std::size_t i = n; i-- > 1;) {
        for (std::size_t k = 0; k < nodes[i].inputs.size(); ++k) {
            const bool keep = g.kept[i] && g.carries[i][k];
            g.carries[i][k] = keep;
            if (keep) g.kept[space_idx(nodes[i].inputs[k].from)] = true;
        }
    }
    return g;
}

// The structural rules of the edge variables, in node order (so the first
// cause is named, not its consequences downstream); "" when fine.
inline std::string arch_structure_problem(const search_space& s, const architecture& a, const live_graph& g) {
    for (std::size_t i = 0; i < s.nodes().size(); ++i) {
        const auto& in = s.nodes()[i].inputs;
        bool sinks = false;
        for (const space_edge& e : in) {
            sinks = sinks || e.sink;
            if (e.gate_index >= 0 && a.edges[space_idx(e.gate_index)] && !g.fed[space_idx(e.from)])
                return fmt::format("architecture: {} is on but {} has no active input, in the space {}",
                                   s.gates()[space_idx(e.gate_index)].name, s.node_at(e.from).name, s.name());
        }
        if (sinks && !g.fed[i])
            return fmt::format("architecture: {} has no path from the stage input to a sink (no node feeding it has an "
                               "active input), in the space {}",
                               s.nodes()[i].name, s.name());
    }
    return {};
}

}  // namespace detail

// Why a is not an architecture of s, or "" when it is.
inline std::string why_invalid(const search_space& s, const architecture& a) {
    std::string why = detail::arch_range_problem(s, a);
    if (why.empty() && !s.gates().empty()) why = detail::arch_structure_problem(s, a, detail::arch_liveness(s, a));
    return why;
}

inline bool is_valid(const search_space& s, const architecture& a) { return why_invalid(s, a).empty(); }

// Throws config_error naming the first problem (see why_invalid).
inline void validate(const search_space& s, const architecture& a) {
    const std::string why = why_invalid(s, a);
    if (!why.empty()) throw config_error(why);
}

// The live parts of a valid architecture (validates first).
inline live_graph live_parts(const search_space& s, const architecture& a) {
    std::string why = detail::arch_range_problem(s, a);
    if (!why.empty()) throw config_error(why);
    live_graph g = detail::arch_liveness(s, a);
    if (!s.gates().empty()) why = detail::arch_structure_problem(s, a, g);
    if (!why.empty()) throw config_error(why);
    return g;
}

// a with every gated edge whose source has no active input switched off,
// repeated down the graph, so removing an edge or node also removes what it
// alone fed (structure-level pruning). Ranges are validated; the result may
// still be invalid when a stage loses its last path to a sink.
inline architecture without_dead_edges(const search_space& s, architecture a) {
    const std::string why = detail::arch_range_problem(s, a);
    if (!why.empty()) throw config_error(why);
    // One pass in node order settles it: a node's fed state depends only on earlier nodes.
    live_graph g = detail::arch_liveness(s, a);
    for (const space_node& n : s.nodes())
        for (const space_edge& e : n.inputs)
            if (e.gate_index >= 0 && a.edges[detail::space_idx(e.gate_index)] && !g.fed[detail::space_idx(e.from)]) {
                a.edges[detail::space_idx(e.gate_index)] = 0;
                g = detail::arch_liveness(s, a);
            }
    return a;
}

// Per choice point: some edge of a's derived network runs it (validates a).
inline std::vector<bool> live_choice_points(const search_space& s, const architecture& a) {
    const live_graph g = live_parts(s, a);
    std::vector<bool> live(s.choice_points().size(), false);
    for (std::size_t p = 0; p < live.size(); ++p)
        for (const edge_ref& r : s.choice_points()[p].sites) live[p] = live[p] || g.edge(r);
    return live;
}

// The chosen candidate's name at every choice point (validates the ranges).
inline std::vector<std::string> op_names(const search_space& s, const architecture& a) {
    const std::string why = detail::arch_range_problem(s, a);
    if (!why.empty()) throw config_error(why);
    std::vector<std::string> names;
    for (std::size_t i = 0; i < a.choices.size(); ++i)
        names.push_back(s.choice_points()[i].candidates[detail::space_idx(a.choices[i])].name);
    return names;
}

}  // namespace hwnas
