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

// Adds sums over rows [lo, hi) to out[K * cols] (double): add_row(r, acc)
// adds row r's terms into the float accumulators acc[K * cols]. Rows are
// summed in float over blocks of 8 (rounding stays a few ulp), the block sums
// in double.
template <int K, class AddRow>
void column_sums_serial(index_t lo, index_t hi, index_t cols, const AddRow& add_row, double* out) {
    constexpr index_t block = 8;
    const AddRow f = add_row;  // a local copy: stores to acc cannot alias its captures, so its loops vectorize
    std::vector<float> acc(static_cast<std::size_t>(K * cols));
    for (index_t r0 = lo; r0 < hi; r0 += block) {
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (index_t r = r0; r < std::min(hi, r0 + block); ++r) f(r, acc.data());
        for (index_t i = 0; i < K * cols; ++i) out[i] += acc[static_cast<std::size_t>(i)];
    }
}

// out[K * cols] = the sums over all rows: fixed chunks in parallel, partials
// combined in chunk order.
template <int K, class AddRow>
void column_sums(index_t rows, index_t cols, const AddRow& add_row, double* out) {
    const index_t chunk = std::max<index_t>(1, reduction_chunk_elements / std::max<index_t>(cols, 1));
    const index_t chunks = (rows + chunk - 1) / chunk, width = K * cols;
    std::vector<double> part(static_cast<std::size_t>(chunks * width), 0.0);
    parallel_for(0, chunks, [&](index_t lo, index_t hi) {
        for (index_t i = lo; i < hi; ++i)
            column_sums_serial<K>(i * chunk, std::min(rows, (i + 1) * chunk), cols, add_row, part.data() + i * width);
    });
    std::fill(out, out + width, 0.0);
    for (index_t i = 0; i < chunks; ++i)
        for (index_t j = 0; j < width; ++j) out[j] += part[static_cast<std::size_t>(i * width + j)];
}

// Per-channel mean and biased variance of x [rows, C]. Sums are taken around
// row 0 (a sample of each channel) so a large mean does not cancel the variance.
inline void channel_moments(const float* x, index_t rows, index_t C, double* mean, double* var) {
    std::vector<double> s(static_cast<std::size_t>(2 * C));
    column_sums<2>(rows, C,
                   [x, C](index_t r, float* __restrict acc) {
                       const float* xr = x + r * C;
                       for (index_t c = 0; c < C; ++c) {
                           const float d = xr[c] - x[c];
                           acc[c] += d;
                           acc[C + c] += d * d;
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

// The pre-activation z = (x - mean) * scale + beta; centring first keeps
// precision when |mean| >> std. Forward and backward share it so the
// activation's branch decisions agree.
inline float bn_pre_activation(float x, const bn_channels& p, index_t c) {
    return (x - p.mean[c]) * p.scale[c] + p.beta[c];
}

// The activation::none case: y = z.
struct identity_act {
    static float f(float z) { return z; }
    static float df(float, float) { return 1.0f; }
};

// Channels per tile of the backward passes (a stack buffer of derivatives).
inline constexpr index_t bn_tile = 64;

// For each tile of row r's channels: dz[j] = act'(z) for channel c0 + j, then
// body(c0, n, dz). The derivative gets its own loop because GCC (with the
// default -ftrapping-math) will not vectorize gy * act'(z) in one expression:
// it sinks the product into the branches of act'.
template <class Act, bool UsesOutput, class Body>
void bn_for_derivative_tiles(const float* x, const float* y, index_t r, index_t C, const bn_channels& p, Body&& body) {
    constexpr bool identity = std::is_same_v<Act, identity_act>;
    float dz[bn_tile];
    if constexpr (identity) std::fill(dz, dz + bn_tile, 1.0f);
    for (index_t c0 = 0; c0 < C; c0 += bn_tile) {
        const index_t n = std::min(bn_tile, C - c0), i0 = r * C + c0;
        if constexpr (!identity)
            for (index_t j = 0; j < n; ++j)
                dz[j] = Act::df(bn_pre_activation(x[i0 + j], p, c0 + j), UsesOutput ? y[i0 + j] : 0.0f);
        body(c0, n, static_cast<const float*>(dz));
    }
}

// y = act((x - mean) * scale + beta).
template <class Act>
void batch_norm_forward(const float* x, index_t rows, index_t C, const bn_channels& p, float* y) {
    for_rows(rows, C, [=](index_t lo, index_t hi) {
        const float* __restrict xp = x;
        float* __restrict yp = y;
        for (index_t r = lo; r < hi; ++r)
            for (index_t c = 0; c < C; ++c) yp[r * C + c] = Act::f(bn_pre_activation(xp[r * C + c], p, c));
    });
}

// sums[c] = sum of gz, sums[C + c] = sum of gz * (x - mean), over rows, where gz
// = gy * act'(z) is d loss / dz: the gradients of beta and (times 1/std) gamma.
template <class Act, bool UsesOutput>
void batch_norm_backward_sums(const float* x, const float* y, const float* gy, index_t rows, index_t C,
                              const bn_channels& p, double* sums) {
    column_sums<2>(rows, C,
                   [=](index_t r, float* __restrict acc) {
                       bn_for_derivative_tiles<Act, UsesOutput>(
                           x, y, r, C, p, [&](index_t c0, index_t n, const float* __restrict dz) {
                               const index_t i0 = r * C + c0;
                               for (index_t j = 0; j < n; ++j) {
                                   const float gz = gy[i0 + j] * dz[j];
                                   acc[c0 + j] += gz;
                                   acc[C + c0 + j] += gz * (x[i0 + j] - p.mean[c0 + j]);
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
    for_rows(rows, C, [=](index_t lo, index_t hi) {
        for (index_t r = lo; r < hi; ++r)
            bn_for_derivative_tiles<Act, UsesOutput>(
                x, y, r, C, p, [&](index_t c0, index_t n, const float* __restrict dz) {
                    const index_t i0 = r * C + c0;
                    float* __restrict g = gx + i0;
                    for (index_t j = 0; j < n; ++j) {
                        const index_t c = c0 + j;
                        g[j] = a[c] * (gy[i0 + j] * dz[j]) + b[c] * (x[i0 + j] - p.mean[c]) + d[c];
                    }
                });
    });
}

}  // namespace hwnas::kernels
