#pragma once
// A tensor shape: up to max_rank extents, stored inline (no allocation).
#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

#include <fmt/format.h>

#include "hwnas/error.hpp"

namespace hwnas {

using index_t = std::int64_t;
inline constexpr int max_rank = 6;

class shape {
public:
    shape() = default;
    shape(std::initializer_list<index_t> dims) { assign(dims.begin(), dims.end()); }
    explicit shape(std::span<const index_t> dims) { assign(dims.begin(), dims.end()); }

    int rank() const { return rank_; }
    index_t operator[](int i) const { return dims_[static_cast<std::size_t>(i)]; }
    index_t& operator[](int i) { return dims_[static_cast<std::size_t>(i)]; }
    const index_t* begin() const { return dims_.data(); }
    const index_t* end() const { return dims_.data() + rank_; }

    index_t numel() const {
        index_t n = 1;
        for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<std::size_t>(i)];
        return n;
    }
    // Extent of dimension i, counting from the end when i < 0.
    index_t dim(int i) const { return (*this)[i < 0 ? rank_ + i : i]; }

    friend bool operator==(const shape& a, const shape& b) {
        return a.rank_ == b.rank_ && std::equal(a.begin(), a.end(), b.begin());
    }

    std::string str() const { return fmt::format("[{}]", fmt::join(begin(), end(), ",")); }

private:
    template <class It>
    void assign(It b, It e) {
        const auto n = std::distance(b, e);
        if (n > max_rank) throw shape_error(fmt::format("shape: rank {} exceeds the maximum rank {}", n, max_rank));
        rank_ = static_cast<int>(n);
        for (int i = 0; b != e; ++b, ++i) {
            if (*b < 0) throw shape_error(fmt::format("shape: extent {} of dimension {} is negative", *b, i));
            dims_[static_cast<std::size_t>(i)] = *b;
        }
    }

    std::array<index_t, max_rank> dims_{};
    int rank_ = 0;
};

}  // namespace hwnas

template <>
struct fmt::formatter<hwnas::shape> : fmt::formatter<std::string_view> {
    template <class Ctx>
    auto format(const hwnas::shape& s, Ctx& ctx) const {
        return fmt::formatter<std::string_view>::format(s.str(), ctx);
    }
};
