#pragma once
// Winograd F(4x4, 3x3) for dense 3x3 stride-1 convolutions (Lavin & Gray,
// 2016): each 4x4 output tile is A^T [sum_ci (G g G^T) . (B^T d B)] A over a
// 6x6 input tile d, 36 multiplies per tile and channel pair instead of 144.
// The 36 products become 36 small GEMMs over a chunk of tiles that stays in
// L2, so only the input and output cross memory. The weight gradient is the
// exact adjoint: G^T [sum_tiles (B^T d B) . (A gY A^T)] G. The input gradient
// needs no kernel of its own: with stride 1 it is the forward conv of gy with
// the flipped kernel (conv_common.hpp), run here as well.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "hwnas/ops/kernels/conv_common.hpp"
#include "hwnas/tensor/storage.hpp"

namespace hwnas::kernels {

// 3x3, stride 1, no dilation, one group, padding 0-2 on each axis (so the
// input-gradient conv, padding 2 - pad, qualifies too).
inline bool winograd_applies(const conv_geometry& g) {
    return g.kh == 3 && g.kw == 3 && g.stride == 1 && g.dil == 1 && g.groups == 1 && g.pad_h >= 0 && g.pad_h <= 2 &&
           g.pad_w >= 0 && g.pad_w <= 2 && g.oh > 0 && g.ow > 0;
}

namespace winograd {

// The 1-D transforms, for float8 (8 channels at once) or float (the tail).
// B^T: 6 inputs -> 6 (input tile).
template <class V>
inline void input_1d(const V* in, V* out, int s_in, int s_out) {
    const V d0 = in[0], d1 = in[s_in], d2 = in[2 * s_in], d3 = in[3 * s_in], d4 = in[4 * s_in], d5 = in[5 * s_in];
    out[0] = 4 * d0 - 5 * d2 + d4;
    out[s_out] = -4 * (d1 + d2) + d3 + d4;
    out[2 * s_out] = 4 * (d1 - d2) - d3 + d4;
    out[3 * s_out] = 2 * (d3 - d1) - d2 + d4;
    out[4 * s_out] = 2 * (d1 - d3) - d2 + d4;
    out[5 * s_out] = 4 * d1 - 5 * d3 + d5;
}
// A^T: 6 -> 4 (output tile).
template <class V>
inline void output_1d(const V* in, V* out, int s_in, int s_out) {
    const V m0 = in[0], m1 = in[s_in], m2 = in[2 * s_in], m3 = in[3 * s_in], m4 = in[4 * s_in], m5 = in[5 * s_in];
    const V a = m1 + m2, b = m1 - m2, c = m3 + m4, d = m3 - m4;
    out[0] = m0 + a + c;
    out[s_out] = b + 2 * d;
    out[2 * s_out] = a + 4 * c;
    out[3 * s_out] = b + 8 * d + m5;
}
// A, the adjoint of A^T: 4 -> 6 (output gradient tile).
template <class V>
inline void output_adjoint_1d(const V* in, V* out, int s_in, int s_out) {
    const V o0 = in[0], o1 = in[s_in], o2 = in[2 * s_in], o3 = in[3 * s_in];
    const V even = o0 + 4 * o2, odd = 2 * o1 + 8 * o3;
    out[0] = o0;
    out[s_out] = o0 + o1 + o2 + o3;
    out[2 * s_out] = o0 - o1 + o2 - o3;
    out[3 * s_out] = even + odd;
    out[4 * s_out] = even - odd;
    out[5 * s_out] = o3;
}
// G: 3 -> 6 (filter).
template <class V>
inline void filter_1d(const V* in, V* out, int s_in, int s_out) {
    const V g0 = in[0], g1 = in[s_in], g2 = in[2 * s_in];
    out[0] = g0 / 4;
    out[s_out] = -(g0 + g1 + g2) / 6;
    out[2 * s_out] = -(g0 - g1 + g2) / 6;
    out[3 * s_out] = g0 / 24 + g1 / 12 + g2 / 6;
    out[4 * s_out] = g0 / 24 - g1 / 12 + g2 / 6;
    out[5 * s_out] = g2;
}
// G^T, the adjoint of G: 6 -> 3 (filter gradient).
template <class V>
inline void filter_adjoint_1d(const V* in, V* out, int s_in, int s_out) {
    const V u0 = in[0], u1 = in[s_in], u2 = in[2 * s_in], u3 = in[3 * s_in], u4 = in[4 * s_in], u5 = in[5 * s_in];
    out[0] = u0 / 4 - (u1 + u2) / 6 + (u3 + u4) / 24;
    out[s_out] = (u2 - u1) / 6 + (u3 - u4) / 12;
    out[2 * s_out] = (u3 + u4 - u1 - u2) / 6 + u5;
}

// out (O x O, row-major) = P in P^T for the I x I tile `in`, with the 1-D
// transform P: columns first, then rows.
template <int I, int O, class V, class F>
inline void transform_2d(F&& p, const V* in, V* out) {
    V t[O * I];
    for (int j = 0; j < I; ++j) p(in + j, t + j, I, I);
    for (int i = 0; i < O; ++i) p(t + i * I, out + i * O, 1, 1);
}

// C (m x n, row stride ldc) = or += A (m x k) B (k x n, row stride ldb), with
// A's element (i, p) at a[i * ars + p * acs]. Register tiles of R rows and V
// float8 columns; columns past the last multiple of 8 run scalar.
template <int R, int V>
inline void gemm_tile(const float* a, std::int64_t ars, std::int64_t acs, const float* b, std::int64_t ldb, float* c,
                      std::int64_t ldc, std::int64_t k, bool accumulate) {
    float8 s[R][V] = {};
    for (std::int64_t p = 0; p < k; ++p) {
        float8 bv[V];
        for (int v = 0; v < V; ++v) load(bv[v], b + p * ldb + 8 * v);
        for (int r = 0; r < R; ++r) {
            const float8 av = float8{} + a[r * ars + p * acs];
            for (int v = 0; v < V; ++v) s[r][v] += av * bv[v];
        }
    }
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v) {
            float8 out = s[r][v];
            if (accumulate) {
                float8 old;
                load(old, c + r * ldc + 8 * v);
                out += old;
            }
            store(c + r * ldc + 8 * v, out);
        }
}

template <int R>
inline void gemm_rows(const float* a, std::int64_t ars, std::int64_t acs, const float* b, std::int64_t ldb, float* c,
                      std::int64_t ldc, std::int64_t n, std::int64_t k, bool accumulate) {
    std::int64_t j = 0;
    for (; j + 32 <= n; j += 32) gemm_tile<R, 4>(a, ars, acs, b + j, ldb, c + j, ldc, k, accumulate);
    for (; j + 8 <= n; j += 8) gemm_tile<R, 1>(a, ars, acs, b + j, ldb, c + j, ldc, k, accumulate);
    for (; j < n; ++j)
        for (int r = 0; r < R; ++r) {
            float s = accumulate ? c[r * ldc + j] : 0.0f;
            for (std::int64_t p = 0; p < k; ++p) s += a[r * ars + p * acs] * b[p * ldb + j];
            c[r * ldc + j] = s;
        }
}

inline void small_gemm(const float* a, std::int64_t ars, std::int64_t acs, const float* b, std::int64_t ldb, float* c,
                       std::int64_t ldc, std::int64_t m, std::int64_t n, std::int64_t k, bool accumulate) {
    std::int64_t i = 0;
    for (; i + 4 <= m; i += 4) gemm_rows<4>(a + i * ars, ars, acs, b, ldb, c + i * ldc, ldc, n, k, accumulate);
    for (; i < m; ++i) gemm_rows<1>(a + i * ars, ars, acs, b, ldb, c + i * ldc, ldc, n, k, accumulate);
}

// f(c, float8{}) for each block of 8 of C channels, then f(c, 0.0f) for each one left.
template <class F>
inline void for_channel_blocks(std::int64_t C, F&& f) {
    std::int64_t c = 0;
    for (; c + 8 <= C; c += 8) f(c, float8{});
    for (; c < C; ++c) f(c, 0.0f);
}

// For every channel pair (i, o): the I x I kernel positions of src
// ([k][ci][co]) transformed by the 1-D p into the O x O of dst ([e][ci][co]).
template <int I, int O, class P>
inline void transform_kernels(P&& p, const float* src, float* dst, std::int64_t ci, std::int64_t co) {
    parallel_for(0, ci, [&](std::int64_t c0, std::int64_t c1) {
        for (std::int64_t i = c0; i < c1; ++i)
            for_channel_blocks(co, [&]<class V>(std::int64_t o, V) {
                V in[I * I], out[O * O];
                for (int k = 0; k < I * I; ++k) load(in[k], src + (k * ci + i) * co + o);
                transform_2d<I, O>(p, in, out);
                for (int e = 0; e < O * O; ++e) store(dst + (e * ci + i) * co + o, out[e]);
            });
    });
}

// Tiles: 4x4 output blocks over all images, numbered image by image, row by row.
struct tiling {
    std::int64_t ty, tx;
    explicit tiling(const conv_geometry& g) : ty((g.oh + 3) / 4), tx((g.ow + 3) / 4) {}
    std::int64_t count(const conv_geometry& g) const { return g.n * ty * tx; }
    // Tile t's image and the output row and column of its first element.
    struct origin {
        std::int64_t img, y, x;
    };
    origin at(std::int64_t t) const {
        const std::int64_t r = t % (ty * tx);
        return {t / (ty * tx), (r / tx) * 4, (r % tx) * 4};
    }
};

// Tiles per chunk: the chunk's transformed input and products (36 x tiles x
// (cin + cout) floats) fit in about 512 KiB of L2.
inline std::int64_t chunk_tiles(const conv_geometry& g) {
    return std::clamp<std::int64_t>(512 * 1024 / (36 * 4 * (g.cin + g.cout)), 4, 256);
}

// Per tile of [t0, t1) and per C channels at c: the 6x6 x (8 or 1) block of
// `src` (NHWC, h x w x C) at tile origin minus `pad`, transformed by P (I x I in,
// O x O out, 1-D `p`) into dst[(e * tiles_in_chunk + t) * C + c].
template <int I, int O, class P>
inline void transform_tiles(const tiling& tl, const float* src, std::int64_t h, std::int64_t w,
                            std::int64_t C, std::int64_t pad_h, std::int64_t pad_w, std::int64_t t0, std::int64_t t1,
                            float* dst, P&& p) {
    const std::int64_t nt = t1 - t0;
    for (std::int64_t t = t0; t < t1; ++t) {
        const auto [img, oy, ox] = tl.at(t);
        const std::int64_t y0 = oy - pad_h, x0 = ox - pad_w;
        // Where each tile element reads, or null in the padding: found once for all channels.
        const float* at[I * I];
        for (int i = 0; i < I; ++i)
            for (int j = 0; j < I; ++j) {
                const std::int64_t y = y0 + i, x = x0 + j;
                at[i * I + j] = y >= 0 && y < h && x >= 0 && x < w ? src + ((img * h + y) * w + x) * C : nullptr;
            }
        const auto block = [&]<class V>(std::int64_t c, V) {
            V in[I * I], out[O * O];
            for (int k = 0; k < I * I; ++k) {
                if (at[k]) load(in[k], at[k] + c);
                else in[k] = V{};
            }
            transform_2d<I, O>(p, in, out);
            for (int e = 0; e < O * O; ++e) store(dst + (e * nt + (t - t0)) * C + c, out[e]);
        };
        for_channel_blocks(C, block);
    }
}

// The chunks of tiles both passes walk, each with its transformed input
// tiles V[e][t][ci] and a second buffer of cout channels per tile (the
// products, or the transformed output gradient).
struct chunks {
    tiling tl;
    std::int64_t tiles, step, count;
    explicit chunks(const conv_geometry& g)
        : tl(g), tiles(tl.count(g)), step(chunk_tiles(g)), count((tiles + step - 1) / step) {}
    // Runs f(t0, t1, v, m) on chunks [k0, k1) with v holding the chunk's V.
    template <class F>
    void run(const conv_geometry& g, const float* x, std::int64_t k0, std::int64_t k1, F&& f) const {
        const auto v = hwnas::detail::allocate_floats(static_cast<std::size_t>(36 * step * g.cin));
        const auto m = hwnas::detail::allocate_floats(static_cast<std::size_t>(36 * step * g.cout));
        for (std::int64_t k = k0; k < k1; ++k) {
            const std::int64_t t0 = k * step, t1 = std::min(tiles, t0 + step);
            transform_tiles<6, 6>(tl, x, g.h, g.w, g.cin, g.pad_h, g.pad_w, t0, t1, v.get(),
                                  [](auto... a) { input_1d(a...); });
            f(t0, t1, v.get(), m.get());
        }
    }
};

}  // namespace winograd

