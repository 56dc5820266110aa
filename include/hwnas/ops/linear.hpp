#pragma once
// linear: y[N, out] = x[N, in] * W[in, out] + b[out] (bias optional).
#include "hwnas/autograd/var.hpp"
#include "hwnas/ops/check.hpp"
#include "hwnas/ops/kernels/gemm.hpp"

namespace hwnas {

inline var linear(const var& x, const var& w, const var& b = var()) {
    detail::check_rank("linear", x, 2, "[N, in_features]");
    detail::check_rank("linear", w, 2, "[in_features, out_features]", "weight");
    const index_t n = x.shape()[0], in = x.shape()[1], out = w.shape()[1];
    if (w.shape()[0] != in)
        throw shape_error(fmt::format("linear: input has {} features (shape {}), weight expects {} (shape {})", in,
                                      x.shape(), w.shape()[0], w.shape()));
    const bool has_bias = b.defined();
    if (has_bias && !(b.shape() == shape{out}))
        throw shape_error(fmt::format("linear: bias has shape {}, expected [{}]", b.shape(), out));

    tensor y = tensor::uninitialized({n, out});
    if (has_bias)
        for (index_t r = 0; r < n; ++r) std::copy(b.value().begin(), b.value().end(), y.data() + r * out);
    kernels::gemm(false, false, n, out, in, x.value().data(), w.value().data(), y.data(), has_bias ? 1.0f : 0.0f);

    tensor xv = x.value(), wv = w.value();
    std::vector<var> inputs{x, w};
    if (has_bias) inputs.push_back(b);
    return record("linear", std::move(y), inputs, [xv, wv, n, in, out, has_bias](const tensor& gy, grad_sink& g) {
        if (g.needs(0)) {
            tensor gx = tensor::uninitialized(xv.shape());
            kernels::gemm(false, true, n, in, out, gy.data(), wv.data(), gx.data());
            g.add(0, std::move(gx));
        }
        if (g.needs(1)) {
            tensor gw = tensor::uninitialized(wv.shape());
            kernels::gemm(true, false, in, out, n, xv.data(), gy.data(), gw.data());
            g.add(1, std::move(gw));
        }
        if (has_bias && g.needs(2)) {
            tensor gb = tensor::zeros({out});
            for (index_t r = 0; r < n; ++r)
                for (index_t j = 0; j < out; ++j) gb[j] += gy[r * out + j];
            g.add(2, std::move(gb));
        }
    });
}

}  // namespace hwnas
