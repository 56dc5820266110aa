#pragma once
// Mini-batches over a dataset. Every random choice derives from the seed and
// the epoch (and, for augmentation, the sample index), never from state carried
// between batches, so a batch is a pure function of (seed, epoch, batch index):
// a resumed run can restart at any epoch and batch exactly, and the result does
// not depend on the thread count.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <numeric>
#include <optional>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "hwnas/core/parallel.hpp"
#include "hwnas/core/rng.hpp"
#include "hwnas/data/augment.hpp"
#include "hwnas/data/dataset.hpp"
#include "hwnas/error.hpp"
#include "hwnas/tensor/tensor.hpp"

namespace hwnas {

struct loader_options {
    index_t batch_size = 64;
    bool shuffle = true;
    bool drop_last = false;  // drop the final batch when it is smaller than batch_size
    std::uint64_t seed = 0;
    augment_options augment{};                 // off by default
    std::optional<channel_stats> normalize{};  // applied after augmentation, so crop padding is black
};

struct data_batch {
    tensor images;                      // [B, H, W, C]
    std::vector<std::int32_t> labels;  // [B]
};

namespace detail {

// An independent generator for each key tuple: every key reseeds from the
// previous state (reseed runs splitmix64, so neighbouring keys are unrelated).
inline rng keyed_rng(std::uint64_t seed, std::initializer_list<std::uint64_t> keys) {
    rng g(seed);
    for (auto k : keys) g.reseed(g.next_u64() + k);
    return g;
}

// Streams of keyed_rng: one for the epoch order, one for augmentation.
inline constexpr std::uint64_t order_stream = 0, augment_stream = 1;

}  // namespace detail

class loader {
public:
    explicit loader(dataset data, loader_options opts = {}) : data_(std::move(data)), opts_(std::move(opts)) {
        require(opts_.batch_size >= 1, "loader: batch_size is {}, expected >= 1", opts_.batch_size);
        opts_.augment.check();
        if (opts_.normalize) {
            detail::check_stats("loader", *opts_.normalize, data_.channels());
            normalizer_.emplace(*opts_.normalize, data_.sample_numel());
        }
        set_epoch(0);
    }

    // Selects the sample order of epoch e (a shuffle keyed by (seed, e)).
    void set_epoch(std::int64_t e) {
        require(e >= 0, "loader::set_epoch: epoch {} is negative, expected >= 0", e);
        epoch_ = e;
        order_.resize(static_cast<std::size_t>(data_.size()));
        std::iota(order_.begin(), order_.end(), index_t{0});
        if (opts_.shuffle)
            detail::keyed_rng(opts_.seed, {detail::order_stream, static_cast<std::uint64_t>(e)}).shuffle(order_);
    }

    std::int64_t epoch() const { return epoch_; }
    const std::vector<index_t>& order() const { return order_; }
    const dataset& data() const { return data_; }
    const loader_options& options() const { return opts_; }

    index_t num_batches() const {
        const index_t n = data_.size(), b = opts_.batch_size;
        return opts_.drop_last ? n / b : (n + b - 1) / b;
    }

    // Batch i of the current epoch, filled in parallel, each sample augmented
    // with a generator keyed by (seed, epoch, sample index).
    data_batch batch(index_t i) const {
        if (i < 0 || i >= num_batches())
            throw config_error(
                fmt::format("loader::batch: batch {} is out of range, the epoch has {} batches", i, num_batches()));
        const index_t begin = i * opts_.batch_size, count = std::min(opts_.batch_size, data_.size() - begin);
        const index_t h = data_.height(), w = data_.width(), c = data_.channels(), m = data_.sample_numel();
        data_batch out{tensor::uninitialized({count, h, w, c}), std::vector<std::int32_t>(static_cast<std::size_t>(count))};
        parallel_for(0, count, [&](index_t lo, index_t hi) {
            for (index_t k = lo; k < hi; ++k) {
                const index_t s = order_[static_cast<std::size_t>(begin + k)];
                float* dst = out.images.data() + k * m;
                if (opts_.augment.enabled()) {
                    rng g = detail::keyed_rng(opts_.seed, {detail::augment_stream, static_cast<std::uint64_t>(epoch_),
                                                           static_cast<std::uint64_t>(s)});
                    augment_image(data_.image(s), dst, h, w, c, draw_augment(opts_.augment, g));
                } else {
                    std::memcpy(dst, data_.image(s), static_cast<std::size_t>(m) * sizeof(float));
                }
                if (normalizer_) (*normalizer_)(dst);
                out.labels[static_cast<std::size_t>(k)] = data_.labels()[static_cast<std::size_t>(s)];
            }
        });
        return out;
    }

private:
    dataset data_;
    loader_options opts_;
    std::int64_t epoch_ = 0;
    std::vector<index_t> order_;
    std::optional<detail::normalizer> normalizer_;
};

}  // namespace hwnas
