#pragma once
// sum and mean of all elements, to a scalar.
#include "hwnas/autograd/var.hpp"
#include "hwnas/ops/check.hpp"

namespace hwnas {

namespace detail {
inline var reduce_all(const char* op, const var& x, float factor) {
    check_input(op, x);
    double s = 0;
    for (float v : x.value()) s += v;
    const hwnas::shape in = x.shape();
    return record(op, tensor::scalar(static_cast<float>(s * factor)), {x},
                  [in, factor](const tensor& gy, grad_sink& g) { g.add(0, tensor::full(in, gy[0] * factor)); });
}
}  // namespace detail

inline var sum(const var& x) { return detail::reduce_all("sum", x, 1.0f); }
inline var mean(const var& x) {
    return detail::reduce_all("mean", x, x.defined() && x.numel() > 0 ? 1.0f / static_cast<float>(x.numel()) : 1.0f);
}

}  // namespace hwnas
