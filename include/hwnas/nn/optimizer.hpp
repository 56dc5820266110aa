#pragma once
// Optimizers over a list of parameter vars: sgd (momentum, Nesterov, L2
// weight decay), adam (L2 weight decay) and adamw (decoupled weight decay),
// with PyTorch's update rules; and clip_grad_norm. A parameter with no
// gradient, or whose requires_grad is off (a frozen group), is skipped and its
// update count does not advance. Updates run under no_grad. The state (moment
// buffers, per-parameter update counts) is exposed for checkpoints.
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "hwnas/autograd/var.hpp"
#include "hwnas/nn/module.hpp"

namespace hwnas {

namespace detail {
// "parameter 3 (blocks.0.weight)" or "parameter 3" for an unnamed var.
inline std::string param_label(const var& p, std::size_t i) {
    return p.name().empty() ? fmt::format("parameter {}", i) : fmt::format("parameter {} ({})", i, p.name());
}
}  // namespace detail

class optimizer {
public:
    optimizer(const optimizer&) = delete;
    optimizer& operator=(const optimizer&) = delete;
    virtual ~optimizer() = default;

    // One update of every parameter that has a gradient.
    virtual void step() = 0;

    void zero_grad() {
        for (auto& p : params_) p.zero_grad();
    }
    float lr() const { return lr_; }
    void set_lr(float lr) {
        require(std::isfinite(lr) && lr >= 0, "{}: learning rate {} is invalid, expected a finite value >= 0", name_,
                lr);
        lr_ = lr;
    }
    const std::vector<var>& params() const { return params_; }

    // Moment buffers named "<kind>.<parameter index>" (e.g. "exp_avg.0"). The
    // handles share storage with the optimizer: writing into them restores state.
    std::vector<named_tensor> state_tensors() const {
        std::vector<named_tensor> out;
        for (const auto& [kind, buffers] : state_)
            for (std::size_t i = 0; i < buffers.size(); ++i) out.push_back({fmt::format("{}.{}", kind, i), buffers[i]});
        return out;
    }
    // How many updates each parameter has received (Adam's bias correction uses it).
    const std::vector<std::int64_t>& update_counts() const { return counts_; }
    void set_update_counts(std::vector<std::int64_t> counts) {
        require(counts.size() == params_.size(), "{}: {} update counts given for {} parameters", name_, counts.size(),
                params_.size());
        for (auto c : counts) require(c >= 0, "{}: update count {} is negative", name_, c);
        counts_ = std::move(counts);
    }

protected:
    optimizer(const char* name, std::vector<var> params, float lr) : name_(name), params_(std::move(params)) {
        require(!params_.empty(), "{}: the parameter list is empty", name_);
        std::unordered_set<const detail::node*> seen;
        for (std::size_t i = 0; i < params_.size(); ++i) {
            const var& p = params_[i];
            require(p.defined(), "{}: parameter {} is an empty var", name_, i);
            require(p.is_leaf(), "{}: {} is not a leaf (it is an op result); optimizers update leaves only", name_,
                    detail::param_label(p, i));
            require(seen.insert(p.get()).second, "{}: {} appears twice in the parameter list", name_,
                    detail::param_label(p, i));
        }
        counts_.assign(params_.size(), 0);
        set_lr(lr);
    }

    // Zero buffers of the parameters' shapes, one per parameter, listed under kind.
    std::vector<tensor>& add_state(std::string kind) {
        std::vector<tensor> buffers;
        for (const auto& p : params_) buffers.push_back(tensor::zeros(p.shape()));
        state_.emplace_back(std::move(kind), std::move(buffers));
        return state_.back().second;
    }

    // Calls f(i, value, grad) for each parameter to update, after counting the update.
    template <class F>
    void for_each_update(F&& f) {
        no_grad guard;
        for (std::size_t i = 0; i < params_.size(); ++i) {
            var& p = params_[i];
            if (!p.requires_grad() || !p.grad().defined()) continue;
            ++counts_[i];
            f(i, p.value(), p.grad());
        }
    }

    const char* name_;

private:
    std::vector<var> params_;
    std::vector<std::int64_t> counts_;
    std::vector<std::pair<std::string, std::vector<tensor>>> state_;
    float lr_ = 0;
};

struct sgd_options {
    float lr = 0.1f;
    float momentum = 0;
    float weight_decay = 0;  // L2: added to the gradient
    bool nesterov = false;
};

// g = grad + wd p; with momentum: b = m b + g, g = nesterov ? g + m b : b; p -= lr g.
class sgd : public optimizer {
public:
    sgd(std::vector<var> params, const sgd_options& o) : optimizer("sgd", std::move(params), o.lr), o_(o) {
        require(o.momentum >= 0 && o.momentum < 1, "sgd: momentum {} is out of range, expected [0, 1)", o.momentum);
        require(o.weight_decay >= 0, "sgd: weight decay {} is negative", o.weight_decay);
        require(!o.nesterov || o.momentum > 0, "sgd: Nesterov momentum needs momentum > 0");
        if (o.momentum > 0) momentum_ = add_state("momentum");
    }

