#pragma once
// A candidate operation as data: a named spec of a registered kind with
// integer arguments ("k3_e6" = kind "mbconv" {kernel 3, expansion 6, groups 1}),
// and what a kind must tell about itself: output shape and exact cost for a
// given input. Shapes here are per sample, channels last [H, W, C].
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "hwnas/tensor/shape.hpp"

namespace hwnas {

// The shape of one sample's feature map, channels last.
struct feature_shape {
    index_t h = 0, w = 0, c = 0;
    friend bool operator==(const feature_shape&, const feature_shape&) = default;
    std::string str() const { return fmt::format("[{},{},{}]", h, w, c); }
};

// One candidate: name is unique among the candidates of a choice point (and is
// what architecture files show); kind names a registered op_kind; args are
// that kind's arguments in its declared order.
struct op_spec {
    std::string name;
    std::string kind;
    std::vector<int> args;
    friend bool operator==(const op_spec&, const op_spec&) = default;
};

// Where an op runs: its input shape, output channels and stride.
struct op_site {
    feature_shape in;
    index_t cout = 0;
    index_t stride = 1;
};

// Exact cost of an op or a network. MACs count the multiply-accumulates of
// convolutions and linear layers; BN, activations, pooling and additions are
// not MACs. Parameters: conv weights (no biases), BN gamma and beta (2 per
// channel), linear weights and bias.
struct op_cost {
    std::int64_t macs = 0;
    std::int64_t params = 0;
    op_cost& operator+=(const op_cost& o) {
        macs += o.macs;
        params += o.params;
        return *this;
    }
    friend op_cost operator+(op_cost a, const op_cost& b) { return a += b; }
    friend bool operator==(const op_cost&, const op_cost&) = default;
};

// What a kind of op is. Register one with register_op_kind (op_registry.hpp)
// to use it as a candidate in any space; a module builder (supernet layer)
// registers under the same name and must build exactly what doc says.
struct op_kind {
    std::string name;
    std::vector<std::string> args;  // argument names, in the order op_spec::args holds them
    std::string doc;                // the exact layers the op is made of
    // Exact cost at a site. Called only after out_shape accepted the site.
    std::function<op_cost(const op_spec&, const op_site&)> cost;
    // Output shape; throws shape_error (or config_error for bad args) where the
    // op cannot run. Empty means a same-padded conv's [ceil(H/s), ceil(W/s), cout].
    std::function<feature_shape(const op_spec&, const op_site&)> out_shape;
    // Outputs zeros whatever its input (DARTS `none`): its edge carries nothing.
    bool zero = false;
};

}  // namespace hwnas

template <>
struct fmt::formatter<hwnas::feature_shape> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(const hwnas::feature_shape& s, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(s.str(), ctx);
    }
};
