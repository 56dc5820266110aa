#pragma once
// set_num_threads governs every parallel kernel of hwnas, GEMMs included
// (OpenBLAS runs single-threaded inside hwnas's threads).
// parallel_for splits a range into one fixed chunk per thread, so for a given
// thread count the work partition, and therefore every result, is the same on
// every run.
#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <cblas.h>

#include "hwnas/error.hpp"

namespace hwnas {

namespace detail {

class thread_pool {
public:
    static thread_pool& instance() {
        static thread_pool pool;
        return pool;
    }

    int size() const { return size_; }

    // size_ counts the threads that did start, so a pool whose resize threw
    // (a thread could not be created) still runs its tasks instead of waiting
    // for workers that do not exist.
    void resize(int n) {
        stop_workers();
        size_ = 1;
        for (int i = 1; i < n; ++i) {
            workers_.emplace_back([this, i, g = generation_] { worker_loop(i, g); });
            size_ = i + 1;
        }
    }

    // Runs task(t) for t in [0, size()) on size() threads (the caller is thread 0).
    void run(const std::function<void(int)>& task) {
        if (size_ == 1 || inside_worker()) {
            for (int t = 0; t < size_; ++t) task(t);
            return;
        }
        std::unique_lock lock(mutex_);
        task_ = &task;
        pending_ = size_ - 1;
        error_ = nullptr;
        ++generation_;
        lock.unlock();
        start_.notify_all();
        run_one(task, 0);
        lock.lock();
        done_.wait(lock, [this] { return pending_ == 0; });
        task_ = nullptr;
        if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    }

    ~thread_pool() { stop_workers(); }

private:
    thread_pool() {
        openblas_set_num_threads(1);  // GEMMs are split over this pool instead (kernels/gemm.hpp)
        resize(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    }

    static bool& inside_worker() {
        thread_local bool flag = false;
        return flag;
    }

    void run_one(const std::function<void(int)>& task, int t) {
        const bool was = inside_worker();
        inside_worker() = true;
        try {
            task(t);
        } catch (...) {
            std::lock_guard lock(mutex_);
            if (!error_) error_ = std::current_exception();
        }
        inside_worker() = was;
    }

    // seen: the generation at start, so a new worker waits for the next task.
    void worker_loop(int t, std::uint64_t seen) {
        for (;;) {
            std::unique_lock lock(mutex_);
            start_.wait(lock, [&] { return stopping_ || generation_ != seen; });
            if (stopping_) return;
            seen = generation_;
            const auto* task = task_;
            lock.unlock();
            run_one(*task, t);
            lock.lock();
            if (--pending_ == 0) done_.notify_one();
        }
    }

    void stop_workers() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        start_.notify_all();
        for (auto& w : workers_) w.join();
        workers_.clear();
        stopping_ = false;
    }

    int size_ = 1;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable start_, done_;
    const std::function<void(int)>* task_ = nullptr;
    int pending_ = 0;
    std::uint64_t generation_ = 0;
    bool stopping_ = false;
    std::exception_ptr error_;
};

}  // namespace detail

inline int num_threads() { return detail::thread_pool::instance().size(); }

inline void set_num_threads(int n) {
    require(n >= 1 && n <= 1024, "set_num_threads: got {} threads, expected 1..1024", n);
    if (n != num_threads()) detail::thread_pool::instance().resize(n);
}

// Runs on n threads (n <= 0: the current count) until the scope ends, then
// gives back the count it found, also when the scope is left by an exception.
class thread_count_scope {
public:
    explicit thread_count_scope(int n) : before_(num_threads()) {
        if (n > 0) set_num_threads(n);
    }
    ~thread_count_scope() {
        try {
            set_num_threads(before_);
        } catch (...) {
            // Threads could not be started again: the pool keeps running on those that did.
        }
    }
    thread_count_scope(const thread_count_scope&) = delete;
    thread_count_scope& operator=(const thread_count_scope&) = delete;

private:
    int before_;
};

// Calls f(lo, hi) on disjoint chunks covering [begin, end), one chunk per
// thread, with chunk boundaries fixed by (begin, end, num_threads()).
template <class F>
void parallel_for(std::int64_t begin, std::int64_t end, F&& f) {
    const std::int64_t n = end - begin;
    if (n <= 0) return;
    const int threads = static_cast<int>(std::min<std::int64_t>(num_threads(), n));
    if (threads == 1) {
        f(begin, end);
        return;
    }
    detail::thread_pool::instance().run([&](int t) {
        if (t >= threads) return;
        const std::int64_t lo = begin + n * t / threads, hi = begin + n * (t + 1) / threads;
        f(lo, hi);
    });
}

}  // namespace hwnas
