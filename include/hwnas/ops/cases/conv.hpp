#pragma once
// Op cases: conv2d on every kernel path (im2col + GEMM, pointwise GEMM,
// depthwise specialized and generic), with and without bias. conv2d is linear
// in each input, so central differences are exact for any step: a large eps
// keeps float rounding out of the finite differences.
#include <string>

#include "hwnas/ops/cases/common.hpp"
#include "hwnas/ops/conv2d.hpp"

namespace hwnas {

inline void add_conv_cases(std::vector<op_case>& c) {
    auto conv = [&c](std::string name, shape xs, shape ws, conv2d_params p, bool bias) {
        const double flops = 2.0 * conv2d_macs(xs, ws, p);
        c.push_back({"conv2d " + name + " x" + xs.str() + " w" + ws.str() + (bias ? " with bias" : ""),
                     [=](rng& g) {
                         std::vector v{cases::uniform(g, xs), cases::uniform(g, ws)};
                         if (bias) v.push_back(cases::uniform(g, {ws[3]}));
                         return v;
                     },
                     [=](std::span<const var> in) { return conv2d(in[0], in[1], bias ? in[2] : var(), p); }, {},
                     flops, grad_check_options{.eps = 0.25f}});
    };
    conv("dense 3x3 pad 1", {2, 4, 5, 3}, {3, 3, 3, 4}, {.padding = 1}, true);
    conv("dense 3x3 no padding", {1, 5, 6, 2}, {3, 3, 2, 3}, {}, false);
    conv("dense 3x3 stride 2 pad 1", {1, 7, 6, 3}, {3, 3, 3, 4}, {.stride = 2, .padding = 1}, true);
    conv("dense 3x3 dilation 2 pad 2", {1, 6, 6, 2}, {3, 3, 2, 3}, {.padding = 2, .dilation = 2}, false);
    conv("groups 2 3x3 pad 1", {2, 4, 4, 4}, {3, 3, 2, 6}, {.padding = 1, .groups = 2}, true);
    conv("depthwise multiplier 2", {1, 5, 5, 3}, {3, 3, 1, 6}, {.padding = 1, .groups = 3}, false);
    conv("pointwise", {2, 3, 4, 5}, {1, 1, 5, 4}, {}, true);
    conv("grouped pointwise 2 groups", {2, 3, 3, 6}, {1, 1, 3, 4}, {.groups = 2}, false);
    conv("1x1 stride 2", {1, 5, 5, 4}, {1, 1, 4, 3}, {.stride = 2}, true);
    for (index_t k : {3, 5, 7})
        for (index_t s : {1, 2}) {
            const index_t side = s == 1 ? k + 1 : k + 3, ch = k == 3 ? 9 : 3;  // 9: a vector block and a tail
            conv(fmt::format("depthwise k{} stride {}", k, s), {1, side, side, ch}, {k, k, 1, ch},
                 {.stride = s, .padding = k / 2, .groups = ch}, k != 5);
        }
    conv("depthwise k3 batch 2", {2, 4, 4, 3}, {3, 3, 1, 3}, {.padding = 1, .groups = 3}, true);
    conv("depthwise dilation 2", {1, 6, 6, 3}, {3, 3, 1, 3}, {.padding = 2, .dilation = 2, .groups = 3}, false);
}

}  // namespace hwnas
