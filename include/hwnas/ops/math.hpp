#pragma once
// log, exp, pow_scalar, sub, reshape, flatten: the arithmetic that losses such
// as FBNet's CE * alpha * log(LAT)^beta are built from, and shape views.
#include <cmath>

#include "hwnas/autograd/var.hpp"
#include "hwnas/ops/activation.hpp"
#include "hwnas/ops/check.hpp"
#include "hwnas/ops/kernels/elementwise.hpp"

namespace hwnas {

namespace detail {

struct log_fn {
    static constexpr const char* name = "log";
    static float f(float x) { return std::log(x); }
    static float df(float x, float) { return 1.0f / x; }
};
struct exp_fn {
    static constexpr const char* name = "exp";
    static float f(float x) { return std::exp(x); }
    static float df(float, float y) { return y; }
};

// The first element of x for which bad(v) holds, or -1.
template <class Bad>
index_t find_element(const tensor& x, Bad bad) {
    for (index_t i = 0; i < x.numel(); ++i)
        if (bad(x[i])) return i;
    return -1;
}

}  // namespace detail

// Natural logarithm; every element must be > 0 (numeric_error otherwise).
inline var log(const var& x) {
    detail::check_input("log", x);
    const index_t bad = detail::find_element(x.value(), [](float v) { return !(v > 0.0f); });
    if (bad >= 0)
        throw numeric_error(fmt::format("log: input element {} is {}, expected x > 0 (input {})", bad,
                                        x.value()[bad], x.shape()));
    return detail::pointwise<detail::log_fn>(x);
}

inline var exp(const var& x) { return detail::pointwise<detail::exp_fn>(x); }

// x^p elementwise. A negative base needs an integer exponent (numeric_error
// otherwise: the real power is undefined).
inline var pow_scalar(const var& x, float p) {
    detail::check_input("pow_scalar", x);
    if (p != std::trunc(p)) {
        const index_t bad = detail::find_element(x.value(), [](float v) { return v < 0.0f; });
        if (bad >= 0)
            throw numeric_error(fmt::format("pow_scalar: input element {} is {} and the exponent {} is not an "
                                            "integer, expected x >= 0 (input {})",
                                            bad, x.value()[bad], p, x.shape()));
    }
    tensor y = tensor::uninitialized(x.shape());
    const tensor& xv = x.value();
    for (index_t i = 0; i < y.numel(); ++i) y[i] = std::pow(xv[i], p);
    return record("pow_scalar", std::move(y), {x}, [xv, p](const tensor& gy, grad_sink& g) {
        tensor gx = tensor::uninitialized(gy.shape());
        // p == 0: y is constant 1; p * x^(p-1) would give 0 * inf at x = 0.
        for (index_t i = 0; i < gx.numel(); ++i) gx[i] = p == 0.0f ? 0.0f : gy[i] * p * std::pow(xv[i], p - 1.0f);
        g.add(0, std::move(gx));
    });
}

// a - b, same shapes.
inline var sub(const var& a, const var& b) {
    detail::check_same_shape("sub", a, b);
    tensor y = tensor::uninitialized(a.shape());
    const float *ap = a.value().data(), *bp = b.value().data();
    for (index_t i = 0; i < y.numel(); ++i) y[i] = ap[i] - bp[i];
    return record("sub", std::move(y), {a, b}, [](const tensor& gy, grad_sink& g) {
        g.add(0, gy);
        if (g.needs(1)) {
            tensor gb = tensor::uninitialized(gy.shape());
            kernels::scale_to(-1.0f, gy.data(), gb.data(), gb.numel());
            g.add(1, std::move(gb));
        }
    });
}

// x viewed with shape s (same storage, same element count); the gradient is
// viewed back as x's shape.
inline var reshape(const var& x, const shape& s) {
    detail::check_input("reshape", x);
    if (s.numel() != x.numel())
        throw shape_error(fmt::format("reshape: cannot view {} ({} elements) as {} ({} elements)", x.shape(),
                                      x.numel(), s, s.numel()));
    const shape in = x.shape();
    return record("reshape", x.value().reshape(s), {x},
                  [in](const tensor& gy, grad_sink& g) { g.add(0, gy.reshape(in)); });
}

// [N, ...] -> [N, product of the rest], e.g. pooled features to a classifier.
inline var flatten(const var& x) {
    detail::check_min_rank("flatten", x, 1, "[N, ...]");
    const index_t n = x.shape()[0];
    return reshape(x, shape{n, x.numel() / n});
}

}  // namespace hwnas
