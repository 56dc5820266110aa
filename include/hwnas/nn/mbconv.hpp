#pragma once
// The MBConv / FBNet block k{K}_e{E}[_g{G}] (docs/algorithms.md 1.1):
// 1x1 group conv (G groups) to E*Cin + BN + act, channel shuffle if G > 1,
// depthwise KxK conv (stride s) + BN + act, 1x1 group conv (G groups) to Cout
// + BN; residual add when s == 1 and Cin == Cout. The expand conv is kept for
// E = 1 too, as FBNet's k3_e1 does. options.hidden overrides the E*Cin
// expanded width (channel pruning keeps fewer hidden channels).
#include <memory>

#include "hwnas/nn/layers.hpp"
#include "hwnas/ops/channels.hpp"
#include "hwnas/ops/elementwise.hpp"

namespace hwnas {

struct mbconv_options {
    index_t kernel = 3, expansion = 1, stride = 1, groups = 1;
    activation act = activation::relu;  // after the expand and depthwise convs (relu6 for MobileNetV2)
    index_t hidden = 0;  // expanded channels; 0: expansion * Cin (a channel-pruned block sets fewer)
};

class mbconv : public module {
public:
    mbconv(index_t in_channels, index_t out_channels, rng& gen, const mbconv_options& o = {})
        : o_(o), residual_(o.stride == 1 && in_channels == out_channels) {
        require(o.expansion >= 1, "mbconv: expansion {} must be at least 1", o.expansion);
        require(o.kernel % 2 == 1, "mbconv: kernel {} must be odd", o.kernel);
        require(o.hidden >= 0, "mbconv: hidden channels {}, expected >= 0 (0: expansion * input channels)", o.hidden);
        const index_t hidden = o.hidden > 0 ? o.hidden : o.expansion * in_channels;
        expand_ = register_module(
            "expand", std::make_shared<conv_bn_act>(in_channels, hidden, 1, gen,
                                                    conv_bn_act_options{.groups = o.groups, .act = o.act}));
        dw_ = register_module("dw", std::make_shared<conv_bn_act>(
                                        hidden, hidden, o.kernel, gen,
                                        conv_bn_act_options{.stride = o.stride, .groups = hidden, .act = o.act}));
        project_ = register_module(
            "project", std::make_shared<conv_bn_act>(hidden, out_channels, 1, gen,
                                                     conv_bn_act_options{.groups = o.groups, .act = activation::none}));
    }

    var forward(const var& x) override {
        var h = expand_->forward(x);
        if (o_.groups > 1) h = channel_shuffle(h, o_.groups);
        h = project_->forward(dw_->forward(h));
        return residual_ ? add(h, x) : h;
    }
    std::string type_name() const override { return "mbconv"; }
    shape output_shape(const shape& in) const override {
        return project_->output_shape(dw_->output_shape(expand_->output_shape(in)));
    }
    double macs(const shape& in) const override {
        const shape e = expand_->output_shape(in), d = dw_->output_shape(e);
        return expand_->macs(in) + dw_->macs(e) + project_->macs(d);
    }

    bool has_residual() const { return residual_; }
    const mbconv_options& options() const { return o_; }
    const conv_bn_act& expand() const { return *expand_; }
    const conv_bn_act& dw() const { return *dw_; }
    const conv_bn_act& project() const { return *project_; }

private:
    mbconv_options o_;
    bool residual_;
    std::shared_ptr<conv_bn_act> expand_, dw_, project_;
};

}  // namespace hwnas
