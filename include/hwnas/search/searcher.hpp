#pragma once
// Differentiable architecture search over a supernet (algorithms.md 2.1-2.3):
// one searcher interface (step / epoch / run, callbacks, a per-epoch CSV log,
// an atomic checkpoint of the whole state and a bit-identical resume) and the
// three methods, which differ only in mixing, loss and optimizer defaults:
// - darts_searcher: softmax mixing, L = CE (+ lambda * E[cost] if cost_weight > 0);
//   first order, or second order with the finite-difference hypergradient.
// - fbnet_searcher: Gumbel-softmax mixing, temperature 5.0 x 0.956 per epoch,
//   L = CE * alpha * log(LAT)^beta with LAT = fixed + sum m * LUT (LAT must
//   exceed 1 in the table's unit); warm-up epochs train w alone.
// - proxyless_searcher: binary path sampling, L = CE + lambda * E[LAT] under softmax(alpha).
// - gram_searcher (search/gram.hpp) builds on the same interface through the
//   virtual step / expected_cost / log_csv and the save_extra / load_extra /
//   epoch_ended hooks.
// A step: (after the warm-up epochs) one architecture step on a batch of the
// arch split, then one weight step on a batch of the weight split. The weight
// step freezes alpha and the arch step freezes w, so neither computes the
// other's gradients. Weights: SGD with momentum, cosine lr per epoch, clipped
// gradient norm; alpha: Adam.
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hwnas/data/loader.hpp"
#include "hwnas/io/checkpoint.hpp"
#include "hwnas/io/progress.hpp"
#include "hwnas/nn/lr_schedule.hpp"
#include "hwnas/nn/optimizer.hpp"
#include "hwnas/nn/train.hpp"
#include "hwnas/search/cost_model.hpp"
#include "hwnas/search/derivation.hpp"
#include "hwnas/supernet/supernet.hpp"

