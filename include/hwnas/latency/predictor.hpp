#pragma once
// The latency (or any measured cost) predictor interface, and the one-hot
// architecture encoding it works on.
//
// An architecture is one op index per choice point (a layer of the FBNet
// space, an edge of a NAS-Bench-201 cell). Its encoding concatenates, over
// the choice points, a vector of op weights: one-hot for a discrete
// architecture, softmax(alpha) during a differentiable search (algorithms.md
// 2.4). Every predictor is fitted on discrete encodings and can then be
// evaluated on soft ones through autograd, so a searcher can minimize
// CE + lambda * LAT_hat(softmax(alpha)).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "hwnas/autograd/var.hpp"
#include "hwnas/error.hpp"
#include "hwnas/tensor/tensor.hpp"

namespace hwnas {

// Where each choice point's op weights sit in an encoding row: position p
// takes columns [offset(p), offset(p) + ops(p)).
class one_hot_layout {
public:
    one_hot_layout() = default;
    explicit one_hot_layout(std::vector<int> ops_per_position) : ops_(std::move(ops_per_position)) {
        require(!ops_.empty(), "one_hot_layout: no positions, expected at least one");
        offsets_.reserve(ops_.size());
        for (std::size_t p = 0; p < ops_.size(); ++p) {
            require(ops_[p] >= 1, "one_hot_layout: position {} has {} ops, expected at least 1", p, ops_[p]);
            offsets_.push_back(width_);
            width_ += ops_[p];
        }
    }

    std::size_t positions() const { return ops_.size(); }
    int ops(std::size_t p) const { return ops_.at(p); }
    index_t offset(std::size_t p) const { return offsets_.at(p); }
    // Columns of an encoding row.
    index_t width() const { return width_; }

    // Writes the one-hot encoding of arch (one op index per position) into row[0, width).
    void encode_into(std::span<const int> arch, float* row) const {
        require(arch.size() == ops_.size(), "one_hot_layout::encode: architecture has {} positions, expected {}",
                arch.size(), ops_.size());
        std::fill(row, row + width_, 0.0f);
        for (std::size_t p = 0; p < ops_.size(); ++p) {
            require(arch[p] >= 0 && arch[p] < ops_[p],
                    "one_hot_layout::encode: op index {} at position {}, expected 0..{}", arch[p], p, ops_[p] - 1);
            row[offsets_[p] + arch[p]] = 1.0f;
        }
    }
    // Encodes architectures into a [N, width] tensor.
    tensor encode(std::span<const std::vector<int>> archs) const {
        tensor t = tensor::uninitialized({static_cast<index_t>(archs.size()), width_});
        for (std::size_t i = 0; i < archs.size(); ++i) encode_into(archs[i], t.data() + static_cast<index_t>(i) * width_);
        return t;
    }

private:
    std::vector<int> ops_;
    std::vector<index_t> offsets_;
    index_t width_ = 0;
};

namespace detail {
// The given rows of a [N, D] tensor, in that order.
inline tensor take_rows(const tensor& x, std::span<const std::size_t> rows) {
    const index_t width = x.dim(1);
    tensor out = tensor::uninitialized({static_cast<index_t>(rows.size()), width});
    for (std::size_t i = 0; i < rows.size(); ++i)
        std::copy(x.data() + static_cast<index_t>(rows[i]) * width, x.data() + static_cast<index_t>(rows[i] + 1) * width,
                  out.data() + static_cast<index_t>(i) * width);
    return out;
}
}  // namespace detail

// A regressor from architecture encodings to a positive cost (latency in ms,
// energy, memory). Non-virtual entry points validate and call the do_* hooks.
class latency_predictor {
public:
    latency_predictor() = default;
    latency_predictor(const latency_predictor&) = delete;
    latency_predictor& operator=(const latency_predictor&) = delete;
    virtual ~latency_predictor() = default;

    // Short name for reports ("additive", "mlp", ...).
    virtual std::string name() const = 0;

    // Fits to encodings [N, D] (one row per architecture) and targets [N],
    // every target finite and > 0. Refitting starts afresh.
    void fit(const tensor& encodings, std::span<const double> targets) {
        require<shape_error>(encodings.defined() && encodings.rank() == 2 && encodings.dim(0) >= 1 &&
                                 encodings.dim(1) >= 1,
                             "{}::fit: encodings have shape {}, expected [N, D] with N, D >= 1", name(),
                             encodings.defined() ? encodings.shape() : shape{});
        require<shape_error>(static_cast<std::size_t>(encodings.dim(0)) == targets.size(),
                             "{}::fit: {} encodings and {} targets, expected one target per encoding", name(),
                             encodings.dim(0), targets.size());
        for (std::size_t i = 0; i < targets.size(); ++i)
            require(std::isfinite(targets[i]) && targets[i] > 0, "{}::fit: target {} is {}, expected a finite value > 0",
                    name(), i, targets[i]);
        require<numeric_error>(encodings.all_finite(), "{}::fit: the encodings hold NaN or Inf", name());
        const auto start = std::chrono::steady_clock::now();
        do_fit(encodings, targets);
        width_ = encodings.dim(1);
        fit_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }

    // Predictions for encodings [N, D].
    std::vector<double> predict(const tensor& encodings) const {
        check_width("predict", encodings.defined() ? encodings.shape() : shape{});
        return do_predict(encodings);
    }
    // Prediction for one encoding of D values.
    double predict(std::span<const float> encoding) const {
        return predict(tensor::from({1, static_cast<index_t>(encoding.size())}, encoding))[0];
    }
    // Differentiable prediction: encodings [B, D] (soft rows allowed) -> [B, 1].
    // The gradient reaches the encodings (and through them alpha), not the
    // predictor's own fitted parameters.
    var predict(const var& encodings) const {
        check_width("predict", encodings.defined() ? encodings.shape() : shape{});
        return do_predict(encodings);
    }

    bool fitted() const { return width_ > 0; }
    // Encoding width D seen by fit (0 before).
    index_t input_width() const { return width_; }
    // Wall time of the last fit.
    double fit_seconds() const { return fit_seconds_; }

protected:
    virtual void do_fit(const tensor& encodings, std::span<const double> targets) = 0;
    virtual std::vector<double> do_predict(const tensor& encodings) const = 0;
    virtual var do_predict(const var& encodings) const = 0;
    // For predictors built ready to use (e.g. from a lookup table).
    void set_input_width(index_t d) { width_ = d; }

private:
    void check_width(const char* fn, const shape& s) const {
        require(fitted(), "{}::{}: the predictor is not fitted", name(), fn);
        require<shape_error>(s.rank() == 2 && s[0] >= 1 && s[1] == width_,
                             "{}::{}: encodings have shape {}, expected [N, {}]", name(), fn, s, width_);
    }

    index_t width_ = 0;
    double fit_seconds_ = 0;
};

}  // namespace hwnas
