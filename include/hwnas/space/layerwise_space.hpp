#pragma once
// Layer-wise chain spaces (FBNet, algorithms.md 1.1): stem, searchable layers
// "layer 0".."layer L-1" in stages, head. Every layer is a choice point of its
// own with the same candidate list. Presets: fbnet_imagenet, fbnet_cifar (the
// settings of shared/data/latency/README.md, whose latency tables they index)
// and fbnet_fmnist.
#include <string>
#include <vector>

#include <fmt/format.h>

#include "hwnas/space/macro.hpp"
#include "hwnas/space/search_space.hpp"

namespace hwnas {

struct layerwise_stage {
    int layers = 1;
    index_t channels = 16;
    index_t stride = 1;  // of the stage's first layer; the others have stride 1
};

struct layerwise_config {
    std::string name;
    feature_shape input;
    stem_config stem;
    std::vector<layerwise_stage> stages;
    std::vector<op_spec> candidates;
    head_config head;
};

inline search_space layerwise_space(const layerwise_config& c, const op_registry& ops = default_op_registry()) {
    search_space s(c.name, c.input, ops);
    int x = add_stem(s, c.stem);
    int layer = 0;
    for (const layerwise_stage& st : c.stages) {
        for (int i = 0; i < st.layers; ++i, ++layer) {
            const std::string name = fmt::format("layer {}", layer);
            const int p = s.add_choice_point(name, c.candidates);
            x = s.add_node(name, merge_mode::sum, {choice_edge(x, p, st.channels, i == 0 ? st.stride : 1)});
        }
    }
    add_head(s, x, c.head);
    return s;
}

// FBNet's 9 candidates in the op index order of the latency tables:
// 0 k3_e1, 1 k3_e1_g2, 2 k3_e3, 3 k3_e6, 4 k5_e1, 5 k5_e1_g2, 6 k5_e3, 7 k5_e6, 8 skip.
inline std::vector<op_spec> fbnet_candidates() {
    return {{"k3_e1", "mbconv", {3, 1, 1}}, {"k3_e1_g2", "mbconv", {3, 1, 2}}, {"k3_e3", "mbconv", {3, 3, 1}},
            {"k3_e6", "mbconv", {3, 6, 1}}, {"k5_e1", "mbconv", {5, 1, 1}}, {"k5_e1_g2", "mbconv", {5, 1, 2}},
            {"k5_e3", "mbconv", {5, 3, 1}}, {"k5_e6", "mbconv", {5, 6, 1}}, {"skip", "skip", {}}};
}

namespace detail {
// FBNet's 22 layers: [1,4,4,4,4,4,1] layers, out channels [16,24,32,64,112,184,352].
inline std::vector<layerwise_stage> fbnet_stages(const std::vector<index_t>& strides) {
    const std::vector<int> layers{1, 4, 4, 4, 4, 4, 1};
    const std::vector<index_t> channels{16, 24, 32, 64, 112, 184, 352};
    std::vector<layerwise_stage> st;
    for (std::size_t i = 0; i < layers.size(); ++i) st.push_back({layers[i], channels[i], strides[i]});
    return st;
}
}  // namespace detail

// FBNet on ImageNet: 224x224x3, stem conv3x3/2 16, strides [1,2,2,2,1,2,1],
// head conv1x1 1984, 1000 classes. 22 layers x 9 candidates.
inline search_space fbnet_imagenet() {
    return layerwise_space({"fbnet_imagenet", {224, 224, 3}, conv3x3_stem(16, 2),
                            detail::fbnet_stages({1, 2, 2, 2, 1, 2, 1}), fbnet_candidates(),
                            {op_spec{"conv1x1", "conv_bn_relu", {1}}, 1984, 1000}});
}

// FBNet in the 32x32 (CIFAR-100) setting: stem conv3x3/1 16, strides
// [1,1,2,2,1,2,1], head conv1x1 1504, 100 classes.
inline search_space fbnet_cifar() {
    return layerwise_space({"fbnet_cifar", {32, 32, 3}, conv3x3_stem(16, 1),
                            detail::fbnet_stages({1, 1, 2, 2, 1, 2, 1}), fbnet_candidates(),
                            {op_spec{"conv1x1", "conv_bn_relu", {1}}, 1504, 100}});
}

// A small FBNet-style space for 28x28x1 images (Fashion-MNIST), 10 classes,
// sized so a 9-way supernet trains on 2 CPU cores: the stride-2 stem puts the
// searchable layers at 14x14 (at 28x28 the first layer alone would cost 4x);
// 7 layers in stages [1,2,2,2] with [16,24,40,64] channels and strides
// [1,2,2,1] (14 -> 7 -> 4), head conv1x1 256. The supernet with all 9
// candidates is about 14M MACs per image, one k3_e6 path about 3M.
inline search_space fbnet_fmnist() {
    return layerwise_space({"fbnet_fmnist", {28, 28, 1}, conv3x3_stem(16, 2),
                            {{1, 16, 1}, {2, 24, 2}, {2, 40, 2}, {2, 64, 1}}, fbnet_candidates(),
                            {op_spec{"conv1x1", "conv_bn_relu", {1}}, 256, 10}});
}

}  // namespace hwnas
