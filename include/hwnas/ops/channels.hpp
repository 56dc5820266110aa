#pragma once
// concat_channels, slice_channels, channel_shuffle: data movement along the
// last (channel) dimension of a channels-last tensor. Each is a strided copy
// of rows, bound by memory bandwidth; they run on one thread because a second
// one gave no measurable gain on the shared 2-core development machine.
#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

#include "hwnas/autograd/var.hpp"
#include "hwnas/ops/check.hpp"

namespace hwnas {

namespace kernels {

// dst[r, dst_off + j] = src[r, src_off + j] for r < rows and j < width, where
// rows of src hold src_c floats and rows of dst hold dst_c.
inline void copy_channels(const float* src, index_t src_c, index_t src_off, float* dst, index_t dst_c, index_t dst_off,
                          index_t width, index_t rows) {
    for (index_t r = 0; r < rows; ++r)
        std::memcpy(dst + r * dst_c + dst_off, src + r * src_c + src_off,
                    static_cast<std::size_t>(width) * sizeof(float));
}

// In every row of groups * per_group channels, y[j * groups + g] = x[g * per_group + j]:
// the [groups, per_group] matrix of channels is transposed.
inline void channel_shuffle(const float* x, float* y, index_t rows, index_t groups, index_t per_group) {
    const index_t c = groups * per_group;
    for (index_t r = 0; r < rows; ++r)
        for (index_t g = 0; g < groups; ++g)
            for (index_t j = 0; j < per_group; ++j) y[r * c + j * groups + g] = x[r * c + g * per_group + j];
}

}  // namespace kernels

// Concatenates along the last dimension; all other dimensions must be equal.
inline var concat_channels(std::span<const var> xs) {
    if (xs.empty()) throw config_error("concat_channels: no inputs, expected at least one");
    for (std::size_t i = 0; i < xs.size(); ++i)
        detail::check_min_rank("concat_channels", xs[i], 1, "[..., channels]", fmt::format("input {}", i));
    const shape& s0 = xs[0].shape();
    std::vector<index_t> widths;
    index_t total = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
        const shape& s = xs[i].shape();
        if (s.rank() != s0.rank() || !std::equal(s.begin(), s.end() - 1, s0.begin()))
            throw shape_error(fmt::format("concat_channels: input {} has shape {}, input 0 has shape {}, expected "
                                          "equal shapes except the last dimension",
                                          i, s, s0));
        widths.push_back(s.dim(-1));
        total += s.dim(-1);
    }
    shape out = s0;
    out[out.rank() - 1] = total;
    const index_t rows = xs[0].numel() / s0.dim(-1);
    tensor y = tensor::uninitialized(out);
    index_t off = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
        kernels::copy_channels(xs[i].value().data(), widths[i], 0, y.data(), total, off, widths[i], rows);
        off += widths[i];
    }
    std::vector<shape> shapes;
    for (const auto& x : xs) shapes.push_back(x.shape());
    return record("concat_channels", std::move(y), xs,
                  [shapes = std::move(shapes), widths = std::move(widths), rows, total](const tensor& gy,
                                                                                        grad_sink& g) {
                      index_t at = 0;
                      for (std::size_t i = 0; i < shapes.size(); ++i) {
                          if (g.needs(i)) {
                              tensor gx = tensor::uninitialized(shapes[i]);
                              kernels::copy_channels(gy.data(), total, at, gx.data(), widths[i], 0, widths[i], rows);
                              g.add(i, std::move(gx));
                          }
                          at += widths[i];
                      }
                  });
}
inline var concat_channels(std::initializer_list<var> xs) {
    return concat_channels(std::span<const var>(xs.begin(), xs.size()));
}

// The channels [begin, end) of the last dimension.
inline var slice_channels(const var& x, index_t begin, index_t end) {
    detail::check_min_rank("slice_channels", x, 1, "[..., channels]");
    const index_t c = x.shape().dim(-1);
    if (!(begin >= 0 && begin < end && end <= c))
        throw config_error(fmt::format("slice_channels: range [{}, {}) does not fit {} channels, expected 0 <= begin "
                                       "< end <= {} (input {})",
                                       begin, end, c, c, x.shape()));
    const index_t width = end - begin, rows = x.numel() / c;
    shape out = x.shape();
    out[out.rank() - 1] = width;
    tensor y = tensor::uninitialized(out);
    kernels::copy_channels(x.value().data(), c, begin, y.data(), width, 0, width, rows);
    const shape in = x.shape();
    return record("slice_channels", std::move(y), {x}, [in, begin, width, rows, c](const tensor& gy, grad_sink& g) {
        tensor gx = tensor::zeros(in);
        kernels::copy_channels(gy.data(), width, 0, gx.data(), c, begin, width, rows);
        g.add(0, std::move(gx));
    });
}

// ShuffleNet's channel shuffle: the last dimension C = groups * k is viewed as
// [groups, k] and transposed to [k, groups], so output channel j * groups + g
// is input channel g * k + j. Its backward is the shuffle with k groups.
inline var channel_shuffle(const var& x, index_t groups) {
    detail::check_min_rank("channel_shuffle", x, 1, "[..., channels]");
    if (groups < 1) throw config_error(fmt::format("channel_shuffle: groups is {}, expected groups >= 1", groups));
    const index_t c = x.shape().dim(-1);
    if (c % groups != 0)
        throw shape_error(fmt::format("channel_shuffle: {} channels do not split into {} groups (input {})", c, groups,
                                      x.shape()));
    const index_t k = c / groups, rows = x.numel() / c;
    tensor y = tensor::uninitialized(x.shape());
    kernels::channel_shuffle(x.value().data(), y.data(), rows, groups, k);
    return record("channel_shuffle", std::move(y), {x}, [rows, groups, k](const tensor& gy, grad_sink& g) {
        tensor gx = tensor::uninitialized(gy.shape());
        kernels::channel_shuffle(gy.data(), gx.data(), rows, k, groups);
        g.add(0, std::move(gx));
    });
}

}  // namespace hwnas
