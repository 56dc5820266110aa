#pragma once
// Pooling kernels on NHWC buffers: max and average 2-d pooling (square
// kernel, stride, -inf/zero padding) and global average pooling. No autograd.
//
// The 2-d kernels work on whole rows: for one output row and one window
// offset (kh, kw), the output pixels and the input pixels they read form
// matched runs; with stride 1 each is one contiguous run of (pixels x C)
// floats, so the inner loops are long and vectorize well. Backward passes
// gather the same way per input row (each input element sums the windows
// that cover it, in a fixed (kh, kw) order): no write conflicts between
// threads, deterministic sums. Rows are split across threads.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "hwnas/ops/kernels/batch_norm.hpp"  // for_rows, column_sums_serial

namespace hwnas::kernels {

struct pool_geometry {
    index_t n, h, w, c;  // input [n, h, w, c]
    index_t kernel, stride, padding;
    index_t ho, wo;  // output [n, ho, wo, c]

    // The input row read by output row oh at window row kh (may be outside the input).
    index_t input_row(index_t oh, index_t kh) const { return oh * stride - padding + kh; }
    // The output row that reads input row ih at window row kh, or -1 if none does.
    index_t output_row(index_t ih, index_t kh) const {
        const index_t t = ih + padding - kh;
        return t < 0 || t % stride != 0 || t / stride >= ho ? -1 : t / stride;
    }
    // Averaging divisor of window (oh, ow): the full window, or its part inside the input.
    index_t divisor(index_t oh, index_t ow, bool count_include_pad) const {
        if (count_include_pad) return kernel * kernel;
        auto inside = [this](index_t origin, index_t extent) {
            return std::min(extent, origin + kernel) - std::max<index_t>(0, origin);
        };
        return inside(oh * stride - padding, h) * inside(ow * stride - padding, w);
    }
    // Calls f(o, i, len) for the runs that pair output-row floats [o, o + len)
    // with input-row floats [i, i + len) at window column kw: the output
    // columns whose window column kw lies inside the input.
    template <class F>
    void for_column_runs(index_t kw, F&& f) const {
        const index_t lo = padding - kw, hi = w - 1 + padding - kw;  // ow * stride must lie in [lo, hi]
        if (hi < 0) return;
        const index_t ob = lo <= 0 ? 0 : (lo + stride - 1) / stride, oe = std::min(wo, hi / stride + 1);
        if (ob >= oe) return;
        if (stride == 1) {
            f(ob * c, (ob - lo) * c, (oe - ob) * c);
            return;
        }
        for (index_t ow = ob; ow < oe; ++ow) f(ow * c, (ow * stride - lo) * c, c);
    }
};

// y = max over each window; with SaveArgmax, arg = the winner's position in
// its window (kh * kernel + kw; the first one on ties). NaN propagates.
template <bool SaveArgmax>
void max_pool2d_forward(const float* x, const pool_geometry& g, float* y, std::int32_t* arg) {
    const index_t C = g.c, row_out = g.wo * C, row_in = g.w * C;
    for_rows(g.n * g.ho, row_out * g.kernel * g.kernel, [=, &g](index_t lo, index_t hi) {
        for (index_t row = lo; row < hi; ++row) {
            const index_t n = row / g.ho, oh = row % g.ho;
            float* __restrict yr = y + row * row_out;
            std::int32_t* __restrict ar = SaveArgmax ? arg + row * row_out : nullptr;
            std::fill(yr, yr + row_out, -std::numeric_limits<float>::infinity());
            if constexpr (SaveArgmax) {
                // The first window element inside the input wins when every element is -inf.
                const index_t kh0 = std::max<index_t>(0, -g.input_row(oh, 0));
                for (index_t ow = 0; ow < g.wo; ++ow) {
                    const index_t kw0 = std::max<index_t>(0, g.padding - ow * g.stride);
                    std::fill(ar + ow * C, ar + (ow + 1) * C, static_cast<std::int32_t>(kh0 * g.kernel + kw0));
                }
            }
            for (index_t kh = 0; kh < g.kernel; ++kh) {
                const index_t ih = g.input_row(oh, kh);
                if (ih < 0 || ih >= g.h) continue;
                const float* __restrict xr = x + (n * g.h + ih) * row_in;
                for (index_t kw = 0; kw < g.kernel; ++kw) {
                    const auto idx = static_cast<std::int32_t>(kh * g.kernel + kw);
                    g.for_column_runs(kw, [&](index_t o, index_t i, index_t len) {
                        for (index_t j = 0; j < len; ++j) {
                            const float v = xr[i + j];
                            const bool take = (v > yr[o + j]) | (v != v);  // | : no branch
                            yr[o + j] = take ? v : yr[o + j];
                            if constexpr (SaveArgmax) ar[o + j] = take ? idx : ar[o + j];
                        }
                    });
                }
            }
        }
    });
}

// The backward passes' walk over input rows [lo, hi) of gx: each row is
// zeroed, then body(gr, kh, r, oh) runs for every window row kh at which an
// output row oh (r = n * ho + oh over the batch) reads it, kh in order.
template <class Body>
void for_gather_rows(const pool_geometry& g, float* gx, index_t lo, index_t hi, Body&& body) {
    const index_t row_in = g.w * g.c;
    for (index_t row = lo; row < hi; ++row) {
        const index_t n = row / g.h, ih = row % g.h;
        float* __restrict gr = gx + row * row_in;
        std::fill(gr, gr + row_in, 0.0f);
        for (index_t kh = 0; kh < g.kernel; ++kh) {
            const index_t oh = g.output_row(ih, kh);
            if (oh >= 0) body(gr, kh, n * g.ho + oh, oh);
        }
    }
}

// gx = sum of gy over the windows whose argmax is this element.
inline void max_pool2d_backward(const float* gy, const std::int32_t* arg, const pool_geometry& g, float* gx) {
    const index_t row_out = g.wo * g.c;
    for_rows(g.n * g.h, g.w * g.c * g.kernel, [=, &g](index_t lo, index_t hi) {
        for_gather_rows(g, gx, lo, hi, [&](float* __restrict gr, index_t kh, index_t r, index_t) {
            const float* __restrict gyr = gy + r * row_out;
            const std::int32_t* __restrict ar = arg + r * row_out;
            for (index_t kw = 0; kw < g.kernel; ++kw) {
                const auto idx = static_cast<std::int32_t>(kh * g.kernel + kw);
                g.for_column_runs(kw, [&](index_t o, index_t i, index_t len) {
                    for (index_t j = 0; j < len; ++j) gr[i + j] += ar[o + j] == idx ? gyr[o + j] : 0.0f;
                });
            }
        });
    });
}

// y = mean over each window (divisor from pool_geometry::divisor).
inline void avg_pool2d_forward(const float* x, const pool_geometry& g, bool count_include_pad, float* y) {
    const index_t C = g.c, row_out = g.wo * C, row_in = g.w * C;
    for_rows(g.n * g.ho, row_out * g.kernel * g.kernel, [=, &g](index_t lo, index_t hi) {
        for (index_t row = lo; row < hi; ++row) {
            const index_t n = row / g.ho, oh = row % g.ho;
            float* __restrict yr = y + row * row_out;
            std::fill(yr, yr + row_out, 0.0f);
            for (index_t kh = 0; kh < g.kernel; ++kh) {
                const index_t ih = g.input_row(oh, kh);
                if (ih < 0 || ih >= g.h) continue;
                const float* __restrict xr = x + (n * g.h + ih) * row_in;
                for (index_t kw = 0; kw < g.kernel; ++kw)
                    g.for_column_runs(kw, [&](index_t o, index_t i, index_t len) {
                        for (index_t j = 0; j < len; ++j) yr[o + j] += xr[i + j];
                    });
            }
            for (index_t ow = 0; ow < g.wo; ++ow) {
                const float inv = 1.0f / static_cast<float>(g.divisor(oh, ow, count_include_pad));
                for (index_t c = 0; c < C; ++c) yr[ow * C + c] *= inv;
            }
        }
    });
}

// gx = sum of gy / divisor over the windows that cover this element.
inline void avg_pool2d_backward(const float* gy, const pool_geometry& g, bool count_include_pad, float* gx) {
    const index_t C = g.c, row_out = g.wo * C;
    for_rows(g.n * g.h, g.w * C * g.kernel, [=, &g](index_t lo, index_t hi) {
        std::vector<float> scaled(static_cast<std::size_t>(row_out));  // gy / divisor of one output row
        float* __restrict sr = scaled.data();
        for_gather_rows(g, gx, lo, hi, [&](float* __restrict gr, index_t, index_t r, index_t oh) {
            const float* __restrict gyr = gy + r * row_out;
            for (index_t ow = 0; ow < g.wo; ++ow) {
                const float inv = 1.0f / static_cast<float>(g.divisor(oh, ow, count_include_pad));
                for (index_t c = 0; c < C; ++c) sr[ow * C + c] = gyr[ow * C + c] * inv;
            }
            for (index_t kw = 0; kw < g.kernel; ++kw)
                g.for_column_runs(kw, [&](index_t o, index_t i, index_t len) {
                    for (index_t j = 0; j < len; ++j) gr[i + j] += sr[o + j];
                });
        });
    });
}

// y [n, C] = mean over the hw positions of x [n, hw, C], summed as in column_sums_serial.
inline void global_avg_pool_forward(const float* x, index_t n, index_t hw, index_t C, float* y) {
    const index_t L = span_length(C);
    for_rows(n, hw * C, [&](index_t lo, index_t hi) {
        std::vector<double> s(static_cast<std::size_t>(C));
        for (index_t k = lo; k < hi; ++k) {
            const float* xk = x + k * hw * C;
            std::fill(s.begin(), s.end(), 0.0);
            column_sums_serial<1>(0, hw, C,
                                  [xk, L](index_t i, index_t len, float* __restrict acc) {
                                      for (index_t j = 0; j < len; ++j) acc[j] += xk[i + j];
                                  },
                                  s.data());
            for (index_t c = 0; c < C; ++c)
                y[k * C + c] = static_cast<float>(s[static_cast<std::size_t>(c)] / static_cast<double>(hw));
        }
    });
}

// gx [n, hw, C] = gy [n, C] / hw at every position.
inline void global_avg_pool_backward(const float* gy, index_t n, index_t hw, index_t C, float* gx) {
    const float inv = 1.0f / static_cast<float>(hw);
    for_rows(n * hw, C, [&](index_t lo, index_t hi) {
        for (index_t r = lo; r < hi; ++r) {
            const float* g = gy + (r / hw) * C;
            for (index_t c = 0; c < C; ++c) gx[r * C + c] = g[c] * inv;
        }
    });
}

}  // namespace hwnas::kernels
