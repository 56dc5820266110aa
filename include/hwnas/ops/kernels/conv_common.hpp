#pragma once
// What every conv kernel shares: the geometry of one convolution, the range of
// kernel taps that land inside the input, and the bias loops.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "hwnas/core/parallel.hpp"
#include "hwnas/ops/kernels/elementwise.hpp"

namespace hwnas::kernels {

// Eight floats as one value (GCC/Clang vector extension): one AVX register,
// or two SSE registers without AVX.
using float8 = float __attribute__((vector_size(32)));

inline void load(float8& v, const float* p) { std::memcpy(&v, p, sizeof v); }
inline void load(float& v, const float* p) { v = *p; }
inline void store(float* p, const float8& v) { std::memcpy(p, &v, sizeof v); }
inline void store(float* p, const float& v) { *p = v; }

// Copy and zero for the short runs of im2col (a pixel's channels, a kernel
// row): inline, where std::copy and std::fill become libc calls that cost
// more than moving the few hundred bytes.
inline void copy_short(float* __restrict dst, const float* __restrict src, std::int64_t n) {
    std::int64_t i = 0;
    for (float8 v; i + 8 <= n; i += 8) {
        load(v, src + i);
        store(dst + i, v);
    }
    for (; i < n; ++i) dst[i] = src[i];
}
inline void zero_short(float* dst, std::int64_t n) {
    std::int64_t i = 0;
    for (const float8 z{}; i + 8 <= n; i += 8) store(dst + i, z);
    for (; i < n; ++i) dst[i] = 0.0f;
}

// Input [n, h, w, cin] (NHWC), weight [kh, kw, cin/groups, cout] (HWIO),
// output [n, oh, ow, cout]. Input pixel of output (oy, ox) and tap (i, j):
// (oy*stride - pad_h + i*dil, ox*stride - pad_w + j*dil). Padding is per axis
// and may be negative: stride-1 input gradients run the forward kernels with
// padding dil*(k-1) - pad (input_gradient_geometry).
struct conv_geometry {
    std::int64_t n = 0, h = 0, w = 0, cin = 0;
    std::int64_t kh = 0, kw = 0, cout = 0;
    std::int64_t oh = 0, ow = 0;
    std::int64_t stride = 1, pad_h = 0, pad_w = 0, dil = 1, groups = 1;

