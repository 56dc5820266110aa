#pragma once
// 64-byte aligned float buffers with a size-keyed cache. Training allocates the
// same activation sizes every step; returning them to glibc would unmap and
// re-fault large blocks each step (the cost PyTorch avoids with raised malloc
// thresholds). Under AddressSanitizer the cache is off so misuse stays visible.
#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hwnas {

inline constexpr std::size_t tensor_alignment = 64;

namespace detail {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool buffer_cache_enabled = false;
#else
inline constexpr bool buffer_cache_enabled = true;
#endif

class buffer_cache {
public:
    static buffer_cache& instance() {
        static buffer_cache* c = new buffer_cache();  // never destroyed: tensors may outlive statics
        return *c;
    }

    static std::size_t rounded(std::size_t bytes) {
        const std::size_t unit = bytes >= 65536 ? 4096 : tensor_alignment;
        return (bytes + unit - 1) / unit * unit;
    }

    void* acquire(std::size_t bytes) {
        bytes = rounded(bytes == 0 ? 1 : bytes);
        std::lock_guard lock(mutex_);
        in_use_ += bytes;
        peak_ = std::max(peak_, in_use_);
        if (buffer_cache_enabled) {
            auto it = free_.find(bytes);
            if (it != free_.end() && !it->second.empty()) {
                void* p = it->second.back();
                it->second.pop_back();
                cached_bytes_ -= bytes;
                return p;
            }
        }
        void* p = std::aligned_alloc(tensor_alignment, bytes);
        if (!p) {
            in_use_ -= bytes;
            throw std::bad_alloc();
        }
        return p;
    }

    void release(void* p, std::size_t bytes) {
        bytes = rounded(bytes == 0 ? 1 : bytes);
        std::lock_guard lock(mutex_);
        in_use_ -= bytes;
        if (buffer_cache_enabled) {
            if (cached_bytes_ + bytes <= limit_bytes_) {
                free_[bytes].push_back(p);
                cached_bytes_ += bytes;
                return;
            }
        }
        std::free(p);
    }

    // Frees every cached buffer (tensors in use are untouched).
    void trim() {
        std::lock_guard lock(mutex_);
        for (auto& [size, list] : free_)
            for (void* p : list) std::free(p);
        free_.clear();
        cached_bytes_ = 0;
    }

    std::size_t cached_bytes() const {
        std::lock_guard lock(mutex_);
        return cached_bytes_;
    }
    std::pair<std::size_t, std::size_t> in_use_and_peak() const {
        std::lock_guard lock(mutex_);
        return {in_use_, peak_};
    }
    void reset_peak() {
        std::lock_guard lock(mutex_);
        peak_ = in_use_;
    }

private:
    mutable std::mutex mutex_;
    std::unordered_map<std::size_t, std::vector<void*>> free_;
    std::size_t cached_bytes_ = 0;
    std::size_t in_use_ = 0, peak_ = 0;  // bytes of live tensor buffers, and their peak
    std::size_t limit_bytes_ = std::size_t{4} << 30;
};

// Shared ownership of an aligned float buffer of n elements (uninitialized).
inline std::shared_ptr<float[]> allocate_floats(std::size_t n) {
    const std::size_t bytes = n * sizeof(float);
    auto* p = static_cast<float*>(buffer_cache::instance().acquire(bytes));
    return std::shared_ptr<float[]>(p, [bytes](float* q) { buffer_cache::instance().release(q, bytes); });
}

}  // namespace detail

// Returns cached, unused tensor memory to the system.
inline void release_cached_memory() { detail::buffer_cache::instance().trim(); }

// Bytes held by live tensor buffers now, and at most since the start or the
// last reset_tensor_memory_peak(): the memory a phase of work needs for its
// tensors, which the process's resident size cannot show once freed memory
// is reused.
struct tensor_memory {
    std::size_t in_use_bytes = 0, peak_bytes = 0;
};
inline tensor_memory tensor_memory_usage() {
    const auto [in_use, peak] = detail::buffer_cache::instance().in_use_and_peak();
    return {in_use, peak};
}
inline void reset_tensor_memory_peak() { detail::buffer_cache::instance().reset_peak(); }

}  // namespace hwnas
