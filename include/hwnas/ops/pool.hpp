#pragma once
// Pooling on NHWC activations: max_pool2d, avg_pool2d (square windows) and
// global_avg_pool, with backward and cost.
#include <cstdint>
#include <memory>

#include "hwnas/autograd/var.hpp"
#include "hwnas/ops/check.hpp"
#include "hwnas/ops/kernels/pool.hpp"

namespace hwnas {

namespace detail {

// Validates a 2-d pooling call and returns its geometry (output floor((H + 2p - k) / s) + 1).
inline kernels::pool_geometry pool_geometry_for(const char* op, const var& x, index_t kernel, index_t stride,
                                                index_t padding) {
    check_rank(op, x, 4, "[N, H, W, C]");
    require(kernel >= 1, "{}: kernel is {}, expected at least 1", op, kernel);
    require(stride >= 1, "{}: stride is {}, expected at least 1", op, stride);
    require(padding >= 0 && padding < kernel,
            "{}: padding is {} with kernel {}, expected 0 <= padding < kernel (a larger padding makes windows that "
            "lie entirely in the padding)",
            op, padding, kernel);
    const shape& s = x.shape();
    const index_t h = s[1], w = s[2];
    if (h + 2 * padding < kernel || w + 2 * padding < kernel)
        throw shape_error(fmt::format("{}: kernel {} does not fit the input {}x{} with padding {} (input {})", op,
                                      kernel, h, w, padding, s));
    return {s[0], h, w, s[3], kernel, stride, padding, (h + 2 * padding - kernel) / stride + 1,
            (w + 2 * padding - kernel) / stride + 1};
}

inline shape pool_output_shape(const kernels::pool_geometry& g) { return {g.n, g.ho, g.wo, g.c}; }

}  // namespace detail

// Max over kernel x kernel windows; padding counts as -inf. Backward routes
// each output gradient to its window's (first) maximum, saved as int32 indices.
inline var max_pool2d(const var& x, index_t kernel, index_t stride, index_t padding) {
    const auto geo = detail::pool_geometry_for("max_pool2d", x, kernel, stride, padding);
    tensor y = tensor::uninitialized(detail::pool_output_shape(geo));
    if (!any_requires_grad({x})) {
        kernels::max_pool2d_forward<false>(x.value().data(), geo, y.data(), nullptr);
        return record("max_pool2d", std::move(y), {x}, nullptr);
    }
    std::shared_ptr<std::int32_t[]> arg = std::make_shared_for_overwrite<std::int32_t[]>(
        static_cast<std::size_t>(y.numel()));
    kernels::max_pool2d_forward<true>(x.value().data(), geo, y.data(), arg.get());
    const shape in = x.shape();
    return record("max_pool2d", std::move(y), {x}, [geo, arg, in](const tensor& gy, grad_sink& g) {
        tensor gx = tensor::uninitialized(in);
        kernels::max_pool2d_backward(gy.data(), arg.get(), geo, gx.data());
        g.add(0, std::move(gx));
    });
}

// Mean over kernel x kernel windows with zero padding. count_include_pad:
// divide by kernel^2 everywhere; otherwise by the window's part inside the input.
inline var avg_pool2d(const var& x, index_t kernel, index_t stride, index_t padding, bool count_include_pad) {
    const auto geo = detail::pool_geometry_for("avg_pool2d", x, kernel, stride, padding);
    tensor y = tensor::uninitialized(detail::pool_output_shape(geo));
    kernels::avg_pool2d_forward(x.value().data(), geo, count_include_pad, y.data());
    const shape in = x.shape();
    return record("avg_pool2d", std::move(y), {x}, [geo, in, count_include_pad](const tensor& gy, grad_sink& g) {
        tensor gx = tensor::uninitialized(in);
        kernels::avg_pool2d_backward(gy.data(), geo, count_include_pad, gx.data());
        g.add(0, std::move(gx));
    });
}

// [N, H, W, C] -> [N, C]: the mean over all positions.
inline var global_avg_pool(const var& x) {
    detail::check_rank("global_avg_pool", x, 4, "[N, H, W, C]");
    const shape in = x.shape();
    const index_t n = in[0], hw = in[1] * in[2], c = in[3];
    tensor y = tensor::uninitialized({n, c});
    kernels::global_avg_pool_forward(x.value().data(), n, hw, c, y.data());
    return record("global_avg_pool", std::move(y), {x}, [in, n, hw, c](const tensor& gy, grad_sink& g) {
        tensor gx = tensor::uninitialized(in);
        kernels::global_avg_pool_backward(gy.data(), n, hw, c, gx.data());
        g.add(0, std::move(gx));
    });
}

// Forward FLOPs of 2-d pooling: one compare or add per window element.
inline double pool2d_flops(const shape& out, index_t kernel) {
    return static_cast<double>(out.numel()) * static_cast<double>(kernel * kernel);
}

}  // namespace hwnas
