#pragma once
// Pooling kernels on NHWC buffers: max and average 2-d pooling (square
// kernel, stride, zero/-inf padding) and global average pooling. Inner loops
// run over the contiguous channels and vectorize; output (or input) rows are
// split across threads. Backward passes gather: each input element sums the
// windows that cover it in a fixed order, so there are no write conflicts
// between threads and no zero-fill pass. No autograd here.
#include <cstdint>
#include <limits>
#include <vector>

#include "hwnas/ops/kernels/batch_norm.hpp"  // for_rows, column_sums_serial

namespace hwnas::kernels {

struct pool_geometry {
    index_t n, h, w, c;  // input [n, h, w, c]
    index_t kernel, stride, padding;
    index_t ho, wo;  // output [n, ho, wo, c]

    // First input row (column) of output row oh's (column ow's) window; may be negative (padding).
    index_t origin_h(index_t oh) const { return oh * stride - padding; }
    index_t origin_w(index_t ow) const { return ow * stride - padding; }
    // The window clipped to the input: [begin, end) along one axis.
    static index_t clip_begin(index_t origin) { return std::max<index_t>(0, origin); }
    index_t clip_end(index_t origin, index_t extent) const { return std::min(extent, origin + kernel); }
    // The outputs whose windows cover input coordinate i: [begin, end) along one axis.
    index_t cover_begin(index_t i) const {
        const index_t first = i + padding - kernel + 1;
        return first <= 0 ? 0 : (first + stride - 1) / stride;
    }
    index_t cover_end(index_t i, index_t out_extent) const { return std::min(out_extent, (i + padding) / stride + 1); }
    // Averaging divisor of window (oh, ow): the full window, or its part inside the input.
    index_t divisor(index_t oh, index_t ow, bool count_include_pad) const {
        if (count_include_pad) return kernel * kernel;
        const index_t h0 = origin_h(oh), w0 = origin_w(ow);
        return (clip_end(h0, h) - clip_begin(h0)) * (clip_end(w0, w) - clip_begin(w0));
    }
};

// y = max over each window; with SaveArgmax, arg = the winner's position in
// its window (kh * kernel + kw; the first one on ties). NaN propagates.
template <bool SaveArgmax>
void max_pool2d_forward(const float* x, const pool_geometry& g, float* y, std::int32_t* arg) {
    const index_t C = g.c;
    for_rows(g.n * g.ho, g.wo * C * g.kernel * g.kernel, [&](index_t lo, index_t hi) {
        for (index_t row = lo; row < hi; ++row) {
            const index_t n = row / g.ho, h0 = g.origin_h(row % g.ho);
            for (index_t ow = 0; ow < g.wo; ++ow) {
                const index_t w0 = g.origin_w(ow), o = (row * g.wo + ow) * C;
                float* __restrict yo = y + o;
                std::int32_t* __restrict ao = arg + (SaveArgmax ? o : 0);
                const auto first = static_cast<std::int32_t>((g.clip_begin(h0) - h0) * g.kernel + g.clip_begin(w0) - w0);
                for (index_t c = 0; c < C; ++c) yo[c] = -std::numeric_limits<float>::infinity();
                if constexpr (SaveArgmax)
                    for (index_t c = 0; c < C; ++c) ao[c] = first;
                for (index_t ih = g.clip_begin(h0); ih < g.clip_end(h0, g.h); ++ih)
                    for (index_t iw = g.clip_begin(w0); iw < g.clip_end(w0, g.w); ++iw) {
                        const float* __restrict xi = x + ((n * g.h + ih) * g.w + iw) * C;
                        const auto idx = static_cast<std::int32_t>((ih - h0) * g.kernel + iw - w0);
                        for (index_t c = 0; c < C; ++c) {
                            const bool take = xi[c] > yo[c] || xi[c] != xi[c];
                            yo[c] = take ? xi[c] : yo[c];
                            if constexpr (SaveArgmax) ao[c] = take ? idx : ao[c];
                        }
                    }
            }
        }
    });
}

// gx = sum of gy over the windows whose argmax is this element.
inline void max_pool2d_backward(const float* gy, const std::int32_t* arg, const pool_geometry& g, float* gx) {
    const index_t C = g.c;
    for_rows(g.n * g.h, g.w * C, [&](index_t lo, index_t hi) {
        for (index_t row = lo; row < hi; ++row) {
            const index_t n = row / g.h, ih = row % g.h;
            for (index_t iw = 0; iw < g.w; ++iw) {
                float* __restrict gi = gx + (row * g.w + iw) * C;
                for (index_t c = 0; c < C; ++c) gi[c] = 0.0f;
                for (index_t oh = g.cover_begin(ih); oh < g.cover_end(ih, g.ho); ++oh)
                    for (index_t ow = g.cover_begin(iw); ow < g.cover_end(iw, g.wo); ++ow) {
                        const index_t o = ((n * g.ho + oh) * g.wo + ow) * C;
                        const auto idx = static_cast<std::int32_t>((ih - g.origin_h(oh)) * g.kernel + iw - g.origin_w(ow));
                        const float* __restrict go = gy + o;
                        const std::int32_t* __restrict ao = arg + o;
                        for (index_t c = 0; c < C; ++c) gi[c] += ao[c] == idx ? go[c] : 0.0f;
                    }
            }
        }
    });
}

// y = mean over each window (divisor from pool_geometry::divisor).
inline void avg_pool2d_forward(const float* x, const pool_geometry& g, bool count_include_pad, float* y) {
    const index_t C = g.c;
    for_rows(g.n * g.ho, g.wo * C * g.kernel * g.kernel, [&](index_t lo, index_t hi) {
        for (index_t row = lo; row < hi; ++row) {
            const index_t n = row / g.ho, oh = row % g.ho, h0 = g.origin_h(oh);
            for (index_t ow = 0; ow < g.wo; ++ow) {
                const index_t w0 = g.origin_w(ow);
                float* __restrict yo = y + (row * g.wo + ow) * C;
                for (index_t c = 0; c < C; ++c) yo[c] = 0.0f;
                for (index_t ih = g.clip_begin(h0); ih < g.clip_end(h0, g.h); ++ih)
                    for (index_t iw = g.clip_begin(w0); iw < g.clip_end(w0, g.w); ++iw) {
                        const float* __restrict xi = x + ((n * g.h + ih) * g.w + iw) * C;
                        for (index_t c = 0; c < C; ++c) yo[c] += xi[c];
                    }
                const float inv = 1.0f / static_cast<float>(g.divisor(oh, ow, count_include_pad));
                for (index_t c = 0; c < C; ++c) yo[c] *= inv;
            }
        }
    });
}

// gx = sum of gy / divisor over the windows that cover this element.
inline void avg_pool2d_backward(const float* gy, const pool_geometry& g, bool count_include_pad, float* gx) {
    const index_t C = g.c;
    for_rows(g.n * g.h, g.w * C, [&](index_t lo, index_t hi) {
        for (index_t row = lo; row < hi; ++row) {
            const index_t n = row / g.h, ih = row % g.h;
            for (index_t iw = 0; iw < g.w; ++iw) {
                float* __restrict gi = gx + (row * g.w + iw) * C;
                for (index_t c = 0; c < C; ++c) gi[c] = 0.0f;
                for (index_t oh = g.cover_begin(ih); oh < g.cover_end(ih, g.ho); ++oh)
                    for (index_t ow = g.cover_begin(iw); ow < g.cover_end(iw, g.wo); ++ow) {
                        const float* __restrict go = gy + ((n * g.ho + oh) * g.wo + ow) * C;
                        const float inv = 1.0f / static_cast<float>(g.divisor(oh, ow, count_include_pad));
                        for (index_t c = 0; c < C; ++c) gi[c] += go[c] * inv;
                    }
            }
        }
    });
}

// y [n, C] = mean over the hw positions of x [n, hw, C], summed as in column_sums_serial.
inline void global_avg_pool_forward(const float* x, index_t n, index_t hw, index_t C, float* y) {
    for_rows(n, hw * C, [&](index_t lo, index_t hi) {
        std::vector<double> s(static_cast<std::size_t>(C));
        for (index_t i = lo; i < hi; ++i) {
            const float* xi = x + i * hw * C;
            std::fill(s.begin(), s.end(), 0.0);
            column_sums_serial<1>(0, hw, C,
                                  [xi, C](index_t r, float* __restrict acc) {
                                      for (index_t c = 0; c < C; ++c) acc[c] += xi[r * C + c];
                                  },
                                  s.data());
            for (index_t c = 0; c < C; ++c) y[i * C + c] = static_cast<float>(s[static_cast<std::size_t>(c)] / static_cast<double>(hw));
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
