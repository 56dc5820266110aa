#pragma once
// Pointwise activations: relu, relu6, hard_swish, sigmoid. Each is a value
// function and a derivative written in terms of the input x and output y.
#include <algorithm>
#include <cmath>

#include "hwnas/autograd/var.hpp"
#include "hwnas/core/parallel.hpp"
#include "hwnas/ops/check.hpp"

namespace hwnas {

enum class activation { none, relu, relu6, hard_swish, sigmoid };

namespace detail {

struct relu_fn {
    static constexpr const char* name = "relu";
    static float f(float x) { return x > 0.0f ? x : 0.0f; }
    static float df(float x, float) { return x > 0.0f ? 1.0f : 0.0f; }
};
struct relu6_fn {
    static constexpr const char* name = "relu6";
    static float f(float x) { return std::min(std::max(x, 0.0f), 6.0f); }
    static float df(float x, float) { return x > 0.0f && x < 6.0f ? 1.0f : 0.0f; }
};
struct hard_swish_fn {  // x * relu6(x + 3) / 6
    static constexpr const char* name = "hard_swish";
    static float f(float x) { return x * std::min(std::max(x + 3.0f, 0.0f), 6.0f) / 6.0f; }
    static float df(float x, float) { return x <= -3.0f ? 0.0f : x >= 3.0f ? 1.0f : (2.0f * x + 3.0f) / 6.0f; }
};
struct sigmoid_fn {
    static constexpr const char* name = "sigmoid";
    static float f(float x) { return 1.0f / (1.0f + std::exp(-x)); }
    static float df(float, float y) { return y * (1.0f - y); }
};

// Elements per parallel chunk below which threading costs more than it saves.
inline constexpr index_t pointwise_grain = 1 << 15;

template <class Fn>
void pointwise_forward(const float* x, float* y, index_t n) {
    auto body = [&](index_t lo, index_t hi) {
        for (index_t i = lo; i < hi; ++i) y[i] = Fn::f(x[i]);
    };
    if (n < pointwise_grain) body(0, n);
    else parallel_for(0, n, body);
}

template <class Fn>
var pointwise(const var& x) {
    check_input(Fn::name, x);
    tensor y = tensor::uninitialized(x.shape());
    pointwise_forward<Fn>(x.value().data(), y.data(), y.numel());
    tensor xv = x.value(), yv = y;
    return record(Fn::name, std::move(y), {x}, [xv, yv](const tensor& gy, grad_sink& g) {
        tensor gx = tensor::uninitialized(gy.shape());
        const float *xp = xv.data(), *yp = yv.data(), *gp = gy.data();
        float* out = gx.data();
        parallel_for(0, gx.numel(), [&](index_t lo, index_t hi) {
            for (index_t i = lo; i < hi; ++i) out[i] = gp[i] * Fn::df(xp[i], yp[i]);
        });
        g.add(0, std::move(gx));
    });
}

}  // namespace detail

inline var relu(const var& x) { return detail::pointwise<detail::relu_fn>(x); }
inline var relu6(const var& x) { return detail::pointwise<detail::relu6_fn>(x); }
inline var hard_swish(const var& x) { return detail::pointwise<detail::hard_swish_fn>(x); }
inline var sigmoid(const var& x) { return detail::pointwise<detail::sigmoid_fn>(x); }

// Applies the activation named by a (identity for activation::none).
inline var activate(const var& x, activation a) {
    switch (a) {
        case activation::none: return x;
        case activation::relu: return relu(x);
        case activation::relu6: return relu6(x);
        case activation::hard_swish: return hard_swish(x);
        case activation::sigmoid: return sigmoid(x);
    }
    throw config_error(fmt::format("activate: unknown activation value {}", static_cast<int>(a)));
}

}  // namespace hwnas
