#pragma once
// An in-memory labeled image dataset: images as one float tensor [N, H, W, C]
// (channels-last, pixels scaled to [0, 1] by the readers) and int32 labels in
// [0, num_classes). Copies share the image storage; subset/split/normalize
// return new datasets and never modify their source.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "hwnas/core/parallel.hpp"
#include "hwnas/core/rng.hpp"
#include "hwnas/error.hpp"
#include "hwnas/tensor/tensor.hpp"

namespace hwnas {

// Per-channel mean and standard deviation of pixel values.
struct channel_stats {
    std::vector<float> mean, stddev;
};

namespace detail {

// The position of the first label outside [0, num_classes), if any.
inline std::optional<std::size_t> first_label_out_of_range(std::span<const std::int32_t> labels, int num_classes) {
    for (std::size_t i = 0; i < labels.size(); ++i)
        if (labels[i] < 0 || labels[i] >= num_classes) return i;
    return std::nullopt;
}

// dst[i] = src[i] / 255, in parallel (the readers' byte-to-pixel conversion).
inline void bytes_to_unit(const std::uint8_t* src, float* dst, index_t n) {
    parallel_for(0, n, [&](index_t lo, index_t hi) {
        for (index_t i = lo; i < hi; ++i) dst[i] = static_cast<float>(src[i]) / 255.0f;
    });
}

inline void check_stats(std::string_view where, const channel_stats& s, index_t channels) {
    if (static_cast<index_t>(s.mean.size()) != channels || static_cast<index_t>(s.stddev.size()) != channels)
        throw config_error(fmt::format("{}: stats have {} means and {} stddevs, the images have {} channels", where,
                                       s.mean.size(), s.stddev.size(), channels));
    for (std::size_t c = 0; c < s.stddev.size(); ++c)
        if (!(s.stddev[c] > 0.0f) || !std::isfinite(s.stddev[c]) || !std::isfinite(s.mean[c]))
            throw config_error(fmt::format("{}: channel {} has mean {} and stddev {}, expected finite values, stddev > 0",
                                           where, c, s.mean[c], s.stddev[c]));
}

// Applies x = (x - mean[c]) / stddev[c] to one channels-last sample. The
// constants are spread to one per element of a sample, so the loop is flat
// and vectorizes.
class normalizer {
public:
    normalizer(const channel_stats& s, index_t sample_numel) {
        const auto channels = static_cast<index_t>(s.mean.size());
        for (index_t j = 0; j < sample_numel; ++j) {
            mean_.push_back(s.mean[static_cast<std::size_t>(j % channels)]);
            stddev_.push_back(s.stddev[static_cast<std::size_t>(j % channels)]);
        }
    }
    void operator()(float* x) const {
        const float* m = mean_.data();
        const float* sd = stddev_.data();
        const auto n = static_cast<index_t>(mean_.size());
        for (index_t j = 0; j < n; ++j) x[j] = (x[j] - m[j]) / sd[j];
    }

private:
    std::vector<float> mean_, stddev_;
};

}  // namespace detail

class dataset {
public:
    dataset() = default;

    // images [N, H, W, C]; one label in [0, num_classes) per image.
    dataset(tensor images, std::vector<std::int32_t> labels, int num_classes)
        : images_(std::move(images)), labels_(std::move(labels)), num_classes_(num_classes) {
        if (!images_.defined() || images_.rank() != 4)
            throw shape_error(fmt::format("dataset: images have shape {}, expected rank 4 [N,H,W,C]",
                                          images_.defined() ? images_.shape().str() : "(undefined)"));
        if (static_cast<index_t>(labels_.size()) != images_.dim(0))
            throw shape_error(fmt::format("dataset: {} labels for {} images (shape {}), expected one label per image",
                                          labels_.size(), images_.dim(0), images_.shape()));
        if (num_classes_ < 1) throw config_error(fmt::format("dataset: num_classes is {}, expected >= 1", num_classes_));
        if (const auto bad = detail::first_label_out_of_range(labels_, num_classes_))
            throw config_error(fmt::format("dataset: label {} at index {} is out of range for {} classes",
                                           labels_[*bad], *bad, num_classes_));
    }

    const tensor& images() const { return images_; }
    const std::vector<std::int32_t>& labels() const { return labels_; }
    int num_classes() const { return num_classes_; }
    index_t size() const { return static_cast<index_t>(labels_.size()); }
    bool empty() const { return labels_.empty(); }
    index_t height() const { return images_.defined() ? images_.dim(1) : 0; }
    index_t width() const { return images_.defined() ? images_.dim(2) : 0; }
    index_t channels() const { return images_.defined() ? images_.dim(3) : 0; }
    index_t sample_numel() const { return height() * width() * channels(); }
    const float* image(index_t i) const { return images_.data() + i * sample_numel(); }

    // Number of samples of each class.
    std::vector<index_t> class_counts() const {
        std::vector<index_t> counts(static_cast<std::size_t>(num_classes_), 0);
        for (auto y : labels_) ++counts[static_cast<std::size_t>(y)];
        return counts;
    }