namespace hwnas {

struct search_options {
    std::int64_t epochs = 50;
    index_t batch_size = 64;
    std::uint64_t seed = 0;  // data order (the supernet's seed drives init and sampling)
    // Weights: SGD.
    float w_lr = 0.025f, w_min_lr = 0.001f, w_momentum = 0.9f, w_weight_decay = 3e-4f, w_clip = 5.0f;
    // Architecture parameters: Adam.
    float a_lr = 3e-4f, a_beta1 = 0.5f, a_beta2 = 0.999f, a_weight_decay = 1e-3f;
    std::int64_t warmup_epochs = 0;  // epochs training w alone
    float cost_weight = 0;           // DARTS / ProxylessNAS lambda
    float fbnet_alpha = 0.2f, fbnet_beta = 0.6f;
    float temperature = 5.0f, temperature_decay = 0.956f;  // FBNet, per epoch
    bool second_order = false;                              // DARTS
    bool cell_derivation = false;  // DARTS: darts_cell_architecture instead of the argmax
    int keep_edges = 2, max_skip = -1;  // cell derivation: kept inputs per node, skip cap (-1: none)
    bool progress = false;                                  // progress lines on stderr
};

// algorithms.md defaults for each method.
inline search_options darts_defaults() { return {}; }
inline search_options fbnet_defaults() {
    search_options o;
    o.a_lr = 0.01f;
    o.a_beta1 = 0.9f;
    o.a_weight_decay = 5e-4f;
    o.warmup_epochs = 10;
    o.epochs = 90;
    return o;
}
// ProxylessNAS's own arch optimizer: Adam lr 6e-3, betas (0, 0.999), no decay.
inline search_options proxyless_defaults() {
    search_options o;
    o.a_lr = 6e-3f;
    o.a_beta1 = 0.0f;
    o.a_weight_decay = 0.0f;
    return o;
}

struct search_epoch_record {
    std::int64_t epoch = 0;  // 1-based
    double train_loss = 0, train_accuracy = 0;  // weight steps (the loss the method trains w with)
    double val_loss = 0, val_accuracy = 0;      // cross-entropy and accuracy of the arch steps
    double expected_cost = 0;                   // under softmax(alpha), at the end of the epoch
    double temperature = 0;
    double entropy = 0;                         // mean over choice points of H(softmax(alpha)), nats
    std::vector<int> argmax;
    double lr = 0, seconds = 0;
};

inline std::string search_log_csv(const std::vector<search_epoch_record>& h) {
    std::string s = "epoch,train_loss,train_accuracy,val_loss,val_accuracy,expected_cost,temperature,entropy,lr,"
                    "seconds,argmax\n";
    for (const auto& r : h)
        s += fmt::format("{},{},{},{},{},{},{},{},{},{},{}\n", r.epoch, r.train_loss, r.train_accuracy, r.val_loss,
                         r.val_accuracy, r.expected_cost, r.temperature, r.entropy, r.lr, r.seconds,
                         fmt::join(r.argmax, " "));
    return s;
}

struct search_hooks {
    std::function<void(const search_epoch_record&)> on_epoch{};
    // After every step; returning true stops the run there (resume with run() later).
    std::function<bool(std::int64_t step)> stop_after{};
    std::filesystem::path checkpoint{};    // empty: none; else written at every epoch end and every checkpoint_every steps
    std::int64_t checkpoint_every = 0;     // steps; 0: epoch ends only
};

// The loss of a batch given the network's logits.
using search_loss = std::function<var(const var& logits, std::span<const std::int32_t> labels)>;

// DARTS' second-order alpha gradient (algorithms.md 2.1): with w' = w - xi g,
// g = grad_w L_train(w, alpha): grad_alpha L_val(w', alpha) - xi (grad_alpha
// L_train(w+) - grad_alpha L_train(w-)) / (2 eps), w± = w ± eps grad_w'
// L_val(w', alpha), eps = 0.01 / ||grad_w' L_val||. The weights end unchanged.
inline std::vector<tensor> darts_hypergradient(supernet& net, const search_loss& loss, const data_batch& train,
                                               const data_batch& val, float xi) {
    const auto& w = net.weights();
    const auto& a = net.alphas();
    auto loss_of = [&](const data_batch& b) { return loss(net.forward(var(b.images)), b.labels); };
    std::vector<tensor> backup;
    for (const auto& p : w) backup.push_back(p.value().clone());
    auto set_weights = [&](float step, const std::vector<tensor>& dir) {
        for (std::size_t i = 0; i < w.size(); ++i) {
            var p = w[i];
            float* d = p.value().data();
            const float* b = backup[i].data();
            const float* g = dir[i].data();
            for (index_t j = 0; j < p.numel(); ++j) d[j] = b[j] + step * g[j];
        }
    };
    set_weights(-xi, grad(loss_of(train), w));
    std::vector<var> both(a.begin(), a.end());
    both.insert(both.end(), w.begin(), w.end());
    std::vector<tensor> gv = grad(loss_of(val), both);
    std::vector<tensor> dw(gv.begin() + static_cast<std::ptrdiff_t>(a.size()), gv.end());
    double sq = 0;
    for (const auto& t : dw)
        for (float v : t) sq += static_cast<double>(v) * v;
    const float eps = static_cast<float>(0.01 / std::max(std::sqrt(sq), 1e-12));
    set_weights(eps, dw);
    const std::vector<tensor> gp = grad(loss_of(train), a);
    set_weights(-eps, dw);
    const std::vector<tensor> gm = grad(loss_of(train), a);
    for (std::size_t i = 0; i < w.size(); ++i) {
        var p = w[i];
        std::copy(backup[i].begin(), backup[i].end(), p.value().begin());
    }
    std::vector<tensor> out;
    for (std::size_t i = 0; i < a.size(); ++i) {
        tensor h = gv[i].clone();
        for (index_t j = 0; j < h.numel(); ++j) h[j] -= xi * (gp[i][j] - gm[i][j]) / (2 * eps);
        out.push_back(std::move(h));
    }
    return out;
}

class searcher {
public:
    // net's mixing mode is set by the method. weight_data trains w, arch_data alpha.
    searcher(supernet& net, const dataset& weight_data, const dataset& arch_data, const cost_model* cost,
             search_options o)
        : net_(net), cost_(cost), o_(std::move(o)),
          w_loader_(weight_data, {.batch_size = o_.batch_size, .shuffle = true, .seed = o_.seed}),
          a_loader_(arch_data, {.batch_size = o_.batch_size, .shuffle = true, .seed = o_.seed + 1}),
          w_opt_(net.weights(), sgd_options{.lr = o_.w_lr, .momentum = o_.w_momentum, .weight_decay = o_.w_weight_decay}),
          a_opt_(net.alphas(), adam_options{.lr = o_.a_lr, .beta1 = o_.a_beta1, .beta2 = o_.a_beta2,
                                            .weight_decay = o_.a_weight_decay}),
          schedule_(o_.w_lr, o_.w_min_lr, std::max<std::int64_t>(o_.epochs, 1)) {
        require(o_.epochs >= 1 && o_.warmup_epochs >= 0, "searcher: {} epochs and {} warm-up epochs are invalid",
                o_.epochs, o_.warmup_epochs);
        require(weight_data.size() >= 1 && arch_data.size() >= 1, "searcher: a search split is empty ({} and {})",
                weight_data.size(), arch_data.size());
    }
    virtual ~searcher() = default;
    searcher(const searcher&) = delete;
    searcher& operator=(const searcher&) = delete;

