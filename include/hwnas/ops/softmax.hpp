#pragma once
// softmax, log_softmax, cross_entropy and gumbel_softmax, all along the last
// dimension. Every row goes through log_softmax_rows, which shifts by the row
// maximum: large logits do not overflow exp and small probabilities keep
// their precision. Rows are independent and short (classes, candidate ops),
// so these run on one thread.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "hwnas/autograd/var.hpp"
#include "hwnas/core/rng.hpp"
#include "hwnas/ops/check.hpp"

namespace hwnas {

namespace kernels {

// y = (x - m) - log(sum_j exp(x[j] - m)) per row, m the row maximum. Keeping
// x - m apart from the log term keeps full precision for large logits.
inline void log_softmax_rows(const float* x, float* y, index_t rows, index_t k) {
    for (index_t r = 0; r < rows; ++r) {
        const float* xr = x + r * k;
        const float m = *std::max_element(xr, xr + k);
        double s = 0;
        for (index_t j = 0; j < k; ++j) s += std::exp(xr[j] - m);
        const float log_s = static_cast<float>(std::log(s));
        for (index_t j = 0; j < k; ++j) y[r * k + j] = (xr[j] - m) - log_s;
    }
}

inline void softmax_rows(const float* x, float* y, index_t rows, index_t k) {
    log_softmax_rows(x, y, rows, k);
    for (index_t i = 0; i < rows * k; ++i) y[i] = std::exp(y[i]);
}

// gx = s * y * (gy - <gy, y>) per row: the softmax Jacobian-vector product for
// softmax(s * x) given its output y.
inline void softmax_backward_rows(const float* y, const float* gy, float* gx, index_t rows, index_t k, float s) {
    for (index_t r = 0; r < rows; ++r) {
        const float *yr = y + r * k, *gr = gy + r * k;
        double d = 0;
        for (index_t j = 0; j < k; ++j) d += static_cast<double>(gr[j]) * yr[j];
        for (index_t j = 0; j < k; ++j) gx[r * k + j] = s * yr[j] * (gr[j] - static_cast<float>(d));
    }
}

// gx = gy - softmax * sum(gy) per row, given the log_softmax output y.
inline void log_softmax_backward_rows(const float* y, const float* gy, float* gx, index_t rows, index_t k) {
    for (index_t r = 0; r < rows; ++r) {
        const float *yr = y + r * k, *gr = gy + r * k;
        double s = 0;
        for (index_t j = 0; j < k; ++j) s += gr[j];
        for (index_t j = 0; j < k; ++j) gx[r * k + j] = gr[j] - std::exp(yr[j]) * static_cast<float>(s);
    }
}

}  // namespace kernels

namespace detail {
// Validates a softmax-like input; returns {rows, k} with k the last extent.
inline std::pair<index_t, index_t> softmax_rows_of(const char* op, const var& x, const char* what = "input") {
    check_min_rank(op, x, 1, "[..., classes]", what);
    const index_t k = x.shape().dim(-1);
    return {x.numel() / k, k};
}
}  // namespace detail

// Softmax along the last dimension, any rank >= 1.
inline var softmax(const var& x) {
    const auto [rows, k] = detail::softmax_rows_of("softmax", x);
    tensor y = tensor::uninitialized(x.shape());
    kernels::softmax_rows(x.value().data(), y.data(), rows, k);
    tensor yv = y;
    return record("softmax", std::move(y), {x}, [yv, rows, k](const tensor& gy, grad_sink& g) {
        tensor gx = tensor::uninitialized(yv.shape());
        kernels::softmax_backward_rows(yv.data(), gy.data(), gx.data(), rows, k, 1.0f);
        g.add(0, std::move(gx));
    });
}

// log(softmax(x)) along the last dimension, without forming softmax first.
inline var log_softmax(const var& x) {
    const auto [rows, k] = detail::softmax_rows_of("log_softmax", x);
    tensor y = tensor::uninitialized(x.shape());
    kernels::log_softmax_rows(x.value().data(), y.data(), rows, k);
    tensor yv = y;
    return record("log_softmax", std::move(y), {x}, [yv, rows, k](const tensor& gy, grad_sink& g) {
        tensor gx = tensor::uninitialized(yv.shape());
        kernels::log_softmax_backward_rows(yv.data(), gy.data(), gx.data(), rows, k);
        g.add(0, std::move(gx));
    });
}

// Mean over the batch of -sum_k target_k * log softmax(logits)_k, with
// logits [N, K], one class index per row in labels, and the smoothed target
// (1 - s) * onehot(label) + s / K. Returns a scalar (shape [], like sum and
// mean). Labels are data: no gradient flows to them.
inline var cross_entropy(const var& logits, std::span<const std::int32_t> labels, float label_smoothing = 0.0f) {
    detail::check_rank("cross_entropy", logits, 2, "[N, classes]", "logits");
    const index_t n = logits.shape()[0], k = logits.shape()[1];
    if (static_cast<index_t>(labels.size()) != n)
        throw shape_error(fmt::format("cross_entropy: {} labels for logits {}, expected one label per row ({})",
                                      labels.size(), logits.shape(), n));
    if (!(label_smoothing >= 0.0f && label_smoothing < 1.0f))
        throw config_error(fmt::format("cross_entropy: label_smoothing is {}, expected 0 <= label_smoothing < 1",
                                       label_smoothing));
    for (std::size_t i = 0; i < labels.size(); ++i)
        if (labels[i] < 0 || labels[i] >= k)
            throw config_error(fmt::format("cross_entropy: labels[{}] is {}, expected a class index in [0, {})", i,
                                           labels[i], k));
    const float* x = logits.value().data();
    for (index_t i = 0; i < n * k; ++i)
        if (!std::isfinite(x[i]))
            throw numeric_error(fmt::format("cross_entropy: logits row {} holds {} at class {}, expected finite "
                                            "values (logits {})",
                                            i / k, x[i], i % k, logits.shape()));

    // Target weights: `off` on every class, `on` on the labelled one.
    const float off = label_smoothing / static_cast<float>(k), on = 1.0f - label_smoothing + off;
    tensor logp = tensor::uninitialized(logits.shape());
    kernels::log_softmax_rows(x, logp.data(), n, k);
    double total = 0;
    for (index_t r = 0; r < n; ++r) {
        const float* lr = logp.data() + r * k;
        double row = 0;
        for (index_t j = 0; j < k; ++j) row += lr[j];
        total -= off * row + (on - off) * static_cast<double>(lr[labels[static_cast<std::size_t>(r)]]);
    }
    tensor loss = tensor::scalar(static_cast<float>(total / static_cast<double>(n)));

    // d loss / d logits = (softmax - target) / N; the softmax is formed only when recording.
    if (any_requires_grad({logits}))
        for (float& v : logp) v = std::exp(v);
    std::vector<std::int32_t> lab(labels.begin(), labels.end());
    return record("cross_entropy", std::move(loss), {logits},
                  [p = std::move(logp), lab = std::move(lab), off, on, n, k](const tensor& gy, grad_sink& g) {
                      const float s = gy[0] / static_cast<float>(n);
                      tensor gx = tensor::uninitialized(p.shape());
                      for (index_t r = 0; r < n; ++r)
                          for (index_t j = 0; j < k; ++j) {
                              const float t = j == lab[static_cast<std::size_t>(r)] ? on : off;
                              gx[r * k + j] = s * (p[r * k + j] - t);
                          }
                      g.add(0, std::move(gx));
                  });
}

// Gumbel-softmax along the last dimension: y = softmax((logits + g) / tau),
// g = -log(-log(u)) with u uniform in (0, 1) drawn from gen, one per element
// in row-major order. hard = true returns the one-hot of each row's argmax
// (first on ties) in the forward pass and the gradient of the soft y in the
// backward pass (straight-through estimator, as FBNet and SNAS use it).
inline var gumbel_softmax(const var& logits, float tau, rng& gen, bool hard = false) {
    const auto [rows, k] = detail::softmax_rows_of("gumbel_softmax", logits, "logits");
    if (!(tau > 0.0f && std::isfinite(tau)))
        throw config_error(fmt::format("gumbel_softmax: temperature tau is {}, expected a finite tau > 0", tau));
    const float inv_tau = 1.0f / tau;
    tensor soft = tensor::uninitialized(logits.shape());
    const float* x = logits.value().data();
    for (index_t i = 0; i < soft.numel(); ++i) {
        const double noise = -std::log(-std::log(gen.uniform_open()));
        soft[i] = (x[i] + static_cast<float>(noise)) * inv_tau;
    }
    kernels::softmax_rows(soft.data(), soft.data(), rows, k);

    tensor y = soft;
    if (hard) {
        y = tensor::zeros(logits.shape());
        for (index_t r = 0; r < rows; ++r) {
            const float* sr = soft.data() + r * k;
            y[r * k + (std::max_element(sr, sr + k) - sr)] = 1.0f;
        }
    }
    return record("gumbel_softmax", std::move(y), {logits},
                  [soft, rows, k, inv_tau](const tensor& gy, grad_sink& g) {
                      tensor gx = tensor::uninitialized(soft.shape());
                      kernels::softmax_backward_rows(soft.data(), gy.data(), gx.data(), rows, k, inv_tau);
                      g.add(0, std::move(gx));
                  });
}

}  // namespace hwnas
