#pragma once
// Cell spaces: DARTS (algorithms.md 1.2) and NAS-Bench-201
// (shared/data/latency/README.md). Each edge of a cell type is one choice
// point shared by every cell of that type (its sites); every site keeps its
// own shapes (and, in a supernet, its own weights).
#include <string>
#include <vector>

#include <fmt/format.h>

#include "hwnas/space/macro.hpp"
#include "hwnas/space/search_space.hpp"

namespace hwnas {

// DARTS' 8 candidates, in its PRIMITIVES order.
inline std::vector<op_spec> darts_candidates() {
    return {{"none", "zero", {}},           {"skip_connect", "factorized_skip", {}},
            {"max_pool_3x3", "max_pool", {3}}, {"avg_pool_3x3", "avg_pool", {3}},
            {"sep_conv_3x3", "sep_conv", {3}}, {"sep_conv_5x5", "sep_conv", {5}},
            {"dil_conv_3x3", "dil_conv", {3, 2}}, {"dil_conv_5x5", "dil_conv", {5, 2}}};
}

// The DARTS search network. Stem conv3x3 + BN to stem_multiplier * channels;
// `cells` cells, the ones at cells/3 and 2*cells/3 reduction cells (channels
// doubled, stride 2 on the edges from the two inputs). A cell: node 0 =
// ReLU-conv1x1-BN of the cell before the previous one (FactorizedReduce when
// the previous cell reduced), node 1 = ReLU-conv1x1-BN of the previous cell,
// nodes 2..nodes+1 = sum over every earlier node i of the edge i->j, output =
// concat of the intermediate nodes. Head: global average pool + linear.
// Choice points: "normal edge i->j" for j = 2.., i < j, then "reduce edge i->j".
struct darts_config {
    std::string name = "darts";
    feature_shape input{32, 32, 3};
    index_t channels = 16;
    int cells = 8;
    int nodes = 4;
    index_t stem_multiplier = 3;
    index_t classes = 10;
    std::vector<op_spec> candidates = darts_candidates();
};

inline search_space darts_space(const darts_config& c = {}, const op_registry& ops = default_op_registry()) {
    require(c.cells >= 1 && c.nodes >= 1, "darts_space: needs cells >= 1 and nodes >= 1, got {} and {}", c.cells,
            c.nodes);
    search_space s(c.name, c.input, ops);
    std::vector<int> points;  // [type][edge]: edges of node j from i = 0..j-1, j = 2..nodes+1
    for (const char* type : {"normal", "reduce"})
        for (int j = 2; j < c.nodes + 2; ++j)
            for (int i = 0; i < j; ++i)
                points.push_back(s.add_choice_point(fmt::format("{} edge {}->{}", type, i, j), c.candidates));
    const int edges_per_cell = static_cast<int>(points.size()) / 2;
    const op_spec relu_conv_1x1{"relu_conv1x1", "relu_conv_bn", {1}};
    int prev_prev = add_stem(s, {{"conv3x3", "conv_bn", {3}}, c.stem_multiplier * c.channels, 1});
    int prev = prev_prev;
    index_t ch = c.channels;
    bool reduced_before = false;
    for (int k = 0; k < c.cells; ++k) {
        const bool reduce = k == c.cells / 3 || k == 2 * c.cells / 3;
        if (reduce) ch *= 2;
        const auto name = [&](const auto& what) { return fmt::format("cell {} {}", k, what); };
        std::vector<int> state;
        state.push_back(s.add_node(name("node 0"), merge_mode::sum,
                                   {reduced_before ? fixed_edge(prev_prev, {"reduce", "factorized_skip", {}}, ch, 2)
                                                   : fixed_edge(prev_prev, relu_conv_1x1, ch)}));
        state.push_back(s.add_node(name("node 1"), merge_mode::sum, {fixed_edge(prev, relu_conv_1x1, ch)}));
        int e = reduce ? edges_per_cell : 0;
        for (int j = 2; j < c.nodes + 2; ++j) {
            std::vector<space_edge> in;
            for (int i = 0; i < j; ++i)
                in.push_back(choice_edge(state[static_cast<std::size_t>(i)], points[static_cast<std::size_t>(e++)],
                                         ch, reduce && i < 2 ? 2 : 1));
            state.push_back(s.add_node(name(fmt::format("node {}", j)), merge_mode::sum, std::move(in)));
        }
        std::vector<space_edge> out;
        for (int j = 2; j < c.nodes + 2; ++j)
            out.push_back(fixed_edge(state[static_cast<std::size_t>(j)], {"identity", "identity", {}}));
        prev_prev = prev;
        prev = s.add_node(name("output"), merge_mode::concat, std::move(out));
        reduced_before = reduce;
    }
    add_head(s, prev, {std::nullopt, 0, c.classes});
    return s;
}

// NAS-Bench-201's 5 candidates in its op index order.
inline std::vector<op_spec> nb201_candidates() {
    return {{"none", "zero", {}},
            {"skip_connect", "factorized_skip", {}},
            {"nor_conv_1x1", "relu_conv_bn", {1}},
            {"nor_conv_3x3", "relu_conv_bn", {3}},
            {"avg_pool_3x3", "avg_pool", {3}}};
}

// The NAS-Bench-201 network: stem conv3x3 + BN to `channels`; 3 stages of
// `cells_per_stage` cells at channels x1, x2, x4 with a ResNet reduction block
// (stride 2) between stages; head BN + ReLU, global average pool, linear. A
// cell: node j = sum of edge(i->j) over i < j, output node 3. Choice points,
// in the op index order of the latency tables: "edge 0->1", "edge 0->2",
// "edge 1->2", "edge 0->3", "edge 1->3", "edge 2->3".
struct nb201_config {
    std::string name = "nb201";
    feature_shape input{32, 32, 3};
    index_t channels = 16;
    int cells_per_stage = 5;
    index_t classes = 10;
    std::vector<op_spec> candidates = nb201_candidates();
};

inline search_space nb201_space(const nb201_config& c = {}, const op_registry& ops = default_op_registry()) {
    search_space s(c.name, c.input, ops);
    const int from[6] = {0, 0, 1, 0, 1, 2}, to[6] = {1, 2, 2, 3, 3, 3};
    int points[6];
    for (int e = 0; e < 6; ++e) points[e] = s.add_choice_point(fmt::format("edge {}->{}", from[e], to[e]), c.candidates);
    int x = add_stem(s, {{"conv3x3", "conv_bn", {3}}, c.channels, 1});
    index_t ch = c.channels;
    int cell = 0;
    for (int stage = 0; stage < 3; ++stage) {
        if (stage > 0) {
            ch *= 2;
            x = s.add_node(fmt::format("reduction {}", stage), merge_mode::sum,
                           {fixed_edge(x, {"resnet_basic", "resnet_basic", {}}, ch, 2)});
        }
        for (int k = 0; k < c.cells_per_stage; ++k, ++cell) {
            int node[4] = {x, 0, 0, 0};
            for (int j = 1; j < 4; ++j) {
                std::vector<space_edge> in;
                for (int e = 0; e < 6; ++e)
                    if (to[e] == j) in.push_back(choice_edge(node[from[e]], points[e], ch));
                node[j] = s.add_node(fmt::format("cell {} node {}", cell, j), merge_mode::sum, std::move(in));
            }
            x = node[3];
        }
    }
    add_head(s, x, {op_spec{"lastact", "bn_relu", {}}, 0, c.classes});
    return s;
}

}  // namespace hwnas