    virtual std::string method() const = 0;
    // The method's loss on a batch (logits from the supernet in its current state).
    virtual var loss(const var& logits, std::span<const std::int32_t> labels) = 0;
    // The architecture the search result stands for (argmax by default).
    virtual architecture derived_architecture() const { return net_.argmax(); }

    // One search step on a weight batch and an arch batch.
    virtual void step(const data_batch& wb, const data_batch& ab) {
        if (epoch_ >= o_.warmup_epochs) arch_step(wb, ab);
        weight_step(wb);
    }

    // Runs until the last epoch (or until hooks.stop_after says stop); returns the history.
    const std::vector<search_epoch_record>& run(const search_hooks& hooks = {}) {
        progress bar(fmt::format("search {}", method()), static_cast<long>(o_.epochs));
        while (epoch_ < o_.epochs) {
            const auto start = std::chrono::steady_clock::now();
            begin_epoch();
            const index_t steps = steps_per_epoch();
            while (step_ < steps) {
                step(w_loader_.batch(step_), a_loader_.batch(step_));
                ++step_;
                ++global_step_;
                const bool stop = hooks.stop_after && hooks.stop_after(global_step_);
                if (!hooks.checkpoint.empty() &&
                    (stop || (hooks.checkpoint_every > 0 && global_step_ % hooks.checkpoint_every == 0)))
                    save_checkpoint(hooks.checkpoint);
                if (stop) {
                    seconds_ += seconds_since(start);
                    return history_;
                }
            }
            seconds_ += seconds_since(start);
            end_epoch();
            if (o_.progress) {
                const auto& r = history_.back();
                bar.report(static_cast<long>(epoch_),
                           fmt::format("loss {:.4f} acc {:.4f} | val loss {:.4f} acc {:.4f} | cost {:.4g} | tau {:.3f} | "
                                       "entropy {:.3f} | {:.1f}s",
                                       r.train_loss, r.train_accuracy, r.val_loss, r.val_accuracy, r.expected_cost,
                                       r.temperature, r.entropy, r.seconds));
            }
            if (!hooks.checkpoint.empty()) save_checkpoint(hooks.checkpoint);
            if (hooks.on_epoch) hooks.on_epoch(history_.back());
        }
        return history_;
    }

    bool finished() const { return epoch_ >= o_.epochs; }
    const std::vector<search_epoch_record>& history() const { return history_; }
    virtual std::string log_csv() const { return search_log_csv(history_); }
    supernet& net() { return net_; }
    const search_options& options() const { return o_; }
    std::int64_t epoch() const { return epoch_; }

    // Expected cost under softmax(alpha) (0 without a cost model).
    virtual double expected_cost() const {
        if (!cost_) return 0;
        no_grad off;
        return cost_->expected(softmax_alphas()).value().item();
    }

