#pragma once
// MLP latency regressor (algorithms.md 2.4): linear + ReLU layers on the
// architecture encoding, trained with hwnas autograd and Adam (decoupled
// weight decay, cosine learning rate), seeded and deterministic for a given
// thread count.
//
// The network output o predicts the cost around a per-architecture base b
// with a scale s: log cost = log b + s * o (mlp_loss::log_mse, err = error
// of the log cost), or cost = b + s * o (mlp_loss::relative_mse, err =
// relative error), so err is about the relative error either way. The loss is
// mean(err^2) with err = a_i * o_i + d_i for constants a, d per training row,
// which is what mlp_regressor::train takes;
// mlp_predictor uses a constant base, residual_predictor (residual.hpp) the
// additive prediction. With huber_delta > 0 the loss is the pseudo-Huber
// mean(sqrt(err^2 + delta^2) - delta) instead: quadratic for small errors,
// linear for outlying measurements.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "hwnas/core/rng.hpp"
#include "hwnas/io/progress.hpp"
#include "hwnas/latency/predictor.hpp"
#include "hwnas/nn/layers.hpp"
#include "hwnas/nn/lr_schedule.hpp"
#include "hwnas/nn/optimizer.hpp"
#include "hwnas/ops/activation.hpp"
#include "hwnas/ops/elementwise.hpp"
#include "hwnas/ops/math.hpp"
#include "hwnas/ops/reduce.hpp"

namespace hwnas {

enum class mlp_loss { log_mse, relative_mse };

// Defaults measured on the HELP / HW-NAS-Bench tables (1,000 training
// architectures, 10 end-to-end measured device columns, held-out MAPE; see
// examples/latency_predictor/README.md): weight decay 3 beat 1 on 8 of 10
// columns (and lost by at most 2%), 0.01 to 0.1 were worse still: the
// measurements are noisy and the net must not fit them exactly; the log loss
// beat the relative one on 7 of 10; the pseudo-Huber loss beat the squared
// one on 6 of 10, most where measurements have outliers (NAS-Bench-201 on
// the 2080 Ti: 4.8% -> 4.1%), and lost by at most 3%.
struct mlp_options {
    std::vector<index_t> hidden{128, 128};  // widths of the hidden layers
    std::int64_t epochs = 200;
    index_t batch_size = 64;
    float lr = 1e-3f;  // cosine-annealed to min_lr over all steps
    float min_lr = 1e-5f;
    float weight_decay = 3.0f;  // AdamW, decoupled: each step scales weights by 1 - lr * weight_decay
    mlp_loss loss = mlp_loss::log_mse;
    float huber_delta = 0.02f;  // 0: squared error; else pseudo-Huber with this delta (0.02: about 2%)
    std::uint64_t seed = 0;
    bool verbose = false;  // progress lines on stderr during training
};

// The network and its training loop, shared by the MLP-based predictors.
class mlp_regressor {
public:
    explicit mlp_regressor(const mlp_options& o = {}) : o_(o) {
        require(o.epochs >= 1 && o.batch_size >= 1, "mlp: {} epochs with batch size {}, expected both >= 1", o.epochs,
                o.batch_size);
        for (auto h : o.hidden) require(h >= 1, "mlp: a hidden layer of width {}, expected >= 1", h);
        require(o.lr > 0 && o.min_lr >= 0 && o.min_lr <= o.lr && o.weight_decay >= 0,
                "mlp: lr {}, min_lr {}, weight decay {}: expected 0 <= min_lr <= lr, lr > 0, weight decay >= 0", o.lr,
                o.min_lr, o.weight_decay);
        require(o.huber_delta >= 0 && std::isfinite(o.huber_delta), "mlp: huber delta {}, expected >= 0",
                o.huber_delta);
    }

    const mlp_options& options() const { return o_; }

    // Network output [B, 1] for inputs [B, D].
    var forward(const var& x) const {
        var h = x;
        for (std::size_t i = 0; i < layers_.size(); ++i) {
            h = layers_[i]->forward(h);
            if (i + 1 < layers_.size()) h = relu(h);
        }
        return h;
    }
    // Outputs for inputs [N, D], without recording a graph.
    std::vector<double> outputs(const tensor& x) const {
        no_grad guard;
        const tensor o = forward(var(x)).value();
        return {o.begin(), o.end()};
    }

