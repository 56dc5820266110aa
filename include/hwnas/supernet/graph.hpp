#pragma once
// Runs a search space's graph (space/search_space.hpp): node 0 is the input,
// every later node merges (sum or channel concat) the outputs of its switched-
// on input edges. The supernet and the derived network both run through here,
// so the one-hot supernet and the derived network compute the same thing.
#include <vector>

#include "hwnas/ops/channels.hpp"
#include "hwnas/ops/elementwise.hpp"
#include "hwnas/space/search_space.hpp"

namespace hwnas::detail {

// on[i][k]: input k of node i runs. edge(i, k, x) returns that edge's output
// for its source value x, or an undefined var when it carries nothing (a zero
// op). A node with no output is undefined and feeds nothing; in a concat node
// a missing input is zeros, so the channel layout stays that of the space.
// node(i, value) sees every formed node value and may replace it (GRAM taps
// node values to read their gradients).
struct no_node_hook {
    void operator()(int, var&) const {}
};
template <class Edge, class Node = no_node_hook>
var run_space_graph(const search_space& s, const std::vector<std::vector<bool>>& on, const var& x, Edge&& edge,
                    Node&& node = {}) {
    const auto& nodes = s.nodes();
    std::vector<var> v(nodes.size());
    v[0] = x;
    const index_t batch = x.shape()[0];
    for (std::size_t i = 1; i < nodes.size(); ++i) {
        const space_node& n = nodes[i];
        std::vector<var> outs(n.inputs.size());
        bool any = false;
        for (std::size_t k = 0; k < n.inputs.size(); ++k) {
            const var& src = v[static_cast<std::size_t>(n.inputs[k].from)];
            if (!on[i][k] || !src.defined()) continue;
            outs[k] = edge(static_cast<int>(i), static_cast<int>(k), src);
            any = any || outs[k].defined();
        }
        if (!any) continue;
        if (n.how == merge_mode::concat) {
            for (std::size_t k = 0; k < outs.size(); ++k) {
                const feature_shape& o = n.inputs[k].out;
                if (!outs[k].defined()) outs[k] = var(tensor::zeros({batch, o.h, o.w, o.c}));
            }
            v[i] = outs.size() == 1 ? outs[0] : concat_channels(outs);
        } else {
            for (auto& o : outs)
                if (o.defined()) v[i] = v[i].defined() ? add(v[i], o) : o;
        }
        node(static_cast<int>(i), v[i]);
        // Free values no later node reads (the graph keeps what backward needs).
        for (const auto& e : n.inputs) {
            const auto from = static_cast<std::size_t>(e.from);
            bool later = false;
            for (std::size_t j = i + 1; j < nodes.size() && !later; ++j)
                for (const auto& f : nodes[j].inputs) later = later || static_cast<std::size_t>(f.from) == from;
            if (!later) v[from] = var();
        }
    }
    return v.back();
}

}  // namespace hwnas::detail
