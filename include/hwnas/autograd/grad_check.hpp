#pragma once
// Public gradient checker: compares autograd gradients with central finite
// differences. The output is projected on a fixed random direction r, so one
// backward pass checks the whole Jacobian-vector product; the differences are
// accumulated in double. Ops run in float32, so eps and tolerances are sized
// for float (eps 1e-2 keeps the rounding error of (f+ - f-) / 2eps near 1e-5).
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "hwnas/autograd/backward.hpp"
#include "hwnas/core/rng.hpp"
#include "hwnas/ops/kernels/elementwise.hpp"

namespace hwnas {

struct grad_check_options {
    float eps = 1e-2f;
    double rtol = 2e-2;
    double atol = 2e-3;
    index_t max_elements = 300;  // per input; a seeded sample beyond that
    std::uint64_t seed = 1;
};

struct grad_check_result {
    bool ok = true;
    double max_abs_error = 0;
    double max_rel_error = 0;
    index_t checked = 0;
    std::string message;  // the first failing element, if any
};

using graph_fn = std::function<var(std::span<const var>)>;

// Checks d<f(inputs), r>/d(input) for every input with differentiable[i]
// (all inputs when the list is empty).
inline grad_check_result grad_check(const graph_fn& f, const std::vector<tensor>& inputs,
                                    const grad_check_options& opt = {}, std::vector<bool> differentiable = {}) {
    if (differentiable.empty()) differentiable.assign(inputs.size(), true);
    require(differentiable.size() == inputs.size(), "grad_check: {} differentiable flags for {} inputs",
            differentiable.size(), inputs.size());
    std::vector<var> vars;
    for (std::size_t i = 0; i < inputs.size(); ++i) vars.emplace_back(inputs[i].clone(), differentiable[i]);

    var out = f(vars);
    rng gen(opt.seed);
    tensor r = tensor::uninitialized(out.shape());
    for (float& v : r) v = gen.uniform(-1.0f, 1.0f);
    backward(out, r);

    auto projected = [&] {
        no_grad guard;
        var o = f(vars);
        return kernels::dot(o.value().data(), r.data(), r.numel());
    };

    grad_check_result res;
    for (std::size_t i = 0; i < vars.size(); ++i) {
        if (!differentiable[i]) continue;
        tensor& x = vars[i].value();
        const tensor analytic = vars[i].grad().defined() ? vars[i].grad() : tensor::zeros(x.shape());
        std::vector<index_t> idx(static_cast<std::size_t>(x.numel()));
        for (index_t k = 0; k < x.numel(); ++k) idx[static_cast<std::size_t>(k)] = k;
        if (x.numel() > opt.max_elements) {
            gen.shuffle(idx);
            idx.resize(static_cast<std::size_t>(opt.max_elements));
        }
        for (index_t k : idx) {
            const float saved = x[k];
            x[k] = saved + opt.eps;
            const double fp = projected();
            x[k] = saved - opt.eps;
            const double fm = projected();
            x[k] = saved;
            const double numeric = (fp - fm) / (2.0 * static_cast<double>(opt.eps));
            const double a = analytic[k];
            const double err = std::abs(a - numeric);
            const double rel = err / std::max({std::abs(a), std::abs(numeric), 1e-12});
            res.max_abs_error = std::max(res.max_abs_error, err);
            if (err > opt.atol) res.max_rel_error = std::max(res.max_rel_error, rel);
            ++res.checked;
            if (res.ok && err > opt.atol + opt.rtol * std::max(std::abs(a), std::abs(numeric))) {
                res.ok = false;
                res.message = fmt::format("input {} (shape {}) element {}: autograd {:.6g}, finite difference {:.6g}",
                                          i, x.shape(), k, a, numeric);
            }
        }
    }
    return res;
}

}  // namespace hwnas
