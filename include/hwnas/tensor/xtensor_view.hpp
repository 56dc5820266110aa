#pragma once
// Zero-copy xtensor views of a tensor's storage, for slicing and I/O at the
// edges (xtensor 0.24 is kept out of hot kernels).
#include <vector>

#include <xtensor/xadapt.hpp>

#include "hwnas/tensor/tensor.hpp"

namespace hwnas {

// An xtensor expression over t's storage; writes go to t.
inline auto as_xtensor(tensor& t) {
    std::vector<std::size_t> sh(t.shape().begin(), t.shape().end());
    return xt::adapt(t.data(), static_cast<std::size_t>(t.numel()), xt::no_ownership(), sh);
}
inline auto as_xtensor(const tensor& t) {
    std::vector<std::size_t> sh(t.shape().begin(), t.shape().end());
    return xt::adapt(t.data(), static_cast<std::size_t>(t.numel()), xt::no_ownership(), sh);
}

// Copies any xtensor expression into a new hwnas tensor.
template <class E>
tensor from_xtensor(const xt::xexpression<E>& e) {
    const auto& x = e.derived_cast();
    std::vector<index_t> dims(x.shape().begin(), x.shape().end());
    tensor t = tensor::uninitialized(shape(std::span<const index_t>(dims)));
    std::copy(x.begin(), x.end(), t.data());
    return t;
}

}  // namespace hwnas