    std::int64_t cin_g() const { return cin / groups; }
    std::int64_t cout_g() const { return cout / groups; }
    std::int64_t out_pixels() const { return n * oh * ow; }
    std::int64_t k_g() const { return kh * kw * cin_g(); }  // GEMM depth of one group
    bool depthwise() const { return groups == cin && cout == cin; }
    // 1x1, stride 1, no padding: the input already is the GEMM's left matrix.
    bool pointwise() const { return kh == 1 && kw == 1 && stride == 1 && pad_h == 0 && pad_w == 0; }
};

// With stride 1, the input gradient of a conv is itself a stride-1 conv: of
// gy, with the kernel flipped and its in/out channels swapped (flip_weight),
// and padding dil*(k-1) - pad. This is its geometry.
inline conv_geometry input_gradient_geometry(const conv_geometry& g) {
    conv_geometry t = g;
    t.h = g.oh, t.w = g.ow, t.cin = g.cout;
    t.oh = g.h, t.ow = g.w, t.cout = g.cin;
    t.pad_h = g.dil * (g.kh - 1) - g.pad_h, t.pad_w = g.dil * (g.kw - 1) - g.pad_w;
    return t;
}

// The weight of that conv: wt[i, j, co, grp*cin_g + ci] = w[kh-1-i, kw-1-j, ci, grp*cout_g + co]
// (wt has kh*kw*cout_g*cin floats).
inline void flip_weight(const conv_geometry& g, const float* w, float* wt) {
    const std::int64_t cig = g.cin_g(), cog = g.cout_g();
    for (std::int64_t i = 0; i < g.kh; ++i)
        for (std::int64_t j = 0; j < g.kw; ++j) {
            const float* src = w + ((g.kh - 1 - i) * g.kw + (g.kw - 1 - j)) * cig * g.cout;
            float* dst = wt + (i * g.kw + j) * cog * g.cin;
            for (std::int64_t grp = 0; grp < g.groups; ++grp)
                for (std::int64_t ci = 0; ci < cig; ++ci)
                    for (std::int64_t co = 0; co < cog; ++co)
                        dst[co * g.cin + grp * cig + ci] = src[ci * g.cout + grp * cog + co];
        }
}

// gx of a stride-1 conv as `forward` (a forward kernel: geometry, x, w,
// bias, y) of gy with the flipped kernel on input_gradient_geometry(g).
template <class Forward>
void input_gradient_by_forward(const conv_geometry& g, const float* gy, const float* w, float* gx, Forward&& forward) {
    std::vector<float> flipped(static_cast<std::size_t>(g.kh * g.kw * g.cout_g() * g.cin));
    flip_weight(g, w, flipped.data());
    forward(input_gradient_geometry(g), gy, flipped.data(), nullptr, gx);
}

// Taps [lo, hi) of a k-tap kernel with dilation d, starting at input index i0,
// whose input index i0 + t*d lies in [0, extent).
struct tap_range {
    std::int64_t lo, hi;
};
inline tap_range valid_taps(std::int64_t i0, std::int64_t d, std::int64_t k, std::int64_t extent) {
    const std::int64_t lo = i0 >= 0 ? 0 : (-i0 + d - 1) / d;
    const std::int64_t last = extent - 1 - i0;  // the largest t*d still inside
    const std::int64_t hi = last < 0 ? 0 : std::min(k, last / d + 1);
    return {std::min(lo, k), std::max(std::min(lo, k), hi)};
}

// The taps t of a k-tap kernel (stride s, padding pad, dilation d) that read
// input index i, with the output index o that reads it: appends (t, o) pairs
// for o in [0, out). The adjoint loops gather with these.
inline void reading_taps(std::int64_t i, std::int64_t k, std::int64_t s, std::int64_t pad, std::int64_t d,
                         std::int64_t out, std::vector<std::int64_t>& pairs) {
    pairs.clear();
    for (std::int64_t t = 0; t < k; ++t) {
        const std::int64_t o = i + pad - t * d;
        if (o >= 0 && o % s == 0 && o / s < out) pairs.insert(pairs.end(), {t, o / s});
    }
}

// Runs f(lo, hi, partial) on fixed pieces of [0, total) in parallel, each
// piece with its own zeroed buffer of `width` floats, then sums the buffers
// into out in piece order: deterministic for a given thread count.
template <class F>
void reduce_pieces(std::int64_t total, std::int64_t width, float* out, F&& f) {
    const std::int64_t pieces = std::max<std::int64_t>(1, std::min<std::int64_t>(num_threads(), total));
    std::vector<float> partial(static_cast<std::size_t>(pieces * width), 0.0f);
    parallel_for(0, pieces, [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t t = lo; t < hi; ++t)
            f(total * t / pieces, total * (t + 1) / pieces, partial.data() + t * width);
    });
    std::copy(partial.begin(), partial.begin() + width, out);
    for (std::int64_t t = 1; t < pieces; ++t) add_inplace(out, partial.data() + t * width, width);
}

// y[r, :] = bias for r in [0, rows). Serial: it runs between GEMM calls on
// L2-sized chunks, where waking the thread pool would compete with OpenBLAS's
// threads still spinning for the next call.
inline void fill_rows(float* y, std::int64_t rows, std::int64_t c, const float* bias) {
    for (std::int64_t r = 0; r < rows; ++r) copy_short(y + r * c, bias, c);
}

// gb[j] = sum over rows r of gy[r, j].
inline void bias_grad(const float* gy, std::int64_t rows, std::int64_t c, float* gb) {
    reduce_pieces(rows, c, gb, [&](std::int64_t lo, std::int64_t hi, float* part) {
        for (std::int64_t r = lo; r < hi; ++r) add_inplace(part, gy + r * c, c);
    });
}

}  // namespace hwnas::kernels
