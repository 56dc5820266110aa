#pragma once
// Basic layers: linear_layer (fully connected).
#include <cmath>

#include "hwnas/nn/init.hpp"
#include "hwnas/nn/module.hpp"
#include "hwnas/ops/linear.hpp"

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

}  // namespace hwnas