    void step() override {
        const float lr = this->lr(), m = o_.momentum, wd = o_.weight_decay;
        for_each_update([&](std::size_t i, tensor& w, const tensor& grad) {
            float* p = w.data();
            const float* g = grad.data();
            float* b = momentum_.empty() ? nullptr : momentum_[i].data();
            for (index_t j = 0, n = w.numel(); j < n; ++j) {
                float d = g[j] + wd * p[j];
                if (b) {
                    b[j] = m * b[j] + d;
                    d = o_.nesterov ? d + m * b[j] : b[j];
                }
                p[j] -= lr * d;
            }
        });
    }

private:
    sgd_options o_;
    std::vector<tensor> momentum_;  // handles sharing the listed state; empty without momentum
};

struct adam_options {
    float lr = 1e-3f;
    float beta1 = 0.9f, beta2 = 0.999f;
    float eps = 1e-8f;
    float weight_decay = 0;  // adam: L2 added to the gradient; adamw: decoupled p -= lr wd p
};

// m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2, with t the parameter's update count:
// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
class adam : public optimizer {
public:
    adam(std::vector<var> params, const adam_options& o) : adam("adam", std::move(params), o, false) {}

    void step() override {
        const float lr = this->lr(), b1 = o_.beta1, b2 = o_.beta2, wd = o_.weight_decay;
        for_each_update([&](std::size_t i, tensor& w, const tensor& grad) {
            const auto t = static_cast<double>(update_counts()[i]);
            const auto step_size = static_cast<float>(lr / (1 - std::pow(static_cast<double>(b1), t)));
            const auto bc2_sqrt = static_cast<float>(std::sqrt(1 - std::pow(static_cast<double>(b2), t)));
            float* p = w.data();
            const float* g = grad.data();
            float* m = exp_avg_[i].data();
            float* v = exp_avg_sq_[i].data();
            for (index_t j = 0, n = w.numel(); j < n; ++j) {
                float d = g[j];
                if (decoupled_)
                    p[j] *= 1 - lr * wd;
                else
                    d += wd * p[j];
                m[j] = b1 * m[j] + (1 - b1) * d;
                v[j] = b2 * v[j] + (1 - b2) * d * d;
                p[j] -= step_size * m[j] / (std::sqrt(v[j]) / bc2_sqrt + o_.eps);
            }
        });
    }

protected:
    adam(const char* name, std::vector<var> params, const adam_options& o, bool decoupled)
        : optimizer(name, std::move(params), o.lr), o_(o), decoupled_(decoupled) {
        require(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1,
                "{}: betas ({}, {}) are out of range, expected [0, 1)", name_, o.beta1, o.beta2);
        require(o.eps > 0, "{}: eps {} must be positive", name_, o.eps);
        require(o.weight_decay >= 0, "{}: weight decay {} is negative", name_, o.weight_decay);
        exp_avg_ = add_state("exp_avg");
        exp_avg_sq_ = add_state("exp_avg_sq");
    }

private:
    adam_options o_;
    bool decoupled_;
    std::vector<tensor> exp_avg_, exp_avg_sq_;  // handles sharing the listed state
};

// Adam with decoupled weight decay (Loshchilov & Hutter): p *= 1 - lr wd before the Adam step.
class adamw : public adam {
public:
    adamw(std::vector<var> params, const adam_options& o) : adam("adamw", std::move(params), o, true) {}
};

// Scales all gradients so their joint L2 norm is at most max_norm, and
// returns the norm before clipping. Throws numeric_error when it is NaN/Inf.
inline double clip_grad_norm(std::span<const var> params, double max_norm) {
    require(max_norm > 0, "clip_grad_norm: max_norm {} must be positive", max_norm);
    double sq = 0;
    for (const auto& p : params)
        if (p.grad().defined())
            for (float g : p.grad()) sq += static_cast<double>(g) * g;
    const double norm = std::sqrt(sq);
    if (!std::isfinite(norm)) {
        std::size_t i = 0;
        while (!params[i].grad().defined() || params[i].grad().all_finite()) ++i;
        throw numeric_error(fmt::format("clip_grad_norm: the gradient norm is {} (not finite); the first non-finite "
                                        "gradient is that of {}",
                                        norm, detail::param_label(params[i], i)));
    }
    if (norm > max_norm) {
        const auto s = static_cast<float>(max_norm / (norm + 1e-6));
        for (var p : params)  // a handle copy: the gradient itself is scaled
            if (p.grad().defined())
                for (float& g : p.grad()) g *= s;
    }
    return norm;
}
inline double clip_grad_norm(const std::vector<var>& params, double max_norm) {
    return clip_grad_norm(std::span<const var>(params), max_norm);
}

}  // namespace hwnas