    // Everything a resumed search needs: supernet weights, alphas and BN
    // statistics, both optimizers, the sampling generator, the position and
    // the log (atomic write).
    void save_checkpoint(const std::filesystem::path& path) const {
        checkpoint ck;
        save_state(ck, net_, "model.");
        save_state(ck, w_opt_, "w_opt.");
        save_state(ck, a_opt_, "a_opt.");
        save_state(ck, net_.generator(), "rng");
        ck.put_int("epoch", epoch_);
        ck.put_int("step", step_);
        ck.put_int("global_step", global_step_);
        ck.put_bytes("sums", std::as_bytes(std::span(sums_)));
        ck.put_text("method", method());
        nlohmann::json h = nlohmann::json::array();
        for (const auto& r : history_)
            h.push_back({r.epoch, r.train_loss, r.train_accuracy, r.val_loss, r.val_accuracy, r.expected_cost,
                         r.temperature, r.entropy, r.argmax, r.lr, r.seconds});
        ck.put_text("history", h.dump());
        save_extra(ck);
        ck.save(path);
    }
    void load_checkpoint(const std::filesystem::path& path) {
        const checkpoint ck = checkpoint::load(path);
        require<io_error>(ck.get_text("method") == method(), "searcher: checkpoint {} is of method {}, this is {}",
                          path.string(), ck.get_text("method"), method());
        const auto sums = ck.get_bytes("sums");
        require<io_error>(sums.size() == sizeof(sums_), "searcher: checkpoint {} has a malformed sums entry",
                          path.string());
        load_state(ck, net_, "model.");
        load_state(ck, w_opt_, "w_opt.");
        load_state(ck, a_opt_, "a_opt.");
        load_state(ck, net_.generator(), "rng");
        epoch_ = ck.get_int("epoch");
        step_ = ck.get_int("step");
        global_step_ = ck.get_int("global_step");
        std::memcpy(sums_.data(), sums.data(), sizeof(sums_));
        w_loader_.set_epoch(epoch_);
        a_loader_.set_epoch(epoch_);
        history_.clear();
        for (const auto& j : nlohmann::json::parse(ck.get_text("history")))
            history_.push_back({j[0], j[1], j[2], j[3], j[4], j[5], j[6], j[7], j[8].get<std::vector<int>>(), j[9], j[10]});
        seconds_ = 0;
        for (const auto& r : history_) seconds_ += r.seconds;
        seconds_before_ = seconds_;
        load_extra(ck);
    }

protected:
    virtual void begin_epoch() {}
    // A method's own state in the checkpoint (loaded after the searcher's own).
    virtual void save_extra(checkpoint&) const {}
    virtual void load_extra(const checkpoint&) {}
    // After each epoch's record is complete (a method logs its extra columns).
    virtual void epoch_ended(const search_epoch_record&) {}

    virtual void arch_step(const data_batch& wb, const data_batch& ab) {
        (void)wb;
        freeze(true);
        a_opt_.zero_grad();
        const var l = batch_loss(ab, true);
        l.backward();
        a_opt_.step();
        a_opt_.zero_grad();
    }

    void weight_step(const data_batch& wb) {
        freeze(false);
        w_opt_.set_lr(schedule_(epoch_));
        w_opt_.zero_grad();
        const var l = batch_loss(wb, false);
        l.backward();
        if (o_.w_clip > 0) clip_grad_norm(net_.weights(), o_.w_clip);
        w_opt_.step();
        w_opt_.zero_grad();
    }

    // Trains alpha (arch = true, weights frozen) or the weights (alpha frozen).
    void freeze(bool arch) {
        for (auto p : net_.alphas()) p.set_requires_grad(arch);
        for (auto p : net_.weights()) p.set_requires_grad(!arch);
    }

    // The method's loss on b; adds (loss, correct, count) to the epoch sums of
    // its split (for the arch split the cross-entropy alone).
    var batch_loss(const data_batch& b, bool arch) {
        const var logits = net_.forward(var(b.images));
        const var l = loss(logits, b.labels);
        double* acc = sums_.data() + (arch ? 3 : 0);
        acc[0] += (arch ? cross_entropy(logits.detach(), b.labels) : l).value().item() *
                  static_cast<double>(b.labels.size());
        acc[1] += static_cast<double>(count_correct(logits.value(), b.labels));
        acc[2] += static_cast<double>(b.labels.size());
        return l;
    }

    std::vector<var> softmax_alphas() const {
        std::vector<var> p;
        for (const auto& a : net_.alphas()) p.push_back(softmax(a));
        return p;
    }

    supernet& net_;
    const cost_model* cost_;
    search_options o_;
    loader w_loader_, a_loader_;
    sgd w_opt_;
    adam a_opt_;
    cosine_schedule schedule_;

private:
    index_t steps_per_epoch() const { return std::min(w_loader_.num_batches(), a_loader_.num_batches()); }
    static double seconds_since(std::chrono::steady_clock::time_point t) {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    }

