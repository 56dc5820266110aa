#pragma once
// Batch-norm kernels on channels-last buffers viewed as [rows, C]: per-channel
// moments, the fused normalize + affine + activation pass, and the two
// backward passes. Channels are contiguous, so inner loops run over c and
// vectorize; rows are split across threads. Reductions over rows run in fixed
// chunks whose partials are combined in chunk order, so results do not depend
// on the thread count. No autograd here.
//
// Act is a pointwise activation type with static f(z) and df(z, y) (see
// ops/activation.hpp); UsesOutput says df reads y (the saved output) instead of
// z (the pre-activation, recomputed from x: one FMA, cheaper than saving it).
#include <algorithm>
#include <type_traits>
#include <vector>

#include "hwnas/core/parallel.hpp"
#include "hwnas/tensor/shape.hpp"

namespace hwnas::kernels {

// Elements below which a row loop runs on the calling thread: waking the
// pool costs more than it saves.
inline constexpr index_t row_parallel_grain = index_t{1} << 15;
// Elements per reduction chunk: small inputs reduce in one chunk, large ones
// give every thread many chunks.
inline constexpr index_t reduction_chunk_elements = index_t{1} << 14;

// body(lo, hi) over row ranges covering [0, rows), in parallel when large.
template <class F>
void for_rows(index_t rows, index_t cols, F&& body) {
    if (rows * cols < row_parallel_grain)
        body(index_t{0}, rows);
    else
        parallel_for(0, rows, body);
}

// Per-channel loops run over spans of whole rows, at least 256 floats long,
// with the per-channel vectors replicated along the span: element j of a
// span is channel j % cols. Short rows (C = 16, 24) then do not pay loop
// overhead per row.
inline index_t span_rows(index_t cols) { return std::max<index_t>(1, (256 + cols - 1) / cols); }
inline index_t span_length(index_t cols) { return span_rows(cols) * cols; }

// v [cols] repeated over one span.
inline std::vector<float> replicate(const float* v, index_t cols) {
    std::vector<float> r(static_cast<std::size_t>(span_length(cols)));
    for (auto it = r.begin(); it != r.end(); it += cols) std::copy(v, v + cols, it);
    return r;
}

// body(i, len) for consecutive spans [i, i + len) of the flat [rows * cols]
// range, in parallel over rows when large.
template <class F>
void for_spans(index_t rows, index_t cols, F&& body) {
    const index_t m = span_rows(cols);
    for_rows(rows, cols, [&](index_t lo, index_t hi) {
        for (index_t r = lo; r < hi; r += m) body(r * cols, (std::min(hi, r + m) - r) * cols);
    });
}

// Adds sums over rows [lo, hi) to out[K * cols] (double). add_span(i, len,
// acc) adds the terms of elements [i, i + len) (one span) into the float
// accumulators acc[k * L + j] for element i + j (L = span_length). Each
// accumulator sums one element per span over blocks of 16 spans, so float
// rounding stays a few ulp; blocks are folded into out in double.
template <int K, class AddSpan>
void column_sums_serial(index_t lo, index_t hi, index_t cols, const AddSpan& add_span, double* out) {
    constexpr index_t block = 16;
    const AddSpan f = add_span;  // a local copy: stores to acc cannot alias its captures, so its loops vectorize
    const index_t m = span_rows(cols), L = m * cols;
    std::vector<float> acc(static_cast<std::size_t>(K * L));
    for (index_t r0 = lo; r0 < hi; r0 += block * m) {
        const index_t r1 = std::min(hi, r0 + block * m);
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (index_t r = r0; r < r1; r += m) f(r * cols, (std::min(r1, r + m) - r) * cols, acc.data());
        for (index_t k = 0; k < K; ++k)
            for (index_t j = 0; j < L; j += cols)
                for (index_t c = 0; c < cols; ++c) out[k * cols + c] += acc[static_cast<std::size_t>(k * L + j + c)];
    }
}

// out[K * cols] = the sums over all rows: fixed chunks in parallel, partials
// combined in chunk order.
template <int K, class AddSpan>
void column_sums(index_t rows, index_t cols, const AddSpan& add_span, double* out) {
    const index_t chunk = std::max<index_t>(1, reduction_chunk_elements / std::max<index_t>(cols, 1));
    const index_t chunks = (rows + chunk - 1) / chunk, width = K * cols;
    std::vector<double> part(static_cast<std::size_t>(chunks * width), 0.0);
    parallel_for(0, chunks, [&](index_t lo, index_t hi) {
        for (index_t i = lo; i < hi; ++i)
            column_sums_serial<K>(i * chunk, std::min(rows, (i + 1) * chunk), cols, add_span, part.data() + i * width);
    });
    std::fill(out, out + width, 0.0);
    for (index_t i = 0; i < chunks; ++i)
        for (index_t j = 0; j < width; ++j) out[j] += part[static_cast<std::size_t>(i * width + j)];
}

// Per-channel mean and biased variance of x [rows, C]. Sums are taken around
// row 0 (a sample of each channel) so a large mean does not cancel the variance.
inline void channel_moments(const float* x, index_t rows, index_t C, double* mean, double* var) {
    std::vector<double> s(static_cast<std::size_t>(2 * C));
    const std::vector<float> pivot = replicate(x, C);
    const index_t L = span_length(C);
    column_sums<2>(rows, C,
                   [x, piv = pivot.data(), L](index_t i, index_t len, float* __restrict acc) {
                       for (index_t j = 0; j < len; ++j) {
                           const float d = x[i + j] - piv[j];
                           acc[j] += d;
                           acc[L + j] += d * d;
                       }
                   },
                   s.data());
    const double n = static_cast<double>(rows);
    for (index_t c = 0; c < C; ++c) {
        const double m = s[static_cast<std::size_t>(c)] / n;
        mean[c] = x[c] + m;
        var[c] = std::max(0.0, s[static_cast<std::size_t>(C + c)] / n - m * m);
    }
}

// Per-channel constants of one batch-norm application.
struct bn_channels {
    const float* mean;   // batch mean (training) or running mean (eval)
    const float* scale;  // gamma / sqrt(var + eps)
    const float* beta;
};

// bn_channels replicated over one span (see span_rows).
struct bn_span_channels {
    std::vector<float> mean, scale, beta;
    bn_span_channels(const bn_channels& p, index_t C)
        : mean(replicate(p.mean, C)), scale(replicate(p.scale, C)), beta(replicate(p.beta, C)) {}
};

// The pre-activation z = (x - mean) * scale + beta; centring first keeps
// precision when |mean| >> std. Forward and backward share it so the
// activation's branch decisions agree.
inline float bn_pre_activation(float x, float mean, float scale, float beta) { return (x - mean) * scale + beta; }

// The activation::none case: y = z.
struct identity_act {
    static float f(float z) { return z; }
    static float df(float, float) { return 1.0f; }
};

// Elements per tile of the backward passes (a stack buffer of derivatives).
inline constexpr index_t bn_tile = 256;

// For each tile [t, t + n) of the span starting at element i: dz[j] =
// act'(z) of element i + t + j, then body(t, n, dz). The derivative gets its
// own loop because GCC (with the default -ftrapping-math) will not vectorize
// gy * act'(z) in one expression: it sinks the product into act's branches.
template <class Act, bool UsesOutput, class Body>
void bn_for_derivative_tiles(const float* x, const float* y, index_t i, index_t len, const float* mean,
                             const float* scale, const float* beta, Body&& body) {
    constexpr bool identity = std::is_same_v<Act, identity_act>;
    float dz[bn_tile];
    if constexpr (identity) std::fill(dz, dz + bn_tile, 1.0f);
    for (index_t t = 0; t < len; t += bn_tile) {
        const index_t n = std::min(bn_tile, len - t);
        if constexpr (!identity)
            for (index_t j = 0; j < n; ++j)
                dz[j] = Act::df(bn_pre_activation(x[i + t + j], mean[t + j], scale[t + j], beta[t + j]),
                                UsesOutput ? y[i + t + j] : 0.0f);
        body(t, n, static_cast<const float*>(dz));
    }
}

// y = act((x - mean) * scale + beta).
template <class Act>
void batch_norm_forward(const float* x, index_t rows, index_t C, const bn_channels& p, float* y) {
    const bn_span_channels s(p, C);
    for_spans(rows, C, [x, y, m = s.mean.data(), sc = s.scale.data(), b = s.beta.data()](index_t i, index_t len) {
        float* __restrict yp = y + i;
        for (index_t j = 0; j < len; ++j) yp[j] = Act::f(bn_pre_activation(x[i + j], m[j], sc[j], b[j]));
    });
}

// sums[c] = sum of gz, sums[C + c] = sum of gz * (x - mean), over rows, where gz
// = gy * act'(z) is d loss / dz: the gradients of beta and (times 1/std) gamma.
template <class Act, bool UsesOutput>
void batch_norm_backward_sums(const float* x, const float* y, const float* gy, index_t rows, index_t C,
                              const bn_channels& p, double* sums) {
    const bn_span_channels s(p, C);
    const index_t L = span_length(C);
    column_sums<2>(rows, C,
                   [x, y, gy, L, m = s.mean.data(), sc = s.scale.data(), b = s.beta.data()](
                       index_t i, index_t len, float* __restrict acc) {
                       bn_for_derivative_tiles<Act, UsesOutput>(
                           x, y, i, len, m, sc, b, [&](index_t t, index_t n, const float* __restrict dz) {
                               for (index_t j = 0; j < n; ++j) {
                                   const float gz = gy[i + t + j] * dz[j];
                                   acc[t + j] += gz;
                                   acc[L + t + j] += gz * (x[i + t + j] - m[t + j]);
                               }
                           });
                   },
                   sums);
}

// gx = a * gz + b * (x - mean) + d per channel: in training b and d carry the
// gradient through the batch mean and variance; in eval they are zero.
template <class Act, bool UsesOutput>
void batch_norm_backward_input(const float* x, const float* y, const float* gy, index_t rows, index_t C,
                               const bn_channels& p, const float* a, const float* b, const float* d, float* gx) {
    const bn_span_channels s(p, C);
    const std::vector<float> ar = replicate(a, C), br = replicate(b, C), dr = replicate(d, C);
    for_spans(rows, C,
              [x, y, gy, gx, m = s.mean.data(), sc = s.scale.data(), be = s.beta.data(), a = ar.data(),
               b = br.data(), d = dr.data()](index_t i, index_t len) {
                  bn_for_derivative_tiles<Act, UsesOutput>(
                      x, y, i, len, m, sc, be, [&](index_t t, index_t n, const float* __restrict dz) {
                          float* __restrict g = gx + i + t;
                          for (index_t j = 0; j < n; ++j)
                              g[j] = a[t + j] * (gy[i + t + j] * dz[j]) + b[t + j] * (x[i + t + j] - m[t + j]) +
                                     d[t + j];
                      });
              });
}

}  // namespace hwnas::kernels
