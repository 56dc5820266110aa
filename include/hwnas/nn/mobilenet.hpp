#pragma once
// A MobileNetV2-style network as data: stem conv, stages of MBConv blocks,
// a 1x1 head conv and a classifier. The fixed baseline that searches are
// compared with, and (through width) the width-multiplier baseline.
#include <cmath>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "hwnas/nn/layers.hpp"
#include "hwnas/nn/mbconv.hpp"
#include "hwnas/nn/sequential.hpp"

namespace hwnas {

struct mbconv_stage {
    index_t expansion = 1, channels = 16, repeats = 1, stride = 1, kernel = 3;
};

struct mobilenet_config {
    index_t in_channels = 1, classes = 10;
    index_t stem_channels = 16, stem_stride = 1;
    std::vector<mbconv_stage> stages;
    index_t head_channels = 128;
    float width = 1.0f;  // multiplies every channel count (rounded to a multiple of 8, at least 8)
    activation act = activation::relu6;
};

// The default for 28x28 gray images (Fashion-MNIST): 28 -> 14 -> 7, about 5M MACs.
inline mobilenet_config mobilenet_v2_small() {
    mobilenet_config c;
    c.stages = {{1, 16, 1, 1, 3}, {4, 24, 2, 2, 3}, {4, 40, 2, 2, 5}, {4, 64, 1, 1, 3}};
    return c;
}

// Channel count c scaled by width, rounded to the nearest multiple of 8 (never below 8 or 90% of the scaled count).
inline index_t scaled_channels(index_t c, float width) {
    const double v = static_cast<double>(c) * width;
    index_t r = std::max<index_t>(8, static_cast<index_t>(v / 8.0 + 0.5) * 8);
    if (static_cast<double>(r) < 0.9 * v) r += 8;
    return r;
}

inline std::shared_ptr<sequential> make_mobilenet(const mobilenet_config& c, rng& gen) {
    require(c.width > 0, "make_mobilenet: width {} must be positive", c.width);
    require(!c.stages.empty(), "make_mobilenet: the configuration has no stages");
    auto net = std::make_shared<sequential>();
    index_t ch = scaled_channels(c.stem_channels, c.width);
    net->add(std::make_shared<conv_bn_act>(c.in_channels, ch, 3, gen,
                                           conv_bn_act_options{.stride = c.stem_stride, .act = c.act}));
    for (const auto& s : c.stages) {
        require(s.repeats >= 1, "make_mobilenet: a stage has {} repeats, expected >= 1", s.repeats);
        const index_t out = scaled_channels(s.channels, c.width);
        for (index_t i = 0; i < s.repeats; ++i) {
            net->add(std::make_shared<mbconv>(
                ch, out, gen,
                mbconv_options{.kernel = s.kernel, .expansion = s.expansion, .stride = i == 0 ? s.stride : 1,
                               .act = c.act}));
            ch = out;
        }
    }
    const index_t head = scaled_channels(c.head_channels, c.width);
    net->add(std::make_shared<conv_bn_act>(ch, head, 1, gen, conv_bn_act_options{.act = c.act}));
    net->add(std::make_shared<classifier_head>(head, c.classes, gen));
    return net;
}

inline nlohmann::json to_json(const mobilenet_config& c) {
    nlohmann::json stages = nlohmann::json::array();
    for (const auto& s : c.stages)
        stages.push_back({{"expansion", s.expansion}, {"channels", s.channels}, {"repeats", s.repeats},
                          {"stride", s.stride}, {"kernel", s.kernel}});
    return {{"type", "mobilenet_v2"}, {"in_channels", c.in_channels}, {"classes", c.classes},
            {"stem_channels", c.stem_channels}, {"stem_stride", c.stem_stride}, {"stages", stages},
            {"head_channels", c.head_channels}, {"width", c.width},
            {"activation", c.act == activation::relu6 ? "relu6" : "relu"}};
}

}  // namespace hwnas
