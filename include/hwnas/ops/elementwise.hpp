#pragma once
// add, mul, scale: elementwise arithmetic with its backward and cost.
#include "hwnas/autograd/var.hpp"
#include "hwnas/ops/check.hpp"
#include "hwnas/ops/kernels/elementwise.hpp"

namespace hwnas {

// a + b, same shapes.
inline var add(const var& a, const var& b) {
    detail::check_same_shape("add", a, b);
    tensor y = tensor::uninitialized(a.shape());
    kernels::add_to(a.value().data(), b.value().data(), y.data(), y.numel());
    return record("add", std::move(y), {a, b}, [](const tensor& gy, grad_sink& g) {
        g.add(0, gy);
        g.add(1, gy);
    });
}

// a * b: same shapes, or b with one element (a scalar gate or weight).
inline var mul(const var& a, const var& b) {
    detail::check_input("mul", a, "first input");
    detail::check_input("mul", b, "second input");
    const bool scalar = b.numel() == 1;
    if (!scalar && !(a.shape() == b.shape()))
        throw shape_error(fmt::format("mul: inputs have shapes {} and {}, expected equal shapes or a one-element "
                                      "second input",
                                      a.shape(), b.shape()));
    tensor y = tensor::uninitialized(a.shape());
    if (scalar)
        kernels::scale_to(b.value()[0], a.value().data(), y.data(), y.numel());
    else
        kernels::mul_to(a.value().data(), b.value().data(), y.data(), y.numel());
    tensor av = a.value(), bv = b.value();
    return record("mul", std::move(y), {a, b}, [av, bv, scalar](const tensor& gy, grad_sink& g) {
        if (g.needs(0)) {
            tensor ga = tensor::uninitialized(av.shape());
            if (scalar)
                kernels::scale_to(bv[0], gy.data(), ga.data(), ga.numel());
            else
                kernels::mul_to(gy.data(), bv.data(), ga.data(), ga.numel());
            g.add(0, std::move(ga));
        }
        if (g.needs(1)) {
            if (scalar) {
                g.add(1, tensor::full(bv.shape(), static_cast<float>(kernels::dot(gy.data(), av.data(), gy.numel()))));
            } else {
                tensor gb = tensor::uninitialized(bv.shape());
                kernels::mul_to(gy.data(), av.data(), gb.data(), gb.numel());
                g.add(1, std::move(gb));
            }
        }
    });
}

// s * x for a constant s.
inline var scale(const var& x, float s) {
    detail::check_input("scale", x);
    tensor y = tensor::uninitialized(x.shape());
    kernels::scale_to(s, x.value().data(), y.data(), y.numel());
    return record("scale", std::move(y), {x}, [s](const tensor& gy, grad_sink& g) {
        tensor gx = tensor::uninitialized(gy.shape());
        kernels::scale_to(s, gy.data(), gx.data(), gx.numel());
        g.add(0, std::move(gx));
    });
}

}  // namespace hwnas