    void end_epoch() {
        search_epoch_record r;
        r.epoch = epoch_ + 1;
        auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
        r.train_loss = ratio(sums_[0], sums_[2]);
        r.train_accuracy = ratio(sums_[1], sums_[2]);
        r.val_loss = ratio(sums_[3], sums_[5]);
        r.val_accuracy = ratio(sums_[4], sums_[5]);
        r.expected_cost = expected_cost();
        r.temperature = net_.temperature();
        double h = 0;
        for (std::size_t p = 0; p < net_.alphas().size(); ++p)
            for (float v : net_.probabilities(p)) h -= v > 0 ? static_cast<double>(v) * std::log(v) : 0.0;
        r.entropy = net_.alphas().empty() ? 0 : h / static_cast<double>(net_.alphas().size());
        r.argmax = derived_architecture().choices;
        r.lr = w_opt_.lr();
        r.seconds = seconds_ - seconds_before_;
        seconds_before_ = seconds_;
        history_.push_back(std::move(r));
        epoch_ended(history_.back());
        sums_.fill(0);
        ++epoch_;
        step_ = 0;
        w_loader_.set_epoch(epoch_);
        a_loader_.set_epoch(epoch_);
    }

    std::int64_t epoch_ = 0, step_ = 0, global_step_ = 0;
    std::array<double, 6> sums_{};  // weight split: loss, correct, count; arch split: the same
    double seconds_ = 0, seconds_before_ = 0;
    std::vector<search_epoch_record> history_;
};

// DARTS (algorithms.md 2.1).
class darts_searcher : public searcher {
public:
    darts_searcher(supernet& net, const dataset& w, const dataset& a, const cost_model* cost = nullptr,
                   search_options o = darts_defaults())
        : searcher(net, w, a, cost, std::move(o)) {
        net.set_mode(mixing::softmax);
        require(o_.cost_weight == 0 || cost_, "darts_searcher: cost_weight {} needs a cost model", o_.cost_weight);
    }
    std::string method() const override { return o_.second_order ? "darts2" : "darts"; }
    architecture derived_architecture() const override {
        if (!o_.cell_derivation) return net_.argmax();
        return darts_cell_architecture(net_.space(), net_.probabilities(), o_.keep_edges, o_.max_skip);
    }
    var loss(const var& logits, std::span<const std::int32_t> labels) override {
        var ce = cross_entropy(logits, labels);
        if (o_.cost_weight == 0) return ce;
        return add(ce, scale(cost_->expected(softmax_alphas()), o_.cost_weight));
    }

protected:
    void arch_step(const data_batch& wb, const data_batch& ab) override {
        if (!o_.second_order) return searcher::arch_step(wb, ab);
        for (auto p : net_.alphas()) p.set_requires_grad(true);
        for (auto p : net_.weights()) p.set_requires_grad(true);
        w_opt_.set_lr(schedule_(epoch()));
        const auto h = darts_hypergradient(net_, [this](const var& l, auto y) { return loss(l, y); }, wb, ab,
                                           w_opt_.lr());
        for (std::size_t i = 0; i < h.size(); ++i) {
            var p = net_.alphas()[i];
            p.grad() = h[i];
        }
        a_opt_.step();
        a_opt_.zero_grad();
    }
};

// FBNet (algorithms.md 2.2).
class fbnet_searcher : public searcher {
public:
    fbnet_searcher(supernet& net, const dataset& w, const dataset& a, const cost_model& cost,
                   search_options o = fbnet_defaults())
        : searcher(net, w, a, &cost, std::move(o)) {
        net.set_mode(mixing::gumbel);
    }
    std::string method() const override { return "fbnet"; }
    var loss(const var& logits, std::span<const std::int32_t> labels) override {
        const var lat = cost_->expected(net_.last_weights());
        require<numeric_error>(lat.value().item() > 1.0f,
                               "fbnet_searcher: expected latency {} {} must exceed 1 for log(LAT)^beta", lat.value().item(),
                               cost_->unit());
        return mul(cross_entropy(logits, labels),
                   scale(pow_scalar(log(lat), o_.fbnet_beta), o_.fbnet_alpha));
    }

protected:
    void begin_epoch() override {
        net_.set_temperature(o_.temperature * std::pow(o_.temperature_decay, static_cast<float>(epoch())));
    }
};

// ProxylessNAS (algorithms.md 2.3).
class proxyless_searcher : public searcher {
public:
    proxyless_searcher(supernet& net, const dataset& w, const dataset& a, const cost_model& cost,
                       search_options o = proxyless_defaults())
        : searcher(net, w, a, &cost, std::move(o)) {
        net.set_mode(mixing::binary);
    }
    std::string method() const override { return "proxyless"; }
    var loss(const var& logits, std::span<const std::int32_t> labels) override {
        var ce = cross_entropy(logits, labels);
        if (o_.cost_weight == 0) return ce;
        return add(ce, scale(cost_->expected(softmax_alphas()), o_.cost_weight));
    }
};

}  // namespace hwnas
