#pragma once
// The fixed ends every preset shares: a stem (node "stem") and a classifier
// head (optional "head" op, then "pool" = global average pool, then
// "classifier" = linear with bias).
#include <optional>

#include "hwnas/space/search_space.hpp"

namespace hwnas {

struct stem_config {
    op_spec op;          // e.g. {"conv3x3", "conv_bn_relu", {3}}
    index_t channels = 16;
    index_t stride = 1;
};

struct head_config {
    std::optional<op_spec> op;  // applied before pooling (FBNet conv1x1 + BN + ReLU, NAS-Bench-201 BN + ReLU)
    index_t channels = 0;       // its output channels; 0 keeps them
    index_t classes = 10;
};

// The conv3x3 + BN + ReLU stem of the FBNet and node-wise presets.
inline stem_config conv3x3_stem(index_t channels, index_t stride) {
    return {{"conv3x3", "conv_bn_relu", {3}}, channels, stride};
}

// Adds the stem on the network input; returns its node.
inline int add_stem(search_space& s, const stem_config& c) {
    return s.add_node("stem", merge_mode::sum, {fixed_edge(0, c.op, c.channels, c.stride)});
}

// Adds the head after node `from`; returns the classifier (output) node.
inline int add_head(search_space& s, int from, const head_config& c) {
    if (c.op) from = s.add_node("head", merge_mode::sum, {fixed_edge(from, *c.op, c.channels)});
    from = s.add_node("pool", merge_mode::sum, {fixed_edge(from, {"global_avg_pool", "global_avg_pool", {}})});
    return s.add_node("classifier", merge_mode::sum, {fixed_edge(from, {"linear", "linear", {}}, c.classes)});
}

}  // namespace hwnas