    // The first n samples (all of them when n <= 0 or n >= size()): the examples' --*-samples flags.
    dataset first(index_t n) const {
        if (n <= 0 || n >= size()) return *this;
        std::vector<index_t> idx(static_cast<std::size_t>(n));
        std::iota(idx.begin(), idx.end(), index_t{0});
        return subset(idx);
    }

    // The samples at `indices`, in that order (repeats allowed).
    dataset subset(std::span<const index_t> indices) const {
        for (std::size_t k = 0; k < indices.size(); ++k)
            if (indices[k] < 0 || indices[k] >= size())
                throw config_error(fmt::format(
                    "dataset::subset: index {} at position {} is out of range for a dataset of {} samples", indices[k],
                    k, size()));
        const auto n = static_cast<index_t>(indices.size());
        const index_t m = sample_numel();
        tensor out = tensor::uninitialized({n, height(), width(), channels()});
        std::vector<std::int32_t> labels(indices.size());
        parallel_for(0, n, [&](index_t lo, index_t hi) {
            for (index_t k = lo; k < hi; ++k) {
                const index_t i = indices[static_cast<std::size_t>(k)];
                std::memcpy(out.data() + k * m, image(i), static_cast<std::size_t>(m) * sizeof(float));
                labels[static_cast<std::size_t>(k)] = labels_[static_cast<std::size_t>(i)];
            }
        });
        return dataset(std::move(out), std::move(labels), num_classes_);
    }

    // Two disjoint datasets covering this one: the first holds round(fraction * N)
    // samples drawn at random by `seed`, the second the rest; both keep the
    // original sample order. The same seed gives the same split.
    std::pair<dataset, dataset> split(double fraction, std::uint64_t seed) const {
        if (!(fraction >= 0.0 && fraction <= 1.0))
            throw config_error(fmt::format("dataset::split: fraction {} is outside [0, 1]", fraction));
        std::vector<index_t> perm(labels_.size());
        std::iota(perm.begin(), perm.end(), index_t{0});
        rng(seed).shuffle(perm);
        const auto cut = perm.begin() + std::llround(fraction * static_cast<double>(size()));
        std::sort(perm.begin(), cut);
        std::sort(cut, perm.end());
        return {subset({perm.begin(), cut}), subset({cut, perm.end()})};
    }

private:
    tensor images_;
    std::vector<std::int32_t> labels_;
    int num_classes_ = 0;
};

// Mean and (population) standard deviation of each channel over all pixels.
// Summed in double over fixed blocks of samples combined in order, so the result
// does not depend on the thread count.
inline channel_stats compute_channel_stats(const dataset& d) {
    if (d.empty()) throw config_error("compute_channel_stats: the dataset is empty");
    constexpr index_t block = 256;
    // Summed over the flat data in chunks of `period` values, one accumulator
    // per chunk position (its channel is position % channels): the inner loop
    // vectorizes without reassociating a sum.
    const index_t channels = d.channels(), period = channels * 16;
    const index_t blocks = (d.size() + block - 1) / block;
    // Per block, the sums and sums of squares of each lane of the period.
    std::vector<double> sums(static_cast<std::size_t>(blocks * period * 2), 0.0);
    parallel_for(0, blocks, [&](index_t lo, index_t hi) {
        for (index_t b = lo; b < hi; ++b) {
            double* sum = sums.data() + b * period * 2;
            double* sq = sum + period;
            const float* x = d.image(b * block);
            const index_t n = std::min(block, d.size() - b * block) * d.sample_numel();
            for (index_t i = 0; i < n; i += period) {
                const float* chunk = x + i;
                const index_t len = std::min(period, n - i);
                for (index_t j = 0; j < len; ++j) {
                    sum[j] += chunk[j];
                    sq[j] += static_cast<double>(chunk[j]) * chunk[j];
                }
            }
        }
    });
    std::vector<double> sum(static_cast<std::size_t>(channels), 0.0), sq = sum;
    for (index_t b = 0; b < blocks; ++b)
        for (index_t j = 0; j < period; ++j) {
            sum[static_cast<std::size_t>(j % channels)] += sums[static_cast<std::size_t>(b * period * 2 + j)];
            sq[static_cast<std::size_t>(j % channels)] += sums[static_cast<std::size_t>(b * period * 2 + period + j)];
        }
    channel_stats s;
    const double count = static_cast<double>(d.size() * d.height() * d.width());
    for (std::size_t c = 0; c < sum.size(); ++c) {
        const double mean = sum[c] / count;
        s.mean.push_back(static_cast<float>(mean));
        s.stddev.push_back(static_cast<float>(std::sqrt(std::max(0.0, sq[c] / count - mean * mean))));
    }
    return s;
}

// A copy of d with every pixel normalized per channel: (x - mean) / stddev.
inline dataset normalize(const dataset& d, const channel_stats& s) {
    detail::check_stats("normalize", s, d.channels());
    const detail::normalizer norm(s, d.sample_numel());
    tensor out = d.images().clone();
    parallel_for(0, d.size(), [&](index_t lo, index_t hi) {
        for (index_t i = lo; i < hi; ++i) norm(out.data() + i * d.sample_numel());
    });
    return dataset(std::move(out), d.labels(), d.num_classes());
}

}  // namespace hwnas
