#pragma once
// Input validation shared by every op: messages name the op, what came and
// what was expected.
#include <string_view>

#include "hwnas/autograd/var.hpp"

namespace hwnas::detail {

inline void check_input(std::string_view op, const var& x, std::string_view what = "input") {
    if (!x.defined()) throw config_error(fmt::format("{}: {} is an empty var", op, what));
    if (x.numel() == 0) throw shape_error(fmt::format("{}: {} is empty (shape {})", op, what, x.shape()));
}

inline void check_rank(std::string_view op, const var& x, int rank, std::string_view layout,
                       std::string_view what = "input") {
    check_input(op, x, what);
    if (x.shape().rank() != rank)
        throw shape_error(fmt::format("{}: {} has rank {} (shape {}), expected rank {} {}", op, what,
                                      x.shape().rank(), x.shape(), rank, layout));
}

inline void check_min_rank(std::string_view op, const var& x, int min_rank, std::string_view layout,
                           std::string_view what = "input") {
    check_input(op, x, what);
    if (x.shape().rank() < min_rank)
        throw shape_error(fmt::format("{}: {} has rank {} (shape {}), expected rank >= {} {}", op, what,
                                      x.shape().rank(), x.shape(), min_rank, layout));
}

inline void check_same_shape(std::string_view op, const var& a, const var& b) {
    check_input(op, a, "first input");
    check_input(op, b, "second input");
    if (!(a.shape() == b.shape()))
        throw shape_error(fmt::format("{}: inputs have shapes {} and {}, expected equal shapes", op, a.shape(),
                                      b.shape()));
}

}  // namespace hwnas::detail
