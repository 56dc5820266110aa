#pragma once
// batch_norm with a fused activation: forward, backward and cost.
// x [..., C] is channels-last (rank 2 [N, C] or rank 4 [N, H, W, C]); the
// statistics are per channel over all other dimensions.
#include <cmath>
#include <type_traits>
#include <vector>

#include "hwnas/autograd/var.hpp"
#include "hwnas/ops/activation.hpp"
#include "hwnas/ops/check.hpp"
#include "hwnas/ops/kernels/batch_norm.hpp"

namespace hwnas {

namespace detail {

// Calls f(Fn{}) with the activation functor named by a.
template <class F>
decltype(auto) with_activation(const char* op, activation a, F&& f) {
    switch (a) {
        case activation::none: return f(kernels::identity_act{});
        case activation::relu: return f(relu_fn{});
        case activation::relu6: return f(relu6_fn{});
        case activation::hard_swish: return f(hard_swish_fn{});
        case activation::sigmoid: return f(sigmoid_fn{});
    }
    throw config_error(fmt::format("{}: unknown activation value {}", op, static_cast<int>(a)));
}

// Sigmoid's derivative is written in its output; recomputing it would cost an
// exp per element, so its output is saved instead of recomputed.
template <class Fn>
inline constexpr bool derivative_uses_output = std::is_same_v<Fn, sigmoid_fn>;

inline void check_channels(const shape& got, const char* what, index_t channels, const shape& x) {
    if (!(got == shape{channels}))
        throw shape_error(fmt::format("batch_norm: {} has shape {}, expected [{}] (the channels of input {})", what,
                                      got, channels, x));
}

inline void check_channel_vector(const var& v, const char* what, index_t channels, const shape& x) {
    check_input("batch_norm", v, what);
    check_channels(v.shape(), what, channels, x);
}

inline void check_running(const tensor& t, const char* what, index_t channels, const shape& x) {
    if (!t.defined())
        throw shape_error(fmt::format("batch_norm: {} is undefined (no storage), expected shape [{}]", what, channels));
    check_channels(t.shape(), what, channels, x);
}

template <class Fn>
var batch_norm_impl(const var& x, const var& gamma, const var& beta, tensor& running_mean, tensor& running_var,
                    bool training, float momentum, float eps) {
    const index_t C = x.shape().dim(-1), rows = x.numel() / C;
    const std::size_t cs = static_cast<std::size_t>(C);
    // mean, 1/std, scale = gamma/std, beta: the per-channel constants kept for backward.
    std::vector<float> mean(cs), invstd(cs), scale(cs), beta_v(beta.value().begin(), beta.value().end());
    if (training) {
        std::vector<double> m(cs), v(cs);
        kernels::channel_moments(x.value().data(), rows, C, m.data(), v.data());
        const double unbias = static_cast<double>(rows) / static_cast<double>(rows - 1);
        for (std::size_t c = 0; c < cs; ++c) {
            mean[c] = static_cast<float>(m[c]);
            invstd[c] = static_cast<float>(1.0 / std::sqrt(v[c] + eps));
            running_mean.data()[c] = (1.0f - momentum) * running_mean.data()[c] + momentum * mean[c];
            running_var.data()[c] =
                (1.0f - momentum) * running_var.data()[c] + momentum * static_cast<float>(v[c] * unbias);
        }
    } else {
        for (std::size_t c = 0; c < cs; ++c) {
            mean[c] = running_mean.data()[c];
            invstd[c] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(running_var.data()[c]) + eps));
        }
    }
    for (std::size_t c = 0; c < cs; ++c) scale[c] = gamma.value().data()[c] * invstd[c];

    tensor y = tensor::uninitialized(x.shape());
    kernels::batch_norm_forward<Fn>(x.value().data(), rows, C, {mean.data(), scale.data(), beta_v.data()}, y.data());

