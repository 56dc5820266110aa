#pragma once
// Per-sample image augmentation for training: a random crop from the image
// padded with zeros (a random shift of up to `crop_padding` pixels in each
// direction), then a horizontal flip with probability 0.5.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include <fmt/format.h>

#include "hwnas/core/rng.hpp"
#include "hwnas/error.hpp"
#include "hwnas/tensor/shape.hpp"

namespace hwnas {

struct augment_options {
    index_t crop_padding = 0;  // e.g. 2 for 28x28 images, 4 for 32x32
    bool horizontal_flip = false;

    bool enabled() const { return crop_padding > 0 || horizontal_flip; }
    void check() const {
        require(crop_padding >= 0, "augment_options: crop_padding is {}, expected >= 0", crop_padding);
    }
};

// One draw of the random choices.
struct augment_params {
    index_t shift_y = 0, shift_x = 0;  // output (y, x) reads input (y + shift_y, x + shift_x), in [-pad, pad]
    bool flip = false;                 // then mirror left-right
};

inline augment_params draw_augment(const augment_options& o, rng& g) {
    augment_params p;
    if (o.crop_padding > 0) {
        const auto span = static_cast<std::uint64_t>(2 * o.crop_padding + 1);
        p.shift_y = static_cast<index_t>(g.below(span)) - o.crop_padding;
        p.shift_x = static_cast<index_t>(g.below(span)) - o.crop_padding;
    }
    if (o.horizontal_flip) p.flip = g.bernoulli(0.5);
    return p;
}

// dst (h x w x c, channels-last) = src shifted by (shift_y, shift_x) with zeros
// where it reads outside, then mirrored if p.flip. src and dst must not overlap.
inline void augment_image(const float* src, float* dst, index_t h, index_t w, index_t c, const augment_params& p) {
    // Source columns [x_lo, x_hi) are read (shifted by shift_x, so they land in
    // output columns [x_lo - shift_x, x_hi - shift_x) before any flip).
    const index_t x_lo = std::clamp<index_t>(p.shift_x, 0, w), x_hi = std::clamp<index_t>(w + p.shift_x, 0, w);
    const index_t n = std::max<index_t>(x_hi - x_lo, 0);
    const index_t first = p.flip ? w - x_hi + p.shift_x : x_lo - p.shift_x;  // first output column written
    for (index_t y = 0; y < h; ++y) {
        float* row = dst + y * w * c;
        const index_t sy = y + p.shift_y;
        if (sy < 0 || sy >= h || n == 0) {
            std::fill(row, row + w * c, 0.0f);
            continue;
        }
        const float* srow = src + sy * w * c;
        std::fill(row, row + first * c, 0.0f);
        if (!p.flip) {
            std::memcpy(row + first * c, srow + x_lo * c, static_cast<std::size_t>(n * c) * sizeof(float));
        } else if (c == 1) {  // grayscale: a plain reversed copy, which vectorizes
            for (index_t x = x_lo; x < x_hi; ++x) row[w - 1 - (x - p.shift_x)] = srow[x];
        } else {
            for (index_t x = x_lo; x < x_hi; ++x)
                for (index_t k = 0; k < c; ++k) row[(w - 1 - (x - p.shift_x)) * c + k] = srow[x * c + k];
        }
        std::fill(row + (first + n) * c, row + w * c, 0.0f);
    }
}

}  // namespace hwnas
