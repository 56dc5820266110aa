#pragma once
// Additive table plus a learned MLP correction. The additive predictor
// (additive.hpp) is fitted first; an MLP (mlp.hpp) then learns what is left,
// the inter-layer part:
//     relative_mse: cost = table(x) + s * o(x), s = std of (target - table)
//     log_mse:      cost = max(table(x), m) * exp(s * o(x)), s = std of log(target / that),
//                   m = half the smallest training target (a least-squares table can dip
//                   to zero or below far from its training rows).
// The table carries what is additive, so the network only has to learn the
// interactions, which are small next to the total. How strongly the network
// is held back (its weight decay) decides between learning interactions and
// fitting measurement noise, and the right amount differs per device: it is
// chosen on a validation share of the training rows among the candidates,
// together with the table alone (the limit of infinite decay; a net must
// beat it by 1% relative validation MAPE), and the winner is refitted on all rows.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "hwnas/latency/additive.hpp"
#include "hwnas/latency/metrics.hpp"
#include "hwnas/latency/mlp.hpp"

namespace hwnas {

// Defaults measured like mlp_options' (examples/latency_predictor/README.md):
// the robust relative table (it beat least squares on MAPE on every measured
// column), the relative loss for the net (it beat the log loss on all four
// columns where a net was chosen, e.g. NAS-Bench-201 on the Pixel 3: 10.3%
// against 14.7% MAPE), and the decay chosen among 1, 3, 10 or the table alone.
namespace detail {
// (A designated initializer here trips GCC 12's -Wmaybe-uninitialized.)
inline mlp_options residual_mlp_defaults() {
    mlp_options o;
    o.loss = mlp_loss::relative_mse;
    return o;
}
}  // namespace detail

struct residual_options {
    additive_options additive{.huber_delta = 0.02};
    mlp_options mlp = detail::residual_mlp_defaults();
    // Candidate weight decays for the MLP (replacing mlp.weight_decay; empty:
    // mlp.weight_decay). With one candidate and table_only off there is no
    // validation split.
    std::vector<float> weight_decays{1.0f, 3.0f, 10.0f};
    bool table_only = true;  // also consider the table alone
    double validation_share = 0.2;
    // Multiplies the scale s (see the top of this file).
    double scale = 1.0;
};

class residual_predictor : public latency_predictor {
public:
    explicit residual_predictor(const residual_options& o = {}) : o_(o), table_(o.additive), net_(o.mlp) {
        require(o.scale > 0 && std::isfinite(o.scale), "residual_predictor: scale {}, expected > 0", o.scale);
        require(o.validation_share > 0 && o.validation_share < 1,
                "residual_predictor: validation share {}, expected 0 < share < 1", o.validation_share);
        for (float wd : o.weight_decays)
            require(wd >= 0 && std::isfinite(wd), "residual_predictor: weight decay {}, expected >= 0", wd);
        if (o_.weight_decays.empty()) o_.weight_decays.push_back(o.mlp.weight_decay);
    }
    std::string name() const override { return "residual"; }

