#pragma once
// The one exception hierarchy of hwnas. Every message says where (the
// function or file), what was wrong, and what was expected.
#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace hwnas {

class error : public std::runtime_error {
public:
    explicit error(const std::string& what) : std::runtime_error(what) {}
};

// Tensor shapes or ranks that do not fit the operation.
class shape_error : public error {
public:
    using error::error;
};

// An invalid argument, option, architecture or configuration.
class config_error : public error {
public:
    using error::error;
};

// A missing, truncated or corrupt file, or a failed write.
class io_error : public error {
public:
    using error::error;
};

// NaN/Inf where a finite number is required (a loss, a gradient).
class numeric_error : public error {
public:
    using error::error;
};

// Throws E with a formatted message when cond is false.
template <class E = config_error, class... Args>
inline void require(bool cond, fmt::format_string<Args...> f, Args&&... args) {
    if (!cond) throw E(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace hwnas
