#pragma once
// The op kinds hwnas ships: the blocks of FBNet, DARTS, NAS-Bench-201 and the
// node-wise (GRAM) space, plus the fixed stem/head pieces. Each doc string is
// the exact layer sequence; the cost functions count exactly those layers
// (no conv biases, BN = 2 parameters per channel, see op_cost). Convolutions
// are same-padded: pad (k-1)/2 (times the dilation), output ceil(H/s).
#include <vector>

#include "hwnas/error.hpp"
#include "hwnas/space/op_spec.hpp"

namespace hwnas::detail {

inline index_t same_extent(index_t x, index_t stride) { return (x + stride - 1) / stride; }

inline feature_shape same_padded_shape(const op_site& s) {
    return {same_extent(s.in.h, s.stride), same_extent(s.in.w, s.stride), s.cout};
}

// A kxk conv (groups g) from cin to cout producing an ho x wo map.
inline op_cost conv_cost(index_t ho, index_t wo, index_t cin, index_t cout, index_t k, index_t groups = 1) {
    const index_t weights = k * k * (cin / groups) * cout;
    return {ho * wo * weights, weights};
}

inline op_cost bn_cost(index_t c) { return {0, 2 * c}; }

// Argument i as a kernel size: odd and positive.
inline index_t kernel_arg(const op_spec& op, int i) {
    const int k = op.args[static_cast<std::size_t>(i)];
    require(k >= 1 && k % 2 == 1, "{} ({}): kernel {} must be odd and >= 1", op.name, op.kind, k);
    return k;
}

inline void require_channels_kept(const op_spec& op, const op_site& s) {
    require<shape_error>(s.cout == s.in.c, "{} ({}): keeps the channel count, got input {} and cout {}", op.name,
                         op.kind, s.in, s.cout);
}

inline void require_unchanged(const op_spec& op, const op_site& s) {
    require<shape_error>(s.cout == s.in.c && s.stride == 1,
                         "{} ({}): outputs its input unchanged, got input {}, cout {}, stride {}", op.name,
                         op.kind, s.in, s.cout, s.stride);
}

inline bool shape_kept(const op_site& s) { return s.stride == 1 && s.cout == s.in.c; }

// Same-padded conv + BN: conv_bn, conv_bn_relu, relu_conv_bn (activation placement costs nothing).
inline op_kind conv_bn_kind(std::string name, std::string doc) {
    return {std::move(name), {"kernel"}, std::move(doc),
            [](const op_spec& op, const op_site& s) {
                const auto o = same_padded_shape(s);
                return conv_cost(o.h, o.w, s.in.c, s.cout, op.args[0]) + bn_cost(s.cout);
            },
            [](const op_spec& op, const op_site& s) {
                kernel_arg(op, 0);
                return same_padded_shape(s);
            }};
}

inline op_kind pool_kind(std::string name, std::string doc) {
    return {std::move(name), {"kernel"}, std::move(doc), [](const op_spec&, const op_site&) { return op_cost{}; },
            [](const op_spec& op, const op_site& s) {
                kernel_arg(op, 0);
                require_channels_kept(op, s);
                return same_padded_shape(s);
            }};
}

// The reshaping path of skip and factorized_skip: conv1x1 (stride s) + BN,
// or its two-half factorized form, which has the same cost.
inline op_cost reshape_skip_cost(const op_site& s) {
    if (shape_kept(s)) return {};
    const auto o = same_padded_shape(s);
    return conv_cost(o.h, o.w, s.in.c, s.cout, 1) + bn_cost(s.cout);
}

inline std::vector<op_kind> builtin_op_kinds() {
    std::vector<op_kind> k;
    k.push_back({"identity", {}, "the input unchanged; needs cout = input channels and stride 1",
                 [](const op_spec&, const op_site&) { return op_cost{}; },
                 [](const op_spec& op, const op_site& s) {
                     require_unchanged(op, s);
                     return s.in;
                 }});
    k.push_back({"zero", {}, "zeros of shape [ceil(H/s), ceil(W/s), cout] (DARTS and NAS-Bench-201 `none`)",
                 [](const op_spec&, const op_site&) { return op_cost{}; }, {}, true});
    k.push_back({"skip", {},
                 "FBNet skip: the input unchanged when stride is 1 and cout = input channels, "
                 "else conv1x1 (stride s) + BN + ReLU",
                 [](const op_spec&, const op_site& s) { return reshape_skip_cost(s); }, {}});
    k.push_back({"factorized_skip", {},
                 "DARTS / NAS-Bench-201 skip_connect: the input unchanged when stride is 1 and cout = input "
                 "channels; else ReLU, then for stride 2 two conv1x1/2 with cout/2 and cout - cout/2 outputs, the "
                 "second on the input shifted by one pixel (zero padded at the bottom and right), concatenated; "
                 "for stride 1 one conv1x1; then BN",
                 [](const op_spec&, const op_site& s) { return reshape_skip_cost(s); },
                 [](const op_spec& op, const op_site& s) {
                     require<shape_error>(s.stride <= 2, "{} ({}): stride {} unsupported, expected 1 or 2", op.name,
                                          op.kind, s.stride);
                     return same_padded_shape(s);
                 }});
    k.push_back(conv_bn_kind("conv_bn", "conv kxk (stride s) + BN"));
    k.push_back(conv_bn_kind("conv_bn_relu", "conv kxk (stride s) + BN + ReLU"));
    k.push_back(conv_bn_kind("relu_conv_bn",
                             "ReLU + conv kxk (stride s) + BN (NAS-Bench-201 nor_conv, DARTS ReLUConvBN)"));
    k.push_back({"dw", {"kernel"}, "depthwise conv kxk (stride s) + BN + ReLU; cout = input channels",
                 [](const op_spec& op, const op_site& s) {
                     const auto o = same_padded_shape(s);
                     return conv_cost(o.h, o.w, s.in.c, s.cout, op.args[0], s.in.c) + bn_cost(s.cout);
                 },
                 [](const op_spec& op, const op_site& s) {
                     kernel_arg(op, 0);
                     require_channels_kept(op, s);
                     return same_padded_shape(s);
                 }});
    k.push_back({"mbconv", {"kernel", "expansion", "groups"},
                 "FBNet block: conv1x1 (groups g) Cin -> e*Cin + BN + ReLU; channel shuffle if g > 1; depthwise "
                 "kxk (stride s) + BN + ReLU; conv1x1 (groups g) e*Cin -> cout + BN; plus the input when stride "
                 "is 1 and cout = Cin",
                 [](const op_spec& op, const op_site& s) {
                     const index_t e = op.args[1] * s.in.c, g = op.args[2];
                     const auto o = same_padded_shape(s);
                     return conv_cost(s.in.h, s.in.w, s.in.c, e, 1, g) + bn_cost(e) +
                            conv_cost(o.h, o.w, e, e, op.args[0], e) + bn_cost(e) + conv_cost(o.h, o.w, e, s.cout, 1, g) +
                            bn_cost(s.cout);
                 },
                 [](const op_spec& op, const op_site& s) {
                     kernel_arg(op, 0);
                     const int e = op.args[1], g = op.args[2];
                     require(e >= 1 && g >= 1, "{} ({}): expansion {} and groups {} must be >= 1", op.name, op.kind,
                             e, g);
                     require<shape_error>(s.in.c % g == 0 && s.cout % g == 0,
                                          "{} ({}): input channels {} and cout {} must be divisible by groups {}",
                                          op.name, op.kind, s.in.c, s.cout, g);
                     return same_padded_shape(s);
                 }});
    k.push_back({"sep_conv", {"kernel"},
                 "DARTS SepConv: ReLU, depthwise kxk (stride s), conv1x1 Cin -> Cin, BN, ReLU, depthwise kxk, "
                 "conv1x1 Cin -> cout, BN",
                 [](const op_spec& op, const op_site& s) {
                     const auto o = same_padded_shape(s);
                     const index_t c = s.in.c, kk = op.args[0];
                     return conv_cost(o.h, o.w, c, c, kk, c) + conv_cost(o.h, o.w, c, c, 1) + bn_cost(c) +
                            conv_cost(o.h, o.w, c, c, kk, c) + conv_cost(o.h, o.w, c, s.cout, 1) + bn_cost(s.cout);
                 },
                 [](const op_spec& op, const op_site& s) {
                     kernel_arg(op, 0);
                     return same_padded_shape(s);
                 }});
    k.push_back({"dil_conv", {"kernel", "dilation"},
                 "DARTS DilConv: ReLU, depthwise kxk with dilation d (stride s, pad d(k-1)/2), conv1x1 Cin -> cout, BN",
                 [](const op_spec& op, const op_site& s) {
                     const auto o = same_padded_shape(s);
                     return conv_cost(o.h, o.w, s.in.c, s.in.c, op.args[0], s.in.c) +
                            conv_cost(o.h, o.w, s.in.c, s.cout, 1) + bn_cost(s.cout);
                 },
                 [](const op_spec& op, const op_site& s) {
                     kernel_arg(op, 0);
                     require(op.args[1] >= 1, "{} ({}): dilation {} must be >= 1", op.name, op.kind, op.args[1]);
                     return same_padded_shape(s);
                 }});
    k.push_back(pool_kind("max_pool", "max pool kxk (stride s, pad (k-1)/2)"));
    k.push_back(pool_kind("avg_pool", "average pool kxk (stride s, pad (k-1)/2), padding excluded from the count"));
    k.push_back({"global_avg_pool", {}, "mean over H and W: [H,W,C] -> [1,1,C]; cout = C, stride 1",
                 [](const op_spec&, const op_site&) { return op_cost{}; },
                 [](const op_spec& op, const op_site& s) {
                     require_channels_kept(op, s);
                     return feature_shape{1, 1, s.cout};
                 }});
    k.push_back({"linear", {}, "fully connected with bias, [1,1,C] -> [1,1,cout] (after global_avg_pool)",
                 [](const op_spec&, const op_site& s) {
                     return op_cost{s.in.c * s.cout, s.in.c * s.cout + s.cout};
                 },
                 [](const op_spec& op, const op_site& s) {
                     require<shape_error>(s.in.h == 1 && s.in.w == 1 && s.stride == 1,
                                          "{} ({}): expects a [1,1,C] input and stride 1, got {}, stride {}", op.name,
                                          op.kind, s.in, s.stride);
                     return feature_shape{1, 1, s.cout};
                 }});
    k.push_back({"bn_relu", {}, "BN + ReLU; cout = input channels, stride 1",
                 [](const op_spec&, const op_site& s) { return bn_cost(s.cout); },
                 [](const op_spec& op, const op_site& s) {
                     require_unchanged(op, s);
                     return s.in;
                 }});
    k.push_back({"resnet_basic", {},
                 "NAS-Bench-201 ResNet block: ReLU-conv3x3 (stride s)-BN, ReLU-conv3x3-BN, plus a shortcut: "
                 "for stride 2 avg pool 2x2/2 then conv1x1 (no BN), for stride 1 with a channel change "
                 "ReLU-conv1x1-BN, else the input",
                 [](const op_spec&, const op_site& s) {
                     const auto o = same_padded_shape(s);
                     op_cost c = conv_cost(o.h, o.w, s.in.c, s.cout, 3) + bn_cost(s.cout) +
                                 conv_cost(o.h, o.w, s.cout, s.cout, 3) + bn_cost(s.cout);
                     if (s.stride == 2) c += conv_cost(o.h, o.w, s.in.c, s.cout, 1);
                     else if (s.cout != s.in.c) c += conv_cost(o.h, o.w, s.in.c, s.cout, 1) + bn_cost(s.cout);
                     return c;
                 },
                 [](const op_spec& op, const op_site& s) {
                     require<shape_error>(s.stride == 1 || (s.stride == 2 && s.in.h % 2 == 0 && s.in.w % 2 == 0),
                                          "{} ({}): needs stride 1, or stride 2 on an even-sized input (the pooled "
                                          "shortcut must match the conv path), got input {}, stride {}",
                                          op.name, op.kind, s.in, s.stride);
                     return same_padded_shape(s);
                 }});
    return k;
}

}  // namespace hwnas::detail