    const additive_predictor& table() const { return table_; }
    // The weight decay the last fit chose, or NaN when it chose the table alone.
    float chosen_weight_decay() const { return use_net_ ? net_.options().weight_decay : std::nanf(""); }

protected:
    void do_fit(const tensor& encodings, std::span<const double> targets) override {
        float best_wd = o_.weight_decays.front();
        bool best_net = true;
        if (o_.weight_decays.size() > 1 || o_.table_only) {
            const auto [fit_rows, val_rows] = split(targets.size());
            const tensor x_fit = detail::take_rows(encodings, fit_rows), x_val = detail::take_rows(encodings, val_rows);
            std::vector<double> y_fit, y_val;
            for (auto r : fit_rows) y_fit.push_back(targets[r]);
            for (auto r : val_rows) y_val.push_back(targets[r]);
            double best = std::numeric_limits<double>::infinity();
            if (o_.table_only) {
                additive_predictor table(o_.additive);
                table.fit(x_fit, y_fit);
                best = mape(y_val, table.predict(x_val));
                best_net = false;
            }
            for (float wd : o_.weight_decays) {
                residual_options single = o_;
                single.weight_decays = {wd};
                single.table_only = false;
                residual_predictor candidate(single);
                candidate.fit(x_fit, y_fit);
                const double m = mape(y_val, candidate.predict(x_val));
                // A net must beat the table alone by 1% (relative) to be worth its variance.
                if (m < (best_net ? best : 0.99 * best)) best = m, best_wd = wd, best_net = true;
            }
        }
        fit_all(encodings, targets, best_net, best_wd);
    }
    std::vector<double> do_predict(const tensor& encodings) const override {
        std::vector<double> p = bases(encodings);
        if (!use_net_) return p;
        const std::vector<double> o = net_.outputs(encodings);
        for (std::size_t i = 0; i < o.size(); ++i) p[i] = detail::mlp_cost(o_.mlp.loss, p[i], o[i], scale_);
        return p;
    }
    var do_predict(const var& encodings) const override {
        var base = table_.predict(encodings);
        if (log_mode()) {  // floor + relu(base - floor) = max(base, floor)
            const var floor(tensor::full(base.shape(), static_cast<float>(floor_)));
            base = add(relu(sub(base, floor)), floor);
        }
        return use_net_ ? detail::mlp_cost(o_.mlp.loss, base, net_.forward(encodings), scale_) : base;
    }

private:
    bool log_mode() const { return o_.mlp.loss == mlp_loss::log_mse; }

    std::vector<double> bases(const tensor& encodings) const {
        std::vector<double> b = table_.predict(encodings);
        if (log_mode())
            for (double& v : b) v = std::max(v, floor_);
        return b;
    }

    void fit_all(const tensor& encodings, std::span<const double> targets, bool use_net, float weight_decay) {
        floor_ = 0.5 * *std::min_element(targets.begin(), targets.end());
        table_.fit(encodings, targets);
        use_net_ = use_net;
        if (!use_net) return;
        const std::vector<double> base = bases(encodings);
        std::vector<double> rest(base.size());
        for (std::size_t i = 0; i < base.size(); ++i)
            rest[i] = log_mode() ? std::log(targets[i] / base[i]) : targets[i] - base[i];
        scale_ = o_.scale * detail::spread(rest, log_mode() ? 1e-6 : 1e-6 * floor_);
        std::vector<double> a, d;
        detail::mlp_loss_terms(o_.mlp.loss, targets, base, scale_, a, d);
        mlp_options mo = o_.mlp;
        mo.weight_decay = weight_decay;
        net_ = mlp_regressor(mo);
        net_.train(encodings, a, d, name());
    }

    // Seeded split of n rows into fitting and validation rows (each sorted).
    std::pair<std::vector<std::size_t>, std::vector<std::size_t>> split(std::size_t n) const {
        const auto n_val = static_cast<std::size_t>(std::lround(o_.validation_share * static_cast<double>(n)));
        require(n_val >= 2 && n - n_val >= 2,
                "residual_predictor: {} training rows are too few to hold out a validation share of {}", n,
                o_.validation_share);
        std::vector<std::size_t> order(n);
        std::iota(order.begin(), order.end(), std::size_t{0});
        rng gen(o_.mlp.seed ^ 0x5eed);
        gen.shuffle(order);
        std::vector<std::size_t> val(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_val)),
            fit(order.begin() + static_cast<std::ptrdiff_t>(n_val), order.end());
        std::sort(val.begin(), val.end());
        std::sort(fit.begin(), fit.end());
        return {fit, val};
    }

    residual_options o_;
    additive_predictor table_;
    mlp_regressor net_;
    bool use_net_ = true;
    double scale_ = 1, floor_ = 0;
};

}  // namespace hwnas
