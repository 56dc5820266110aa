#pragma once
// Zero-copy Eigen views of a tensor's storage (row-major, aligned).
#include <Eigen/Core>

#include "hwnas/tensor/tensor.hpp"

namespace hwnas {

using eigen_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using eigen_map = Eigen::Map<eigen_matrix, Eigen::Aligned64>;
using const_eigen_map = Eigen::Map<const eigen_matrix, Eigen::Aligned64>;

namespace detail {
inline void check_matrix_view(const tensor& t, index_t rows, index_t cols) {
    if (!t.defined() || rows * cols != t.numel())
        throw shape_error(fmt::format("as_matrix: cannot view a tensor of shape {} as {}x{}", t.shape(), rows, cols));
}
}  // namespace detail

// View as a rows x cols matrix; by default the last dimension is the columns.
inline eigen_map as_matrix(tensor& t, index_t rows, index_t cols) {
    detail::check_matrix_view(t, rows, cols);
    return eigen_map(t.data(), rows, cols);
}
inline const_eigen_map as_matrix(const tensor& t, index_t rows, index_t cols) {
    detail::check_matrix_view(t, rows, cols);
    return const_eigen_map(t.data(), rows, cols);
}
inline eigen_map as_matrix(tensor& t) {
    const index_t cols = t.rank() == 0 ? 1 : t.dim(-1);
    return as_matrix(t, cols == 0 ? 0 : t.numel() / cols, cols);
}
inline const_eigen_map as_matrix(const tensor& t) {
    const index_t cols = t.rank() == 0 ? 1 : t.dim(-1);
    return as_matrix(t, cols == 0 ? 0 : t.numel() / cols, cols);
}

}  // namespace hwnas
