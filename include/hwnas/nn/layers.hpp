#pragma once
// Basic layers: linear_layer (fully connected), conv_bn_act (conv2d without
// bias + batch norm with a fused activation), classifier_head (global
// average pool + linear).
#include <cmath>

#include "hwnas/nn/init.hpp"
#include "hwnas/nn/module.hpp"
#include "hwnas/ops/activation.hpp"
#include "hwnas/ops/batch_norm.hpp"
#include "hwnas/ops/conv2d.hpp"
#include "hwnas/ops/linear.hpp"
#include "hwnas/ops/pool.hpp"

namespace hwnas {

// y = x W + b with W [in, out]; PyTorch's default init: W and b uniform in
// [-1/sqrt(in), 1/sqrt(in)).
class linear_layer : public module {
public:
    linear_layer(index_t in_features, index_t out_features, rng& gen, bool bias = true)
        : in_(in_features), out_(out_features) {
        require(in_features >= 1 && out_features >= 1,
                "linear_layer: got {} input and {} output features, expected at least 1 each", in_features,
                out_features);
        const float bound = 1.0f / std::sqrt(static_cast<float>(in_features));
        tensor w = tensor::uninitialized({in_features, out_features});
        uniform_init(w, gen, -bound, bound);
        weight_ = register_parameter("weight", std::move(w));
        if (bias) {
            tensor b = tensor::uninitialized({out_features});
            uniform_init(b, gen, -bound, bound);
            bias_ = register_parameter("bias", std::move(b));
        }
    }

    var forward(const var& x) override { return linear(x, weight_, bias_); }
    std::string type_name() const override { return "linear_layer"; }
    shape output_shape(const shape& in) const override {
        if (in.rank() != 2 || in[1] != in_)
            throw shape_error(fmt::format("linear_layer: input has shape {}, expected [N,{}]", in, in_));
        return {in[0], out_};
    }
    double macs(const shape& in) const override {
        return static_cast<double>(output_shape(in)[0]) * static_cast<double>(in_) * static_cast<double>(out_);
    }

    const var& weight() const { return weight_; }
    const var& bias() const { return bias_; }

private:
    index_t in_, out_;
    var weight_, bias_;
};

struct conv_bn_act_options {
    index_t stride = 1, groups = 1, dilation = 1;
    index_t padding = -1;  // -1: "same" padding dilation * (kernel - 1) / 2 (odd kernels)
    activation act = activation::relu;
    float bn_momentum = 0.1f, bn_eps = 1e-5f;
};

// conv2d (HWIO weight [k, k, cin/groups, cout], no bias) -> batch_norm with
// the activation fused. Weight: Kaiming normal, fan_out, ReLU gain (as
// torchvision's MobileNets); gamma 1, beta 0; running mean 0, variance 1.
class conv_bn_act : public module, public running_stats_layer {
public:
    conv_bn_act(index_t in_channels, index_t out_channels, index_t kernel, rng& gen,
                const conv_bn_act_options& o = {})
        : o_(o) {
        require(in_channels >= 1 && out_channels >= 1 && kernel >= 1,
                "conv_bn_act: got {} input channels, {} output channels and kernel {}, expected at least 1 each",
                in_channels, out_channels, kernel);
        require(o.stride >= 1 && o.dilation >= 1 && o.groups >= 1,
                "conv_bn_act: stride {}, dilation {} and groups {} must be at least 1", o.stride, o.dilation,
                o.groups);
        require(in_channels % o.groups == 0 && out_channels % o.groups == 0,
                "conv_bn_act: {} input and {} output channels do not both split into {} groups", in_channels,
                out_channels, o.groups);
        require(o.padding >= 0 || kernel % 2 == 1, "conv_bn_act: \"same\" padding needs an odd kernel, got {}",
                kernel);
        require(o.padding >= -1, "conv_bn_act: padding {} is negative (-1 means \"same\")", o.padding);
        params_ = {.stride = o.stride,
                   .padding = o.padding >= 0 ? o.padding : o.dilation * (kernel - 1) / 2,
                   .dilation = o.dilation,
                   .groups = o.groups};
        tensor w = tensor::uninitialized({kernel, kernel, in_channels / o.groups, out_channels});
        kaiming_normal(w, gen, fan_mode::fan_out);
        weight_ = register_parameter("weight", std::move(w));
        gamma_ = register_parameter("gamma", tensor::ones({out_channels}));
        beta_ = register_parameter("beta", tensor::zeros({out_channels}));
        running_mean_ = &register_buffer("running_mean", tensor::zeros({out_channels}));
        running_var_ = &register_buffer("running_var", tensor::ones({out_channels}));
    }

    var forward(const var& x) override {
        return batch_norm(conv2d(x, weight_, var(), params_), gamma_, beta_, *running_mean_, *running_var_,
                          is_training(), o_.bn_momentum, o_.bn_eps, o_.act);
    }
    std::string type_name() const override { return "conv_bn_act"; }
    shape output_shape(const shape& in) const override { return conv2d_output_shape(in, weight_.shape(), params_); }
    double macs(const shape& in) const override { return conv2d_macs(in, weight_.shape(), params_); }

    const var& weight() const { return weight_; }
    const var& gamma() const { return gamma_; }
    const var& beta() const { return beta_; }
    const tensor& running_mean() const { return *running_mean_; }
    const tensor& running_var() const { return *running_var_; }
    const conv2d_params& conv_params() const { return params_; }
    activation act() const { return o_.act; }
    const conv_bn_act_options& options() const { return o_; }
    float running_momentum() const override { return o_.bn_momentum; }
    void set_running_momentum(float momentum) override { o_.bn_momentum = momentum; }

private:
    conv_bn_act_options o_;
    conv2d_params params_;
    var weight_, gamma_, beta_;
    tensor *running_mean_, *running_var_;  // owned by the module base
};

// [N, H, W, C] -> global average pool -> linear "fc" -> [N, classes].
class classifier_head : public module {
public:
    classifier_head(index_t in_channels, index_t classes, rng& gen)
        : fc_(register_module("fc", std::make_shared<linear_layer>(in_channels, classes, gen))) {}

    var forward(const var& x) override { return fc_->forward(global_avg_pool(x)); }
    std::string type_name() const override { return "classifier_head"; }
    shape output_shape(const shape& in) const override { return fc_->output_shape(pooled(in)); }
    double macs(const shape& in) const override { return fc_->macs(pooled(in)); }

    const linear_layer& fc() const { return *fc_; }

private:
    static shape pooled(const shape& in) {
        if (in.rank() != 4)
            throw shape_error(fmt::format("classifier_head: input has shape {}, expected rank 4 [N, H, W, C]", in));
        return {in[0], in[3]};
    }
    std::shared_ptr<linear_layer> fc_;
};

}  // namespace hwnas
