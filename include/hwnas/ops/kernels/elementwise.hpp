#pragma once
// Elementwise loops on raw buffers. Plain loops the compiler vectorizes; no
// autograd here.
#include <cstdint>

namespace hwnas::kernels {

inline void add_inplace(float* __restrict y, const float* __restrict x, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] += x[i];
}
inline void axpy(float a, const float* __restrict x, float* __restrict y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}
inline void scale_to(float a, const float* __restrict x, float* __restrict y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = a * x[i];
}
inline void add_to(const float* __restrict a, const float* __restrict b, float* __restrict y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}
inline void mul_to(const float* __restrict a, const float* __restrict b, float* __restrict y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = a[i] * b[i];
}
inline double dot(const float* __restrict a, const float* __restrict b, std::int64_t n) {
    double s = 0;
    for (std::int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * b[i];
    return s;
}

}  // namespace hwnas::kernels
