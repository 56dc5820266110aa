#pragma once
// Depthwise convolution (groups == cin == cout) with direct loops. In NHWC a
// pixel's channels are contiguous, so the innermost loops run over channels
// and vectorize. Each output row reads kh input rows; rows that fall in the
// vertical padding point to a zero row, so only the left and right border
// columns need per-tap bounds. The interior of a row runs a kernel specialized
// for (kernel, stride) in {3,5,7} x {1,2}, chosen by one runtime switch; other
// shapes, dilation and the border columns use generic per-pixel loops.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "hwnas/core/parallel.hpp"
#include "hwnas/ops/kernels/conv_common.hpp"

namespace hwnas::kernels {

// Channels per float8 block of the specialized kernels. Their accumulators
// are float8 values; left to the SLP vectorizer, the same tiles written with
// float arrays compiled to scalar code for some (kernel, tile) sizes.
inline constexpr int depthwise_lanes = 8;
// Output pixels per register tile of the forward kernel: 8 accumulators plus
// k weights plus one input vector fit the 16 AVX registers for k <= 5.
template <int K>
inline constexpr int depthwise_pixels = K <= 5 ? 8 : 4;

// y[i] += a[i] * b[i]
inline void mul_add_inplace(float* __restrict y, const float* __restrict a, const float* __restrict b,
                            std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] += a[i] * b[i];
}

// The kh input rows that output row r (= n*oh + oy) reads; zero_row where a
// row lies in the padding.
inline void depthwise_input_rows(const conv_geometry& g, const float* x, std::int64_t r, const float* zero_row,
                                 const float** rows) {
    const std::int64_t n = r / g.oh, oy = r % g.oh;
    for (std::int64_t i = 0; i < g.kh; ++i) {
        const std::int64_t iy = oy * g.stride - g.pad_h + i * g.dil;
        rows[i] = iy >= 0 && iy < g.h ? x + (n * g.h + iy) * g.w * g.cin : zero_row;
    }
}

// Output columns whose taps all lie inside the input row.
inline tap_range depthwise_interior(const conv_geometry& g) {
    return valid_taps(-g.pad_w, g.stride, g.ow, g.w - (g.kw - 1) * g.dil);
}

// For output rows [lo, hi): border(rows, r, ox) for each column outside
// `interior`, and interior_fn(rows, r, first, last) once for the columns inside.
template <class Border, class Interior>
void depthwise_for_rows(const conv_geometry& g, const float* x, const float* zero_row, tap_range interior,
                        std::int64_t lo, std::int64_t hi, Border&& border, Interior&& interior_fn) {
    std::vector<const float*> rows(static_cast<std::size_t>(g.kh));
    for (std::int64_t r = lo; r < hi; ++r) {
        depthwise_input_rows(g, x, r, zero_row, rows.data());
        for (std::int64_t ox = 0; ox < interior.lo; ++ox) border(rows.data(), r, ox);
        if (interior.hi > interior.lo) interior_fn(rows.data(), r, interior.lo, interior.hi);
        for (std::int64_t ox = interior.hi; ox < g.ow; ++ox) border(rows.data(), r, ox);
    }
}

// The one switch from (kernel, stride) to Op's specialized row kernel; null
// when there is none (then every column takes the generic path).
template <class Op>
auto depthwise_specialized(const conv_geometry& g) -> decltype(&Op::template run<3, 1>) {
    if (g.kh != g.kw || g.dil != 1 || g.stride > 2) return nullptr;
    switch (g.kh * 10 + g.stride) {
        case 31: return &Op::template run<3, 1>;
        case 32: return &Op::template run<3, 2>;
        case 51: return &Op::template run<5, 1>;
        case 52: return &Op::template run<5, 2>;
        case 71: return &Op::template run<7, 1>;
        case 72: return &Op::template run<7, 2>;
        default: return nullptr;
    }
}

// Inputs above this many bytes are read with a software prefetch of the
// next output row's new input row (depthwise_forward). Measured on 28x28x96-
// 56x56x144 at batch 64: 1.05-1.25x at 1 and 2 threads, where the hardware
// prefetchers miss the tile's strided walk; on inputs that stay in cache
// (64x28x16, 3 MB; batch 4) the extra instruction cost 3-9%.
inline constexpr std::int64_t depthwise_prefetch_bytes = std::int64_t{8} << 20;

// Forward over the interior of one row: `count` outputs whose first tap reads
// input column ix0. next_row (bytes, 0: none): the distance from the last
// tap row to the input row the next output row adds, prefetched a tile ahead.
struct depthwise_forward_row {
    template <int K, int S>
    static void run(const float* const* rows, std::int64_t c, std::int64_t ix0, std::int64_t count, const float* w,
                    const float* bias, float* y, std::int64_t next_row) {
        constexpr int P = depthwise_pixels<K>;
        if (count < P) {
            for (std::int64_t o = 0; o < count; ++o) pixels<K, S, 1>(rows, c, ix0 + o * S, w, bias, y + o * c, 0);
            return;
        }
        // The last tile ends at the last pixel, overlapping the one before it
        // (recomputed pixels get the same values): no slow remainder loop.
        for (std::int64_t o = 0; o < count; o += P) {
            const std::int64_t first = std::min(o, count - P);
            pixels<K, S, P>(rows, c, ix0 + first * S, w, bias, y + first * c, next_row);
        }
    }