    constexpr bool uses_y = derivative_uses_output<Fn>;
    tensor xv = x.value(), yv = uses_y ? y : tensor();
    return record(
        "batch_norm", std::move(y), {x, gamma, beta},
        [xv, yv, mean = std::move(mean), invstd = std::move(invstd), scale = std::move(scale),
         beta_v = std::move(beta_v), rows, C, training](const tensor& gy, grad_sink& g) {
            const kernels::bn_channels p{mean.data(), scale.data(), beta_v.data()};
            const std::size_t cs = static_cast<std::size_t>(C);
            const bool need_x = g.needs(0), need_affine = g.needs(1) || g.needs(2);
            std::vector<double> sums(2 * cs);  // sum of gz, sum of gz * (x - mean)
            if (need_affine || (need_x && training))
                kernels::batch_norm_backward_sums<Fn, uses_y>(xv.data(), yv.data(), gy.data(), rows, C, p,
                                                              sums.data());
            if (g.needs(1)) {
                tensor gg = tensor::uninitialized({C});
                for (std::size_t c = 0; c < cs; ++c) gg.data()[c] = static_cast<float>(sums[cs + c] * invstd[c]);
                g.add(1, std::move(gg));
            }
            if (g.needs(2)) {
                tensor gb = tensor::uninitialized({C});
                for (std::size_t c = 0; c < cs; ++c) gb.data()[c] = static_cast<float>(sums[c]);
                g.add(2, std::move(gb));
            }
            if (!need_x) return;
            // Training: gx = scale * (gz - mean(gz) - xhat * mean(gz * xhat)), xhat = (x - mean) / std.
            // Eval: the running statistics are constants, gx = scale * gz.
            std::vector<float> b(cs, 0.0f), d(cs, 0.0f);
            if (training)
                for (std::size_t c = 0; c < cs; ++c) {
                    const double a = scale[c], n = static_cast<double>(rows), is = invstd[c];
                    b[c] = static_cast<float>(-a * is * is * sums[cs + c] / n);
                    d[c] = static_cast<float>(-a * sums[c] / n);
                }
            tensor gx = tensor::uninitialized(xv.shape());
            kernels::batch_norm_backward_input<Fn, uses_y>(xv.data(), yv.data(), gy.data(), rows, C, p, scale.data(),
                                                           b.data(), d.data(), gx.data());
            g.add(0, std::move(gx));
        });
}

}  // namespace detail

// Batch normalization over the channels (last dimension) of x, then act.
// training: normalize with the batch statistics (biased variance) and update
// running_mean/var in place with running = (1 - momentum) * running +
// momentum * batch statistic (unbiased variance for running_var, as PyTorch);
// eval: normalize with the running statistics, which backward treats as
// constants. Backward gives gradients for x, gamma and beta.
inline var batch_norm(const var& x, const var& gamma, const var& beta, tensor& running_mean, tensor& running_var,
                      bool training, float momentum = 0.1f, float eps = 1e-5f, activation act = activation::none) {
    detail::check_input("batch_norm", x);
    const shape& xs = x.shape();
    if (xs.rank() != 2 && xs.rank() != 4)
        throw shape_error(fmt::format("batch_norm: input has rank {} (shape {}), expected rank 2 [N, C] or rank 4 "
                                      "[N, H, W, C]",
                                      xs.rank(), xs));
    const index_t C = xs.dim(-1);
    detail::check_channel_vector(gamma, "gamma", C, xs);
    detail::check_channel_vector(beta, "beta", C, xs);
    detail::check_running(running_mean, "running_mean", C, xs);
    detail::check_running(running_var, "running_var", C, xs);
    require(std::isfinite(eps) && eps > 0.0f, "batch_norm: eps is {}, expected a positive finite number", eps);
    require(momentum >= 0.0f && momentum <= 1.0f, "batch_norm: momentum is {}, expected a value in [0, 1]", momentum);
    if (training && x.numel() / C < 2)
        throw shape_error(fmt::format("batch_norm: training needs more than one value per channel to estimate the "
                                      "variance, got input {}",
                                      xs));
    return detail::with_activation("batch_norm", act, [&](auto fn) {
        return detail::batch_norm_impl<decltype(fn)>(x, gamma, beta, running_mean, running_var, training, momentum,
                                                     eps);
    });
}

// Forward FLOPs: normalize + affine (3 per element), plus the statistics in
// training (3 more); the activation is not counted.
inline double batch_norm_flops(const shape& x, bool training) {
    return (training ? 6.0 : 3.0) * static_cast<double>(x.numel());
}

}  // namespace hwnas