// y = conv(x, w) + bias, NHWC / HWIO as the other conv kernels.
inline void winograd_forward(const conv_geometry& g, const float* x, const float* w, const float* bias, float* y) {
    using namespace winograd;
    const std::int64_t ci = g.cin, co = g.cout;
    // U[e][ci][co] = G g G^T per channel pair.
    const auto u = hwnas::detail::allocate_floats(static_cast<std::size_t>(36 * ci * co));
    transform_kernels<3, 6>([](auto... a) { filter_1d(a...); }, w, u.get(), ci, co);
    const chunks ch(g);
    const tiling& tl = ch.tl;
    parallel_for(0, ch.count, [&](std::int64_t k0, std::int64_t k1) {
        ch.run(g, x, k0, k1, [&](std::int64_t t0, std::int64_t t1, const float* v, float* m) {
            const std::int64_t nt = t1 - t0;
            for (int e = 0; e < 36; ++e)
                small_gemm(v + e * nt * ci, ci, 1, u.get() + e * ci * co, co, m + e * nt * co, co, nt, co, ci, false);
            for (std::int64_t t = t0; t < t1; ++t) {
                const auto [img, y0, x0] = tl.at(t);
                const std::int64_t rows = std::min<std::int64_t>(4, g.oh - y0), cols = std::min<std::int64_t>(4, g.ow - x0);
                float* out = y + ((img * g.oh + y0) * g.ow + x0) * co;
                for_channel_blocks(co, [&]<class V>(std::int64_t c, V) {
                    V in[36], o[16];
                    for (int e = 0; e < 36; ++e) load(in[e], m + (e * nt + (t - t0)) * co + c);
                    transform_2d<6, 4>([](auto... a) { output_1d(a...); }, in, o);
                    V b{};
                    if (bias) load(b, bias + c);
                    for (std::int64_t i = 0; i < rows; ++i)
                        for (std::int64_t j = 0; j < cols; ++j) store(out + (i * g.ow + j) * co + c, o[i * 4 + j] + b);
                });
            }
        });
    });
}

