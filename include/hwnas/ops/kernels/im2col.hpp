#pragma once
// Dense, grouped, strided and dilated convolution as GEMM. im2col in NHWC: one
// row per output pixel, columns (group, kh, kw, ci) so that group g's columns
// form one contiguous block of k_g = kh*kw*cin/groups and its GEMM reads the
// block in place (lda = kh*kw*cin). Output pixels are processed in chunks so
// the column buffer stays bounded. A pointwise conv (1x1, stride 1, no
// padding) skips im2col: the input already is the column matrix.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "hwnas/core/parallel.hpp"
#include "hwnas/ops/kernels/conv_common.hpp"
#include "hwnas/ops/kernels/gemm.hpp"
#include "hwnas/tensor/storage.hpp"

namespace hwnas::kernels {

// Column buffer budget in floats (4 MB): large enough for efficient GEMMs,
// small enough to stay in the last-level cache.
inline constexpr std::int64_t im2col_budget = std::int64_t{1} << 20;

// col[r - r0, :] = the input patch of output pixel r, for r in [r0, r1); zero
// where the patch reaches into the padding.
inline void im2col(const conv_geometry& g, const float* x, std::int64_t r0, std::int64_t r1, float* col) {
    const std::int64_t cg = g.cin_g(), kg = g.k_g(), ld = kg * g.groups;
    // With one group and no dilation, the taps of a kernel row that lie inside
    // the input are one contiguous run of the input row: one copy.
    const bool runs = g.groups == 1 && g.dil == 1;
    std::vector<tap_range> cols(static_cast<std::size_t>(g.ow));  // the taps inside the input, per output column
    for (std::int64_t ox = 0; ox < g.ow; ++ox)
        cols[static_cast<std::size_t>(ox)] = valid_taps(ox * g.stride - g.pad_w, g.dil, g.kw, g.w);
    parallel_for(r0, r1, [&](std::int64_t lo, std::int64_t hi) {
        std::int64_t n = lo / (g.oh * g.ow), oy = lo / g.ow % g.oh, ox = lo % g.ow;
        for (std::int64_t r = lo; r < hi; ++r, ox = ox + 1 < g.ow ? ox + 1 : 0) {
            if (r > lo && ox == 0 && ++oy == g.oh) oy = 0, ++n;
            const std::int64_t ix0 = ox * g.stride - g.pad_w;
            const tap_range t = cols[static_cast<std::size_t>(ox)];
            float* row = col + (r - r0) * ld;
            for (std::int64_t i = 0; i < g.kh; ++i) {
                const std::int64_t iy = oy * g.stride - g.pad_h + i * g.dil;
                const bool inside = iy >= 0 && iy < g.h;
                const float* src = inside ? x + (n * g.h + iy) * g.w * g.cin : nullptr;
                for (std::int64_t grp = 0; grp < g.groups; ++grp) {
                    float* dst = row + grp * kg + i * g.kw * cg;
                    const std::int64_t lo_j = inside ? t.lo : g.kw, hi_j = inside ? t.hi : g.kw;
                    zero_short(dst, lo_j * cg);
                    if (runs && hi_j > lo_j) {
                        copy_short(dst + lo_j * cg, src + (ix0 + lo_j) * g.cin, (hi_j - lo_j) * cg);
                    } else {
                        for (std::int64_t j = lo_j; j < hi_j; ++j)
                            copy_short(dst + j * cg, src + (ix0 + j * g.dil) * g.cin + grp * cg, cg);
                    }
                    zero_short(dst + hi_j * cg, (g.kw - hi_j) * cg);
                }
            }
        }
    });
}

// The adjoint of im2col over output pixels [r0, r1): gx += the column
// gradients, gathered per input pixel (each pixel sums its own contributions,
// so threads never write the same pixel and the order is fixed).
inline void col2im_add(const conv_geometry& g, const float* col, std::int64_t r0, std::int64_t r1, float* gx) {
    const std::int64_t cg = g.cin_g(), kg = g.k_g(), ld = kg * g.groups, plane = g.oh * g.ow;
    // (tap, output column) pairs reading each input column, flattened, with
    // input column ix's pairs at [start[ix], start[ix + 1]).
    std::vector<std::int64_t> pairs, taps, start{0};
    for (std::int64_t ix = 0; ix < g.w; ++ix) {
        reading_taps(ix, g.kw, g.stride, g.pad_w, g.dil, g.ow, taps);
        pairs.insert(pairs.end(), taps.begin(), taps.end());
        start.push_back(static_cast<std::int64_t>(pairs.size()));
    }
    // Input rows (n, iy) the chunk can reach, flattened as n*h + iy.
    const std::int64_t first_oy = r0 / g.ow % g.oh, last_oy = (r1 - 1) / g.ow % g.oh;
    const std::int64_t first = r0 / plane * g.h + std::max<std::int64_t>(0, first_oy * g.stride - g.pad_h);
    const std::int64_t last = (r1 - 1) / plane * g.h +
                              std::min(g.h - 1, last_oy * g.stride - g.pad_h + (g.kh - 1) * g.dil);
    parallel_for(first, last + 1, [&](std::int64_t lo, std::int64_t hi) {
        std::vector<std::int64_t> rows;  // (tap, output row) pairs
        for (std::int64_t q = lo; q < hi; ++q) {
            const std::int64_t n = q / g.h;
            reading_taps(q % g.h, g.kh, g.stride, g.pad_h, g.dil, g.oh, rows);
            for (std::int64_t ix = 0; ix < g.w; ++ix) {
                float* dst = gx + (q * g.w + ix) * g.cin;
                for (std::size_t a = 0; a < rows.size(); a += 2)
                    for (std::int64_t b = start[ix]; b < start[ix + 1]; b += 2) {
                        const std::int64_t r = (n * g.oh + rows[a + 1]) * g.ow + pairs[b + 1];
                        if (r < r0 || r >= r1) continue;
                        const float* src = col + (r - r0) * ld + (rows[a] * g.kw + pairs[b]) * cg;
                        for (std::int64_t grp = 0; grp < g.groups; ++grp)
                            add_inplace(dst + grp * cg, src + grp * kg, cg);
                    }
            }
        }
    });
}

// Output pixels per chunk. The column buffer holds at most `budget` floats.
// On one thread, with out_width > 0, one group's GEMM output in the chunk
// (out_width floats per pixel) also holds at most budget/16 (256 KB by
// default, half an L2), so it is still in L2 when the GEMM accumulates into
// what the pass before wrote (the bias, or OpenBLAS zeroing C for beta = 0):
// one pass over memory instead of two. With more threads the calls must stay
// large: multithreaded OpenBLAS spends tens of microseconds per call, more
// than that pass saves (measured on 2-core Zen 3).
inline std::int64_t chunk_pixels(const conv_geometry& g, std::int64_t budget, std::int64_t out_width) {
    const std::int64_t by_col = g.pointwise() ? g.out_pixels() : budget / (g.k_g() * g.groups);
    const std::int64_t by_out = out_width > 0 && num_threads() == 1 ? budget / 16 / out_width : by_col;
    return std::max<std::int64_t>(1, std::min(by_col, by_out));
}

// The GEMM's left matrix for output pixels [r0, r1): the input itself for a
// pointwise conv, else their im2col rows in col.
inline const float* columns(const conv_geometry& g, const float* x, std::int64_t r0, std::int64_t r1, float* col) {
    if (g.pointwise()) return x + r0 * g.cin;
    im2col(g, x, r0, r1, col);
    return col;
}

// Uninitialized (cached) column buffer for `pixels` output pixels; none for a pointwise conv.
inline std::shared_ptr<float[]> im2col_buffer(const conv_geometry& g, std::int64_t pixels) {
    if (g.pointwise()) return nullptr;
    return hwnas::detail::allocate_floats(static_cast<std::size_t>(pixels * g.k_g() * g.groups));
}

// y = conv(x, w) + bias (bias may be null).
inline void conv_gemm_forward(const conv_geometry& g, const float* x, const float* w, const float* bias, float* y,
                              std::int64_t budget = im2col_budget) {
    const std::int64_t rows = g.out_pixels(), kg = g.k_g(), cog = g.cout_g(), step = chunk_pixels(g, budget, cog);
    const auto col = im2col_buffer(g, std::min(step, rows));
    for (std::int64_t r0 = 0; r0 < rows; r0 += step) {
        const std::int64_t r1 = std::min(rows, r0 + step);
        if (bias) fill_rows(y + r0 * g.cout, r1 - r0, g.cout, bias);
        const float* a = columns(g, x, r0, r1, col.get());
        for (std::int64_t grp = 0; grp < g.groups; ++grp)
            gemm(false, false, r1 - r0, cog, kg, 1.0f, a + grp * kg, kg * g.groups, w + grp * cog, g.cout,
                 bias ? 1.0f : 0.0f, y + r0 * g.cout + grp * cog, g.cout);
    }
}

// gx = d<y, gy>/dx (overwritten). With stride 1 (not pointwise) it is the
// forward conv of gy with the flipped kernel: im2col, which is much faster
// than col2im.
inline void conv_gemm_backward_input(const conv_geometry& g, const float* gy, const float* w, float* gx,
                                     std::int64_t budget = im2col_budget) {
    if (g.stride == 1 && !g.pointwise()) {
        input_gradient_by_forward(g, gy, w, gx, [budget](const conv_geometry& t, auto... a) {
            conv_gemm_forward(t, a..., budget);
        });
        return;
    }
    const std::int64_t rows = g.out_pixels(), kg = g.k_g(), cog = g.cout_g();
    const std::int64_t step = chunk_pixels(g, budget, g.pointwise() ? g.cin_g() : 0);
    const auto col = im2col_buffer(g, std::min(step, rows));
    if (!g.pointwise()) std::fill(gx, gx + g.n * g.h * g.w * g.cin, 0.0f);
    for (std::int64_t r0 = 0; r0 < rows; r0 += step) {
        const std::int64_t r1 = std::min(rows, r0 + step);
        float* c = g.pointwise() ? gx + r0 * g.cin : col.get();
        for (std::int64_t grp = 0; grp < g.groups; ++grp)
            gemm(false, true, r1 - r0, kg, cog, 1.0f, gy + r0 * g.cout + grp * cog, g.cout, w + grp * cog, g.cout,
                 0.0f, c + grp * kg, kg * g.groups);
        if (!g.pointwise()) col2im_add(g, col.get(), r0, r1, gx);
    }
}

// gw = d<y, gy>/dw (overwritten); chunks accumulate into it with beta = 1.
inline void conv_gemm_backward_weight(const conv_geometry& g, const float* x, const float* gy, float* gw,
                                      std::int64_t budget = im2col_budget) {
    const std::int64_t rows = g.out_pixels(), kg = g.k_g(), cog = g.cout_g(), step = chunk_pixels(g, budget, 0);
    const auto col = im2col_buffer(g, std::min(step, rows));
    for (std::int64_t r0 = 0; r0 < rows; r0 += step) {
        const std::int64_t r1 = std::min(rows, r0 + step);
        const float* a = columns(g, x, r0, r1, col.get());
        for (std::int64_t grp = 0; grp < g.groups; ++grp)
            gemm(true, false, kg, cog, r1 - r0, 1.0f, a + grp * kg, kg * g.groups, gy + r0 * g.cout + grp * cog,
                 g.cout, r0 == 0 ? 0.0f : 1.0f, gw + grp * cog, g.cout);
    }
}

}  // namespace hwnas::kernels