    // P output pixels, all channels. Channels run inside the pixels so that
    // the few input pixels and weights a tile reads stay in L1.
    template <int K, int S, int P>
    static void pixels(const float* const* rows, std::int64_t c, std::int64_t ix, const float* w, const float* bias,
                       float* y, std::int64_t next_row) {
        std::int64_t c0 = 0;
        for (; c0 + depthwise_lanes <= c; c0 += depthwise_lanes)
            tile<K, S, P, float8>(rows, c, ix, c0, w, bias, y, next_row);
        for (; c0 < c; ++c0) tile<K, S, P, float>(rows, c, ix, c0, w, bias, y, next_row);
    }

    // P output pixels x the channels of one T (from c0), accumulated in
    // registers. Each input pixel of the tile is loaded once and feeds every
    // output that reads it (the index tests resolve at compile time once the
    // loops are unrolled).
    template <int K, int S, int P, class T>
    static void tile(const float* const* rows, std::int64_t c, std::int64_t ix, std::int64_t c0, const float* w,
                     const float* bias, float* y, std::int64_t next_row) {
        // Every loop over a register array is unrolled so the arrays live in
        // registers.
        T acc[P], b;
        load(b, bias + c0);
#pragma GCC unroll 8
        for (int p = 0; p < P; ++p) acc[p] = b;
        if (next_row != 0) {
            // An address, not a pointer: below the last row it may lie past
            // the buffer (a prefetch never faults).
            const auto ahead = reinterpret_cast<std::uintptr_t>(rows[K - 1]) +
                               static_cast<std::uintptr_t>(((ix + P * S) * c + c0) * std::int64_t{sizeof(float)} +
                                                           next_row);
            __builtin_prefetch(reinterpret_cast<const void*>(ahead));
        }
        for (int i = 0; i < K; ++i) {
            const float* xr = rows[i] + ix * c + c0;
            T wv[K];
#pragma GCC unroll 8
            for (int j = 0; j < K; ++j) load(wv[j], w + (i * K + j) * c + c0);
#pragma GCC unroll 32
            for (int q = 0; q < (P - 1) * S + K; ++q) {
                T xv;
                load(xv, xr + q * c);
#pragma GCC unroll 8
                for (int j = 0; j < K; ++j) {
                    const int d = q - j;
                    if (d >= 0 && d % S == 0 && d / S < P) acc[d / S] += xv * wv[j];
                }
            }
        }
#pragma GCC unroll 8
        for (int p = 0; p < P; ++p) store(y + p * c + c0, acc[p]);
    }
};

// Weight gradient over the interior of one row: gw[i, j, :] += sum over the
// `count` outputs of gy * x.
struct depthwise_weight_row {
    template <int K, int S>
    static void run(const float* const* rows, std::int64_t c, std::int64_t ix0, std::int64_t count, const float* gy,
                    float* gw) {
        std::int64_t c0 = 0;
        for (; c0 + depthwise_lanes <= c; c0 += depthwise_lanes) block<K, S, float8>(rows, c, ix0, count, c0, gy, gw);
        for (; c0 < c; ++c0) block<K, S, float>(rows, c, ix0, count, c0, gy, gw);
    }

    // For each kernel row i, its K taps x the channels of one T accumulate in
    // registers along the output row.
    template <int K, int S, class T>
    static void block(const float* const* rows, std::int64_t c, std::int64_t ix0, std::int64_t count, std::int64_t c0,
                      const float* gy, float* gw) {
        for (int i = 0; i < K; ++i) {
            T acc[K] = {};  // loops over it are unrolled so it lives in registers
            const float* xr = rows[i] + ix0 * c + c0;
            for (std::int64_t o = 0; o < count; ++o) {
                T g, xv;
                load(g, gy + o * c + c0);
#pragma GCC unroll 8
                for (int j = 0; j < K; ++j) {
                    load(xv, xr + (o * S + j) * c);
                    acc[j] += g * xv;
                }
            }
#pragma GCC unroll 8
            for (int j = 0; j < K; ++j) {
                T sum;
                load(sum, gw + (i * K + j) * c + c0);
                store(gw + (i * K + j) * c + c0, sum + acc[j]);
            }
        }
    }
};

