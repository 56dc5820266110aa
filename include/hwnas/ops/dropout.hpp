#pragma once
// Inverted dropout: in training each element is zeroed with probability p and
// the survivors are scaled by 1 / (1 - p), so evaluation needs no rescaling.
#include <cmath>

#include "hwnas/autograd/var.hpp"
#include "hwnas/core/rng.hpp"
#include "hwnas/ops/check.hpp"
#include "hwnas/ops/kernels/elementwise.hpp"

namespace hwnas {

// Returns x itself in evaluation (training = false) or when p == 0. The mask
// draws one gen.uniform() per element in row-major order, on one thread, so a
// seed fixes it.
inline var dropout(const var& x, float p, rng& gen, bool training) {
    detail::check_input("dropout", x);
    if (!(p >= 0.0f && p < 1.0f))
        throw config_error(fmt::format("dropout: drop probability p is {}, expected 0 <= p < 1", p));
    if (!training || p == 0.0f) return x;
    const float keep_scale = 1.0f / (1.0f - p);
    tensor mask = tensor::uninitialized(x.shape());
    for (float& v : mask) v = gen.uniform() < p ? 0.0f : keep_scale;
    tensor y = tensor::uninitialized(x.shape());
    kernels::mul_to(x.value().data(), mask.data(), y.data(), y.numel());
    return record("dropout", std::move(y), {x}, [mask](const tensor& gy, grad_sink& g) {
        tensor gx = tensor::uninitialized(gy.shape());
        kernels::mul_to(gy.data(), mask.data(), gx.data(), gx.numel());
        g.add(0, std::move(gx));
    });
}

}  // namespace hwnas