// gw = d<y, gy>/dw (overwritten), HWIO.
inline void winograd_backward_weight(const conv_geometry& g, const float* x, const float* gy, float* gw) {
    using namespace winograd;
    const std::int64_t ci = g.cin, co = g.cout;
    const chunks ch(g);
    // gU[e][ci][co] = sum over tiles of V[e]^T gM[e]; one partial sum per thread, added in a fixed order.
    const auto gu = hwnas::detail::allocate_floats(static_cast<std::size_t>(36 * ci * co));
    reduce_pieces(ch.count, 36 * ci * co, gu.get(), [&](std::int64_t k0, std::int64_t k1, float* part) {
        ch.run(g, x, k0, k1, [&](std::int64_t t0, std::int64_t t1, const float* v, float* m) {
            const std::int64_t nt = t1 - t0;
            // gy tiles (4x4, zero past the output's edge) through A . A^T.
            transform_tiles<4, 6>(ch.tl, gy, g.oh, g.ow, co, 0, 0, t0, t1, m,
                                  [](auto... a) { output_adjoint_1d(a...); });
            for (int e = 0; e < 36; ++e)
                small_gemm(v + e * nt * ci, 1, ci, m + e * nt * co, co, part + e * ci * co, co, ci, co, nt, true);
        });
    });
    transform_kernels<6, 3>([](auto... a) { filter_adjoint_1d(a...); }, gu.get(), gw, ci, co);
}

}  // namespace hwnas::kernels