// y = depthwise_conv(x, w) + bias (bias may be null); w is [kh, kw, 1, c].
inline void depthwise_forward(const conv_geometry& g, const float* x, const float* w, const float* bias, float* y) {
    const std::int64_t c = g.cin;
    const std::int64_t input_bytes = g.n * g.h * g.w * c * static_cast<std::int64_t>(sizeof(float));
    const std::int64_t next_row =
        input_bytes > depthwise_prefetch_bytes ? g.stride * g.w * c * static_cast<std::int64_t>(sizeof(float)) : 0;
    const std::vector<float> zeros(static_cast<std::size_t>(g.w * c), 0.0f);  // the zero row, and the bias if none
    if (!bias) bias = zeros.data();
    const auto fast = depthwise_specialized<depthwise_forward_row>(g);
    const tap_range interior = fast ? depthwise_interior(g) : tap_range{g.ow, g.ow};
    parallel_for(0, g.n * g.oh, [&](std::int64_t lo, std::int64_t hi) {
        depthwise_for_rows(
            g, x, zeros.data(), interior, lo, hi,
            [&](const float* const* rows, std::int64_t r, std::int64_t ox) {
                float* yp = y + (r * g.ow + ox) * c;
                std::copy(bias, bias + c, yp);
                const std::int64_t ix0 = ox * g.stride - g.pad_w;
                const tap_range t = valid_taps(ix0, g.dil, g.kw, g.w);
                for (std::int64_t i = 0; i < g.kh; ++i)
                    for (std::int64_t j = t.lo; j < t.hi; ++j)
                        mul_add_inplace(yp, rows[i] + (ix0 + j * g.dil) * c, w + (i * g.kw + j) * c, c);
            },
            [&](const float* const* rows, std::int64_t r, std::int64_t first, std::int64_t last) {
                fast(rows, c, first * g.stride - g.pad_w, last - first, w, bias, y + (r * g.ow + first) * c, next_row);
            });
    });
}

// gw = d<y, gy>/dw (overwritten), summed over fixed pieces of output rows in
// a fixed order.
inline void depthwise_backward_weight(const conv_geometry& g, const float* x, const float* gy, float* gw) {
    const std::int64_t c = g.cin;
    const std::vector<float> zero_row(static_cast<std::size_t>(g.w * c), 0.0f);
    const auto fast = depthwise_specialized<depthwise_weight_row>(g);
    const tap_range interior = fast ? depthwise_interior(g) : tap_range{g.ow, g.ow};
    reduce_pieces(g.n * g.oh, g.kh * g.kw * c, gw, [&](std::int64_t lo, std::int64_t hi, float* part) {
        depthwise_for_rows(
            g, x, zero_row.data(), interior, lo, hi,
            [&](const float* const* rows, std::int64_t r, std::int64_t ox) {
                const float* gp = gy + (r * g.ow + ox) * c;
                const std::int64_t ix0 = ox * g.stride - g.pad_w;
                const tap_range t = valid_taps(ix0, g.dil, g.kw, g.w);
                for (std::int64_t i = 0; i < g.kh; ++i)
                    for (std::int64_t j = t.lo; j < t.hi; ++j)
                        mul_add_inplace(part + (i * g.kw + j) * c, gp, rows[i] + (ix0 + j * g.dil) * c, c);
            },
            [&](const float* const* rows, std::int64_t r, std::int64_t first, std::int64_t last) {
                fast(rows, c, first * g.stride - g.pad_w, last - first, gy + (r * g.ow + first) * c, part);
            });
    });
}

// gx = d<y, gy>/dx (overwritten).
inline void depthwise_backward_input(const conv_geometry& g, const float* gy, const float* w, float* gx) {
    const std::int64_t c = g.cin;
    if (g.stride == 1) {  // a depthwise forward conv: the fast path
        std::vector<float> flipped(static_cast<std::size_t>(g.kh * g.kw * c));
        flip_weight(g, w, flipped.data());
        depthwise_forward(input_gradient_geometry(g), gy, flipped.data(), nullptr, gx);
        return;
    }
    // Larger strides: each input pixel gathers the outputs that read it.
    parallel_for(0, g.n * g.h, [&](std::int64_t lo, std::int64_t hi) {
        std::vector<std::int64_t> rows, cols;  // (tap, output index) pairs
        for (std::int64_t q = lo; q < hi; ++q) {
            const std::int64_t n = q / g.h;
            reading_taps(q % g.h, g.kh, g.stride, g.pad_h, g.dil, g.oh, rows);
            for (std::int64_t ix = 0; ix < g.w; ++ix) {
                reading_taps(ix, g.kw, g.stride, g.pad_w, g.dil, g.ow, cols);
                float* dst = gx + (q * g.w + ix) * c;
                std::fill(dst, dst + c, 0.0f);
                for (std::size_t a = 0; a < rows.size(); a += 2)
                    for (std::size_t b = 0; b < cols.size(); b += 2)
                        mul_add_inplace(dst, gy + ((n * g.oh + rows[a + 1]) * g.ow + cols[b + 1]) * c,
                                        w + (rows[a] * g.kw + cols[b]) * c, c);
            }
        }
    });
}

}  // namespace hwnas::kernels
