#pragma once
// Node-wise DAG spaces (GRAM, algorithms.md 4.1). Stem, S stages, head.
// Stage s: node 0 = a fixed strided transition op from the previous stage's
// output to width C_s; op nodes 1..N_s, where node v sums the outputs of the
// earlier nodes u whose edge variable "stage s edge u->v" is 1 (IR node "stage
// s node v input") and applies its chosen op (choice point and IR node "stage
// s node v"); the stage output ("stage s output") sums the sinks, the nodes
// with no active outgoing edge. Stages are numbered from 1. Choice points are
// ordered by stage and node; edge variables by stage, node v, then source u.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "hwnas/space/macro.hpp"
#include "hwnas/space/search_space.hpp"

namespace hwnas {

struct dag_stage {
    int nodes = 4;           // op nodes N_s
    index_t channels = 16;   // C_s
    index_t stride = 1;      // of the transition
    op_spec transition;      // node 0: previous stage output -> C_s
};

struct dag_config {
    std::string name;
    feature_shape input;
    stem_config stem;
    std::vector<dag_stage> stages;
    std::vector<op_spec> candidates;
    head_config head;
};

inline search_space dag_space(const dag_config& c, const op_registry& ops = default_op_registry()) {
    search_space s(c.name, c.input, ops);
    int x = add_stem(s, c.stem);
    const op_spec identity{"identity", "identity", {}};
    for (std::size_t si = 0; si < c.stages.size(); ++si) {
        const dag_stage& st = c.stages[si];
        const auto name = [&](const std::string& what) { return fmt::format("stage {} {}", si + 1, what); };
        std::vector<int> h{s.add_node(name("node 0"), merge_mode::sum, {fixed_edge(x, st.transition, st.channels, st.stride)})};
        for (int v = 1; v <= st.nodes; ++v) {
            const int p = s.add_choice_point(name(fmt::format("node {}", v)), c.candidates);
            std::vector<space_edge> in;
            for (int u = 0; u < v; ++u) {
                space_edge e = fixed_edge(h[static_cast<std::size_t>(u)], identity);
                e.gate = name(fmt::format("edge {}->{}", u, v));
                in.push_back(std::move(e));
            }
            const int sum = s.add_node(name(fmt::format("node {} input", v)), merge_mode::sum, std::move(in));
            h.push_back(s.add_node(name(fmt::format("node {}", v)), merge_mode::sum, {choice_edge(sum, p)}));
        }
        std::vector<space_edge> sinks;
        for (std::size_t v = 1; v < h.size(); ++v) {
            space_edge e = fixed_edge(h[v], identity);
            e.sink = true;
            sinks.push_back(std::move(e));
        }
        x = s.add_node(name("output"), merge_mode::sum, std::move(sinks));
    }
    add_head(s, x, c.head);
    return s;
}

// The node candidates of GRAM's space: dw3x3, dw5x5 (depthwise + BN + ReLU),
// conv1x1 (+ BN + ReLU), mbconv_k3_e3, mbconv_k5_e3, mbconv_k3_e6 (FBNet blocks).
inline std::vector<op_spec> gram_candidates() {
    return {{"dw3x3", "dw", {3}},
            {"dw5x5", "dw", {5}},
            {"conv1x1", "conv_bn_relu", {1}},
            {"mbconv_k3_e3", "mbconv", {3, 3, 1}},
            {"mbconv_k5_e3", "mbconv", {5, 3, 1}},
            {"mbconv_k3_e6", "mbconv", {3, 6, 1}}};
}

// A small node-wise space for 28x28x1 images (Fashion-MNIST), with the same
// stem and head as fbnet_fmnist so the two compare: stem conv3x3/2 16 (14x14);
// 3 stages of 4 nodes at widths 24, 40, 64, transitions mbconv k3 e3 with
// strides 1, 2, 2 (14 -> 14 -> 7 -> 4); head conv1x1 256, 10 classes.
// gram_fmnist_config() is its config (the width-multiplier baseline scales it).
inline dag_config gram_fmnist_config() {
    const op_spec transition{"mbconv_k3_e3", "mbconv", {3, 3, 1}};
    return {"gram_fmnist", {28, 28, 1}, conv3x3_stem(16, 2),
            {{4, 24, 1, transition}, {4, 40, 2, transition}, {4, 64, 2, transition}}, gram_candidates(),
            {op_spec{"conv1x1", "conv_bn_relu", {1}}, 256, 10}};
}
inline search_space gram_fmnist() { return dag_space(gram_fmnist_config()); }

}  // namespace hwnas
