#pragma once
// weighted_sum: the mixture of candidate-op outputs behind DARTS (softmax
// weights), FBNet (Gumbel-softmax weights) and ProxylessNAS (binary gates).
// Plain passes on one thread: neither a second thread nor cache blocking was
// measurably faster on the shared 2-core development machine (memory-bound loops).
#include <initializer_list>
#include <span>
#include <vector>

#include "hwnas/autograd/var.hpp"
#include "hwnas/ops/check.hpp"
#include "hwnas/ops/kernels/elementwise.hpp"

namespace hwnas {

// y = sum_i weights[i] * xs[i], with weights of shape [xs.size()].
// Gradients: d/d xs[i] = weights[i] * gy and d/d weights[i] = <gy, xs[i]>.
//
// Absent paths: ProxylessNAS runs only the sampled paths, so an entry of xs
// may be an empty var() when its weight is exactly 0. It adds nothing to y,
// and its weight gets gradient 0, since its output was never computed.
// The gate gradient ProxylessNAS needs, dL/dw_j = <gy, o_j(x)>, is exact for
// every present path whatever its weight (0 included), so the caller decides
// which paths to compute: pass o_j(x) for every j whose weight gradient it
// uses. At least one input must be present; present inputs share one shape.
inline var weighted_sum(std::span<const var> xs, const var& weights) {
    if (xs.empty()) throw config_error("weighted_sum: no inputs, expected at least one");
    detail::check_input("weighted_sum", weights, "weights");
    const auto count = static_cast<index_t>(xs.size());
    if (!(weights.shape() == shape{count}))
        throw shape_error(fmt::format("weighted_sum: weights have shape {}, expected [{}] (one weight per input)",
                                      weights.shape(), count));
    const std::vector<float> w(weights.value().begin(), weights.value().end());

    std::vector<var> inputs;         // the present xs, then weights
    std::vector<std::size_t> which;  // index in xs of each present input
    for (std::size_t i = 0; i < xs.size(); ++i) {
        if (!xs[i].defined()) {
            if (w[i] != 0.0f)
                throw config_error(fmt::format("weighted_sum: input {} is absent (an empty var) but its weight is "
                                               "{}, expected weight 0 for an absent input",
                                               i, w[i]));
            continue;
        }
        detail::check_input("weighted_sum", xs[i], fmt::format("input {}", i));
        if (!inputs.empty() && !(xs[i].shape() == inputs[0].shape()))
            throw shape_error(fmt::format("weighted_sum: input {} has shape {}, input {} has shape {}, expected equal "
                                          "shapes",
                                          i, xs[i].shape(), which[0], inputs[0].shape()));
        inputs.push_back(xs[i]);
        which.push_back(i);
    }
    if (inputs.empty())
        throw config_error("weighted_sum: every input is absent (an empty var), expected at least one computed input");

    const std::size_t m = inputs.size();
    std::vector<tensor> xv;
    for (const auto& x : inputs) xv.push_back(x.value());
    const index_t n = xv[0].numel();
    tensor y = tensor::uninitialized(xv[0].shape());
    kernels::scale_to(w[which[0]], xv[0].data(), y.data(), n);
    for (std::size_t t = 1; t < m; ++t) kernels::axpy(w[which[t]], xv[t].data(), y.data(), n);
    inputs.push_back(weights);

    return record("weighted_sum", std::move(y), inputs,
                  [xv = std::move(xv), which = std::move(which), w, m, n](const tensor& gy, grad_sink& g) {
                      for (std::size_t t = 0; t < m; ++t)
                          if (g.needs(t)) {
                              tensor gx = tensor::uninitialized(gy.shape());
                              kernels::scale_to(w[which[t]], gy.data(), gx.data(), n);
                              g.add(t, std::move(gx));
                          }
                      if (g.needs(m)) {
                          tensor gw = tensor::zeros({static_cast<index_t>(w.size())});
                          for (std::size_t t = 0; t < m; ++t)
                              gw[static_cast<index_t>(which[t])] =
                                  static_cast<float>(kernels::dot(gy.data(), xv[t].data(), n));
                          g.add(m, std::move(gw));
                      }
                  });
}
inline var weighted_sum(std::initializer_list<var> xs, const var& weights) {
    return weighted_sum(std::span<const var>(xs.begin(), xs.size()), weights);
}

}  // namespace hwnas