    // Starts from fresh weights (seeded) and minimizes the loss of err = a o + d
    // (see the top of this file) over the rows of x [N, D]; label names the
    // progress lines and errors.
    void train(const tensor& x, std::span<const double> a, std::span<const double> d, const std::string& label) {
        const index_t n = x.dim(0), width = x.dim(1);
        rng gen(o_.seed);
        layers_.clear();
        std::vector<var> params;
        index_t in = width;
        for (index_t h : o_.hidden) {
            layers_.push_back(std::make_unique<linear_layer>(in, h, gen));
            in = h;
        }
        layers_.push_back(std::make_unique<linear_layer>(in, 1, gen));
        for (const auto& l : layers_)
            for (auto& p : l->parameters()) params.push_back(p);

        const index_t batch = std::min(o_.batch_size, n);
        const std::int64_t steps_per_epoch = (n + batch - 1) / batch, total = o_.epochs * steps_per_epoch;
        adamw opt(params, {.lr = o_.lr, .weight_decay = o_.weight_decay});
        const cosine_schedule schedule(o_.lr, o_.min_lr, total);
        const progress bar(label, static_cast<long>(o_.epochs));
        std::vector<std::size_t> order(static_cast<std::size_t>(n));
        std::iota(order.begin(), order.end(), std::size_t{0});
        const bool robust = o_.huber_delta > 0;
        std::int64_t step = 0;
        for (std::int64_t epoch = 0; epoch < o_.epochs; ++epoch) {
            gen.shuffle(order);
            double loss_sum = 0;
            for (index_t lo = 0; lo < n; lo += batch) {
                const index_t b = std::min(batch, n - lo);
                const auto rows = std::span(order).subspan(static_cast<std::size_t>(lo), static_cast<std::size_t>(b));
                tensor xb = detail::take_rows(x, rows), ab = tensor::uninitialized({b, 1}),
                       db = tensor::uninitialized({b, 1});
                for (index_t i = 0; i < b; ++i) {
                    ab[i] = static_cast<float>(a[rows[static_cast<std::size_t>(i)]]);
                    db[i] = static_cast<float>(d[rows[static_cast<std::size_t>(i)]]);
                }
                const var err = add(mul(forward(var(std::move(xb))), var(std::move(ab))), var(std::move(db)));
                var loss;
                if (robust) {
                    const var delta2(tensor::full({b, 1}, o_.huber_delta * o_.huber_delta));
                    loss = mean(pow_scalar(add(mul(err, err), delta2), 0.5f));
                } else {
                    loss = mean(mul(err, err));
                }
                opt.zero_grad();
                loss.backward();
                opt.set_lr(schedule(step++));
                opt.step();
                loss_sum += (loss.value().item() - o_.huber_delta) * static_cast<double>(b);
            }
            if (!std::isfinite(loss_sum))
                throw numeric_error(fmt::format("{}: the training loss became {} at epoch {}", label, loss_sum, epoch));
            if (o_.verbose && ((epoch + 1) % std::max<std::int64_t>(1, o_.epochs / 4) == 0 || epoch + 1 == o_.epochs))
                bar.report(static_cast<long>(epoch + 1), fmt::format("loss {:.3g}", loss_sum / static_cast<double>(n)));
        }
        // Fitted weights are constants from now on: a differentiable prediction
        // sends its gradient to the encoding only.
        for (auto& p : params) p.set_requires_grad(false);
    }

private:
    mlp_options o_;
    std::vector<std::unique_ptr<linear_layer>> layers_;
};

namespace detail {

// Loss constants a, d for targets y on bases b with scale s (see the top of this file).
inline void mlp_loss_terms(mlp_loss loss, std::span<const double> y, std::span<const double> base, double s,
                           std::vector<double>& a, std::vector<double>& d) {
    a.resize(y.size());
    d.resize(y.size());
    for (std::size_t i = 0; i < y.size(); ++i) {
        if (loss == mlp_loss::log_mse) {
            a[i] = s;
            d[i] = std::log(base[i]) - std::log(y[i]);
        } else {
            a[i] = s / y[i];
            d[i] = base[i] / y[i] - 1;
        }
    }
}

// Cost from the network output o on base b with scale s.
inline double mlp_cost(mlp_loss loss, double base, double o, double s) {
    return loss == mlp_loss::log_mse ? base * std::exp(s * o) : base + s * o;
}

// The same on vars: o [B, 1] and base [B, 1].
inline var mlp_cost(mlp_loss loss, const var& base, const var& o, double s) {
    if (loss == mlp_loss::log_mse) return mul(base, exp(scale(o, static_cast<float>(s))));
    return add(base, scale(o, static_cast<float>(s)));
}

// Standard deviation of v (at least floor, so a constant v still gives a usable scale).
inline double spread(std::span<const double> v, double floor) {
    double m = 0, ss = 0;
    for (double x : v) m += x;
    m /= static_cast<double>(v.size());
    for (double x : v) ss += (x - m) * (x - m);
    return std::max(std::sqrt(ss / static_cast<double>(v.size())), floor);
}

}  // namespace detail

// The plain MLP: base b = geometric mean of the training targets; scale s =
// their standard deviation in log space (log_mse) or b (relative_mse), so the
// network fits a standardized target.
class mlp_predictor : public latency_predictor {
public:
    explicit mlp_predictor(const mlp_options& o = {}) : net_(o) {}
    std::string name() const override { return "mlp"; }

protected:
    void do_fit(const tensor& encodings, std::span<const double> targets) override {
        std::vector<double> logs(targets.size());
        std::transform(targets.begin(), targets.end(), logs.begin(), [](double y) { return std::log(y); });
        base_ = std::exp(std::accumulate(logs.begin(), logs.end(), 0.0) / static_cast<double>(logs.size()));
        scale_ = net_.options().loss == mlp_loss::log_mse ? detail::spread(logs, 1e-6) : base_;
        std::vector<double> a, d;
        detail::mlp_loss_terms(net_.options().loss, targets, std::vector<double>(targets.size(), base_), scale_, a, d);
        net_.train(encodings, a, d, name());
    }
    std::vector<double> do_predict(const tensor& encodings) const override {
        std::vector<double> o = net_.outputs(encodings);
        for (double& v : o) v = detail::mlp_cost(net_.options().loss, base_, v, scale_);
        return o;
    }
    var do_predict(const var& encodings) const override {
        const var base(tensor::full({encodings.shape()[0], 1}, static_cast<float>(base_)));
        return detail::mlp_cost(net_.options().loss, base, net_.forward(encodings), scale_);
    }

private:
    mlp_regressor net_;
    double base_ = 1, scale_ = 1;
};

}  // namespace hwnas
