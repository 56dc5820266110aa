#pragma once
// conv2d: 2-d convolution on NHWC activations with HWIO weights, grouped,
// strided, padded and dilated (all square and symmetric). Three kernel paths:
// depthwise (groups == Cin == Cout) runs direct loops; a pointwise conv (1x1,
// stride 1, no padding) is one GEMM per group on the input in place; a dense
// 3x3 stride-1 conv with enough channels runs Winograd F(4x4, 3x3); every
// other conv is im2col + GEMM in bounded chunks.
#include <string>
#include <vector>

#include "hwnas/autograd/var.hpp"
#include "hwnas/ops/check.hpp"
#include "hwnas/ops/kernels/conv_common.hpp"
#include "hwnas/ops/kernels/depthwise.hpp"
#include "hwnas/ops/kernels/im2col.hpp"
#include "hwnas/ops/kernels/winograd.hpp"

namespace hwnas {

struct conv2d_params {
    index_t stride = 1, padding = 0, dilation = 1, groups = 1;  // square, symmetric
};

// Output shape [N, OH, OW, Cout] of conv2d(x, w) for input shape x [N, H, W,
// Cin] and weight shape w [KH, KW, Cin/groups, Cout]; throws shape_error or
// config_error when they do not fit together.
inline shape conv2d_output_shape(const shape& x, const shape& w, const conv2d_params& p) {
    require(p.stride >= 1, "conv2d: stride is {}, expected >= 1", p.stride);
    require(p.dilation >= 1, "conv2d: dilation is {}, expected >= 1", p.dilation);
    require(p.groups >= 1, "conv2d: groups is {}, expected >= 1", p.groups);
    require(p.padding >= 0, "conv2d: padding is {}, expected >= 0", p.padding);
    require<shape_error>(x.rank() == 4, "conv2d: input has rank {} (shape {}), expected rank 4 [N, H, W, C]",
                         x.rank(), x);
    require<shape_error>(w.rank() == 4,
                         "conv2d: weight has rank {} (shape {}), expected rank 4 [KH, KW, Cin/groups, Cout]", w.rank(),
                         w);
    require<shape_error>(x.numel() > 0, "conv2d: input is empty (shape {})", x);
    require<shape_error>(w.numel() > 0, "conv2d: weight is empty (shape {})", w);
    const index_t cin = x[3], cout = w[3], g = p.groups;
    require<shape_error>(cin % g == 0, "conv2d: input has {} channels, not divisible by {} groups (input {})", cin, g,
                         x);
    require<shape_error>(cout % g == 0,
                         "conv2d: weight has {} output channels, not divisible by {} groups (weight {})", cout, g, w);
    if (w[2] * g != cin) {
        const std::string per_group = g == 1 ? "" : fmt::format(" ({} per group x {} groups)", w[2], g);
        throw shape_error(fmt::format("conv2d: input has {} channels, weight expects {}{} (input {}, weight {})", cin,
                                      w[2] * g, per_group, x, w));
    }
    const index_t span_h = p.dilation * (w[0] - 1) + 1, span_w = p.dilation * (w[1] - 1) + 1;
    const index_t ph = x[1] + 2 * p.padding, pw = x[2] + 2 * p.padding;
    require<shape_error>(span_h <= ph && span_w <= pw,
                         "conv2d: the kernel {}x{} with dilation {} spans {}x{}, more than the padded input {}x{}, so "
                         "the output would be empty (input {}, padding {})",
                         w[0], w[1], p.dilation, span_h, span_w, ph, pw, x, p.padding);
    return shape{x[0], (ph - span_h) / p.stride + 1, (pw - span_w) / p.stride + 1, cout};
}

// Multiply-accumulates of one forward pass (validates like conv2d_output_shape).
inline double conv2d_macs(const shape& x, const shape& w, const conv2d_params& p) {
    const shape y = conv2d_output_shape(x, w, p);
    return static_cast<double>(y.numel()) * static_cast<double>(w[0] * w[1] * w[2]);
}

namespace detail {

inline kernels::conv_geometry conv2d_geometry(const shape& x, const shape& w, const shape& y,
                                              const conv2d_params& p) {
    return {.n = x[0], .h = x[1], .w = x[2], .cin = x[3], .kh = w[0], .kw = w[1], .cout = w[3], .oh = y[1],
            .ow = y[2], .stride = p.stride, .pad_h = p.padding, .pad_w = p.padding, .dil = p.dilation,
            .groups = p.groups};
}

// Winograd where it beats im2col + GEMM (benchmarks/bench_conv, conv3x3
// against conv3x3_im2col): from 16 channels in and out, and from 32 output
// tiles, below which transforming the kernel (36 x cin x cout floats per call)
// costs more than the tiles save (batch 1 at 14x14x64: 16 tiles, 1.45x slower).
inline bool conv2d_winograd(const kernels::conv_geometry& g) {
    return kernels::winograd_applies(g) && g.cin >= 16 && g.cout >= 16 &&
           kernels::winograd::tiling(g).count(g) >= 32;
}

// The kernel path for a geometry: depthwise direct loops, Winograd or (im2col +) GEMM.
// Each writes its whole output; bias may be null.
inline void conv2d_forward(const kernels::conv_geometry& g, const float* x, const float* w, const float* bias,
                           float* y) {
    if (g.depthwise())
        kernels::depthwise_forward(g, x, w, bias, y);
    else if (conv2d_winograd(g))
        kernels::winograd_forward(g, x, w, bias, y);
    else
        kernels::conv_gemm_forward(g, x, w, bias, y);
}
inline void conv2d_backward_input(const kernels::conv_geometry& g, const float* gy, const float* w, float* gx) {
    if (g.depthwise()) {
        kernels::depthwise_backward_input(g, gy, w, gx);
    } else if (g.stride == 1 && !g.pointwise()) {
        // The forward conv of gy with the flipped kernel, on the path that suits that geometry.
        kernels::input_gradient_by_forward(g, gy, w, gx, [](auto... a) { conv2d_forward(a...); });
    } else {
        kernels::conv_gemm_backward_input(g, gy, w, gx);
    }
}
inline void conv2d_backward_weight(const kernels::conv_geometry& g, const float* x, const float* gy, float* gw) {
    if (g.depthwise())
        kernels::depthwise_backward_weight(g, x, gy, gw);
    else if (conv2d_winograd(g))
        kernels::winograd_backward_weight(g, x, gy, gw);
    else
        kernels::conv_gemm_backward_weight(g, x, gy, gw);
}

}  // namespace detail

// y [N, OH, OW, Cout] = conv(x [N, H, W, Cin], w [KH, KW, Cin/groups, Cout]) +
// bias [Cout]; pass an empty var() for no bias.
inline var conv2d(const var& x, const var& w, const var& bias, const conv2d_params& p) {
    detail::check_input("conv2d", x);
    detail::check_input("conv2d", w, "weight");
    const shape ys = conv2d_output_shape(x.shape(), w.shape(), p);
    const bool has_bias = bias.defined();
    if (has_bias && !(bias.shape() == shape{ys[3]}))
        throw shape_error(fmt::format("conv2d: bias has shape {}, expected [{}]", bias.shape(), ys[3]));
    const kernels::conv_geometry g = detail::conv2d_geometry(x.shape(), w.shape(), ys, p);

    tensor y = tensor::uninitialized(ys);
    detail::conv2d_forward(g, x.value().data(), w.value().data(), has_bias ? bias.value().data() : nullptr, y.data());

    std::vector<var> inputs{x, w};
    if (has_bias) inputs.push_back(bias);
    // The input gradient needs only w, the weight gradient only x.
    const tensor xv = w.requires_grad() ? x.value() : tensor();
    const tensor wv = x.requires_grad() ? w.value() : tensor();
    return record("conv2d", std::move(y), inputs, [xv, wv, g, has_bias](const tensor& gy, grad_sink& s) {
        if (s.needs(0)) {
            tensor gx = tensor::uninitialized({g.n, g.h, g.w, g.cin});
            detail::conv2d_backward_input(g, gy.data(), wv.data(), gx.data());
            s.add(0, std::move(gx));
        }
        if (s.needs(1)) {
            tensor gw = tensor::uninitialized({g.kh, g.kw, g.cin_g(), g.cout});
            detail::conv2d_backward_weight(g, xv.data(), gy.data(), gw.data());
            s.add(1, std::move(gw));
        }
        if (has_bias && s.needs(2)) {
            tensor gb = tensor::uninitialized({g.cout});
            kernels::bias_grad(gy.data(), g.out_pixels(), g.cout, gb.data());
            s.add(2, std::move(gb));
        }
    });
}

}  // namespace hwnas
