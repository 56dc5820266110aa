#pragma once
// The small modules the op kinds are built from, beyond nn/layers.hpp and
// nn/mbconv.hpp: a plain conv (no BN), BN alone, an activation, identity,
// zeros, pooling, global average pooling, DARTS' FactorizedReduce and the
// NAS-Bench-201 ResNet block. Each reports output_shape and macs so a built
// op can be checked against its kind's cost function.
#include <memory>
#include <string>

#include "hwnas/nn/layers.hpp"
#include "hwnas/nn/sequential.hpp"
#include "hwnas/ops/channels.hpp"
#include "hwnas/ops/elementwise.hpp"

namespace hwnas {

namespace detail {
inline shape nhwc_checked(const char* who, const shape& in) {
    if (in.rank() != 4) throw shape_error(fmt::format("{}: input has shape {}, expected rank 4 [N, H, W, C]", who, in));
    return in;
}
}  // namespace detail

// y[n, h, w, c] = x[n, h + 1, w + 1, c], zero past the bottom and right edges:
// the one-pixel shift of FactorizedReduce's second half.
inline var shift_up_left(const var& x) {
    const shape s = detail::nhwc_checked("shift_up_left", x.shape());
    const index_t n = s[0], h = s[1], w = s[2], c = s[3];
    tensor y = tensor::zeros(s);
    const float* px = x.value().data();
    float* py = y.data();
    for (index_t b = 0; b < n; ++b)
        for (index_t i = 0; i + 1 < h; ++i)
            std::copy_n(px + ((b * h + i + 1) * w + 1) * c, (w - 1) * c, py + (b * h + i) * w * c);
    return record("shift_up_left", std::move(y), {x}, [n, h, w, c](const tensor& gy, grad_sink& g) {
        tensor gx = tensor::zeros(gy.shape());
        for (index_t b = 0; b < n; ++b)
            for (index_t i = 0; i + 1 < h; ++i)
                std::copy_n(gy.data() + (b * h + i) * w * c, (w - 1) * c, gx.data() + ((b * h + i + 1) * w + 1) * c);
        g.add(0, std::move(gx));
    });
}

// conv2d without bias and without BN (DARTS' depthwise convs inside SepConv/DilConv).
class conv_layer : public module {
public:
    conv_layer(index_t cin, index_t cout, index_t kernel, rng& gen, const conv2d_params& p) : p_(p) {
        tensor w = tensor::uninitialized({kernel, kernel, cin / p.groups, cout});
        kaiming_normal(w, gen, fan_mode::fan_out);
        weight_ = register_parameter("weight", std::move(w));
    }
    var forward(const var& x) override { return conv2d(x, weight_, var(), p_); }
    std::string type_name() const override { return "conv_layer"; }
    shape output_shape(const shape& in) const override { return conv2d_output_shape(in, weight_.shape(), p_); }
    double macs(const shape& in) const override { return conv2d_macs(in, weight_.shape(), p_); }

private:
    conv2d_params p_;
    var weight_;
};

// Batch norm over the channels with a fused activation.
class bn_layer : public module, public running_stats_layer {
public:
    explicit bn_layer(index_t channels, activation act = activation::none) : act_(act) {
        gamma_ = register_parameter("gamma", tensor::ones({channels}));
        beta_ = register_parameter("beta", tensor::zeros({channels}));
        mean_ = &register_buffer("running_mean", tensor::zeros({channels}));
        var_ = &register_buffer("running_var", tensor::ones({channels}));
    }
    var forward(const var& x) override {
        return batch_norm(x, gamma_, beta_, *mean_, *var_, is_training(), momentum_, 1e-5f, act_);
    }
    std::string type_name() const override { return "bn_layer"; }
    float running_momentum() const override { return momentum_; }
    void set_running_momentum(float momentum) override { momentum_ = momentum; }
    shape output_shape(const shape& in) const override { return in; }
    double macs(const shape&) const override { return 0; }

private:
    activation act_;
    float momentum_ = 0.1f;
    var gamma_, beta_;
    tensor *mean_, *var_;
};

// A pointwise activation.
class activation_layer : public module {
public:
    explicit activation_layer(activation a) : a_(a) {}
    var forward(const var& x) override { return activate(x, a_); }
    std::string type_name() const override { return "activation_layer"; }
    shape output_shape(const shape& in) const override { return in; }
    double macs(const shape&) const override { return 0; }

private:
    activation a_;
};

class identity_layer : public module {
public:
    var forward(const var& x) override { return x; }
    std::string type_name() const override { return "identity_layer"; }
    shape output_shape(const shape& in) const override { return in; }
    double macs(const shape&) const override { return 0; }
};

// Zeros of shape [N, ceil(H/s), ceil(W/s), cout], a constant (DARTS `none`).
class zero_layer : public module {
public:
    zero_layer(index_t cout, index_t stride) : cout_(cout), stride_(stride) {}
    var forward(const var& x) override { return var(tensor::zeros(output_shape(x.shape()))); }
    std::string type_name() const override { return "zero_layer"; }
    shape output_shape(const shape& in) const override {
        detail::nhwc_checked("zero_layer", in);
        return {in[0], (in[1] + stride_ - 1) / stride_, (in[2] + stride_ - 1) / stride_, cout_};
    }
    double macs(const shape&) const override { return 0; }

private:
    index_t cout_, stride_;
};

// Same-padded max or average pooling (average excludes the padding).
class pool_layer : public module {
public:
    pool_layer(bool max, index_t kernel, index_t stride) : max_(max), k_(kernel), s_(stride) {}
    var forward(const var& x) override {
        return max_ ? max_pool2d(x, k_, s_, (k_ - 1) / 2) : avg_pool2d(x, k_, s_, (k_ - 1) / 2, false);
    }
    std::string type_name() const override { return max_ ? "max_pool" : "avg_pool"; }
    shape output_shape(const shape& in) const override {
        detail::nhwc_checked("pool_layer", in);
        const index_t p = (k_ - 1) / 2;
        return {in[0], (in[1] + 2 * p - k_) / s_ + 1, (in[2] + 2 * p - k_) / s_ + 1, in[3]};
    }
    double macs(const shape&) const override { return 0; }

private:
    bool max_;
    index_t k_, s_;
};

// [N, H, W, C] -> [N, C].
class global_pool_layer : public module {
public:
    var forward(const var& x) override { return global_avg_pool(x); }
    std::string type_name() const override { return "global_pool_layer"; }
    shape output_shape(const shape& in) const override {
        detail::nhwc_checked("global_pool_layer", in);
        return {in[0], in[3]};
    }
    double macs(const shape&) const override { return 0; }
};

// DARTS FactorizedReduce (stride 2) and the stride-1 channel change: ReLU,
// then two conv1x1/2 (cout/2 and cout - cout/2 outputs, the second on the
// input shifted by one pixel) concatenated, or one conv1x1; then BN.
class factorized_reduce : public module {
public:
    factorized_reduce(index_t cin, index_t cout, index_t stride, rng& gen) {
        const conv2d_params p{.stride = stride};
        if (stride == 1) {
            a_ = register_module("conv", std::make_shared<conv_layer>(cin, cout, 1, gen, p));
        } else {
            a_ = register_module("conv_a", std::make_shared<conv_layer>(cin, cout / 2, 1, gen, p));
            b_ = register_module("conv_b", std::make_shared<conv_layer>(cin, cout - cout / 2, 1, gen, p));
        }
        bn_ = register_module("bn", std::make_shared<bn_layer>(cout));
    }
    var forward(const var& x) override {
        const var r = relu(x);
        if (!b_) return bn_->forward(a_->forward(r));
        return bn_->forward(concat_channels({a_->forward(r), b_->forward(shift_up_left(r))}));
    }
    std::string type_name() const override { return "factorized_reduce"; }
    shape output_shape(const shape& in) const override {
        shape o = a_->output_shape(in);
        if (b_) o = {o[0], o[1], o[2], o[3] + b_->output_shape(in)[3]};
        return o;
    }
    double macs(const shape& in) const override { return a_->macs(in) + (b_ ? b_->macs(in) : 0.0); }

private:
    std::shared_ptr<conv_layer> a_, b_;
    std::shared_ptr<bn_layer> bn_;
};

// NAS-Bench-201 ResNet basic block (see the resnet_basic op kind).
class resnet_block : public module {
public:
    resnet_block(index_t cin, index_t cout, index_t stride, rng& gen) {
        auto relu_conv_bn = [&](index_t ci, index_t k, index_t s) {
            return std::make_shared<sequential>(std::vector<std::shared_ptr<module>>{
                std::make_shared<activation_layer>(activation::relu),
                std::make_shared<conv_bn_act>(ci, cout, k, gen, conv_bn_act_options{.stride = s, .act = activation::none})});
        };
        a_ = register_module("conv_a", relu_conv_bn(cin, 3, stride));
        b_ = register_module("conv_b", relu_conv_bn(cout, 3, 1));
        if (stride == 2)
            shortcut_ = register_module("shortcut", std::make_shared<sequential>(std::vector<std::shared_ptr<module>>{
                                                        std::make_shared<pool_layer>(false, 2, 2),
                                                        std::make_shared<conv_layer>(cin, cout, 1, gen, conv2d_params{})}));
        else if (cin != cout)
            shortcut_ = register_module("shortcut", relu_conv_bn(cin, 1, 1));
    }
    var forward(const var& x) override {
        return add(b_->forward(a_->forward(x)), shortcut_ ? shortcut_->forward(x) : x);
    }
    std::string type_name() const override { return "resnet_block"; }
    shape output_shape(const shape& in) const override { return b_->output_shape(a_->output_shape(in)); }
    double macs(const shape& in) const override {
        return a_->macs(in) + b_->macs(a_->output_shape(in)) + (shortcut_ ? shortcut_->macs(in) : 0.0);
    }

private:
    std::shared_ptr<sequential> a_, b_, shortcut_;
};

}  // namespace hwnas
