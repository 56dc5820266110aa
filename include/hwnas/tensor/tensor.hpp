#pragma once
// hwnas::tensor: float32, N-d, contiguous, row-major, 64-byte aligned.
// Copies share storage (like a handle); clone() makes a deep copy. Activations
// are channels-last: a 4-d activation is [N, H, W, C] (see README, design notes).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <span>
#include <vector>

#include "hwnas/error.hpp"
#include "hwnas/tensor/shape.hpp"
#include "hwnas/tensor/storage.hpp"

namespace hwnas {

class tensor {
public:
    tensor() = default;

    // Zero-filled tensor of the given shape.
    explicit tensor(const hwnas::shape& s) : tensor(uninitialized(s)) { fill(0.0f); }

    static tensor uninitialized(const hwnas::shape& s) {
        tensor t;
        t.shape_ = s;
        t.data_ = detail::allocate_floats(static_cast<std::size_t>(s.numel()));
        return t;
    }
    static tensor zeros(const hwnas::shape& s) { return tensor(s); }
    static tensor full(const hwnas::shape& s, float v) {
        tensor t = uninitialized(s);
        t.fill(v);
        return t;
    }
    static tensor ones(const hwnas::shape& s) { return full(s, 1.0f); }
    static tensor scalar(float v) { return full(hwnas::shape{}, v); }
    static tensor from(const hwnas::shape& s, std::span<const float> values) {
        if (static_cast<index_t>(values.size()) != s.numel())
            throw shape_error(fmt::format("tensor::from: {} values given, shape {} expects {}", values.size(), s,
                                          s.numel()));
        tensor t = uninitialized(s);
        std::copy(values.begin(), values.end(), t.data());
        return t;
    }
    static tensor from(const hwnas::shape& s, std::initializer_list<float> values) {
        return from(s, std::span<const float>(values.begin(), values.size()));
    }

    // A tensor that holds no storage; every op rejects it.
    bool defined() const { return static_cast<bool>(data_); }
    const hwnas::shape& shape() const { return shape_; }
    int rank() const { return shape_.rank(); }
    index_t dim(int i) const { return shape_.dim(i); }
    index_t numel() const { return defined() ? shape_.numel() : 0; }
    bool empty() const { return numel() == 0; }

    float* data() { return data_.get(); }
    const float* data() const { return data_.get(); }
    float* begin() { return data(); }
    float* end() { return data() + numel(); }
    const float* begin() const { return data(); }
    const float* end() const { return data() + numel(); }
    std::span<float> span() { return {data(), static_cast<std::size_t>(numel())}; }
    std::span<const float> span() const { return {data(), static_cast<std::size_t>(numel())}; }

    // Flat (row-major) element access; unchecked.
    float& operator[](index_t i) { return data_[static_cast<std::size_t>(i)]; }
    float operator[](index_t i) const { return data_[static_cast<std::size_t>(i)]; }

    // Checked element access by multi-index.
    float& at(std::initializer_list<index_t> idx) { return data_[static_cast<std::size_t>(offset(idx))]; }
    float at(std::initializer_list<index_t> idx) const { return data_[static_cast<std::size_t>(offset(idx))]; }

    // The single value of a one-element tensor.
    float item() const {
        if (numel() != 1)
            throw shape_error(fmt::format("tensor::item: tensor has shape {} ({} elements), expected 1 element",
                                          shape_, numel()));
        return data_[0];
    }

    void fill(float v) { std::fill(begin(), end(), v); }

    tensor clone() const {
        tensor t = uninitialized(shape_);
        if (defined()) std::memcpy(t.data(), data(), static_cast<std::size_t>(numel()) * sizeof(float));
        return t;
    }

    // Same storage, new shape with the same element count.
    tensor reshape(const hwnas::shape& s) const {
        if (s.numel() != shape_.numel())
            throw shape_error(fmt::format("tensor::reshape: cannot view {} ({} elements) as {} ({} elements)", shape_,
                                          shape_.numel(), s, s.numel()));
        tensor t = *this;
        t.shape_ = s;
        return t;
    }

    bool shares_storage(const tensor& o) const { return data_ == o.data_; }
    // Whether this handle is the only one on its storage (safe to modify in place).
    bool unique() const { return data_.use_count() == 1; }

    bool all_finite() const {
        return std::all_of(begin(), end(), [](float v) { return std::isfinite(v); });
    }

private:
    index_t offset(std::initializer_list<index_t> idx) const {
        if (static_cast<int>(idx.size()) != rank())
            throw shape_error(fmt::format("tensor::at: {} indices given for a rank-{} tensor of shape {}", idx.size(),
                                          rank(), shape_));
        index_t off = 0;
        int d = 0;
        for (index_t i : idx) {
            if (i < 0 || i >= shape_[d])
                throw shape_error(fmt::format("tensor::at: index {} out of range for dimension {} of shape {}", i, d,
                                              shape_));
            off = off * shape_[d] + i;
            ++d;
        }
        return off;
    }

    std::shared_ptr<float[]> data_;
    hwnas::shape shape_;
};

}  // namespace hwnas
