#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include <hwnas/core/parallel.hpp>
#include <hwnas/core/rng.hpp>

namespace test_core {

using namespace hwnas;

TEST_CASE("rng gives the same stream for the same seed and its state round-trips") {
    rng a(7), b(7), c(8);
    for (int i = 0; i < 5; ++i) CHECK(a.next_u64() == b.next_u64());
    CHECK(a.next_u64() != c.next_u64());
    rng d(0);
    d.set_state(a.state());
    CHECK(d.uniform() == a.uniform());
    double s = 0;
    for (int i = 0; i < 10000; ++i) {
        const float u = a.uniform();
        CHECK_MESSAGE((u >= 0.0f && u < 1.0f), "uniform out of range");
        s += a.normal();
    }
    CHECK(std::abs(s / 10000) < 0.05);
    CHECK_THROWS_WITH_AS(a.below(0), "rng::below: the range is empty (n = 0), expected n >= 1", config_error);
}

TEST_CASE("parallel_for covers the range once, with fixed chunks, at any thread count") {
    for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        std::vector<std::atomic<int>> hits(101);
        parallel_for(0, 101, [&](std::int64_t lo, std::int64_t hi) {
            for (auto i = lo; i < hi; ++i) hits[static_cast<std::size_t>(i)]++;
        });
        for (auto& h : hits) CHECK(h == 1);
    }
    CHECK_THROWS_WITH_AS(set_num_threads(0), "set_num_threads: got 0 threads, expected 1..1024", config_error);
    CHECK_THROWS_AS(parallel_for(0, 10, [](std::int64_t, std::int64_t) { throw config_error("inner"); }),
                    config_error);
    set_num_threads(2);
}

TEST_CASE("thread_count_scope gives back the count it found, also when left by an exception") {
    set_num_threads(2);
    {
        const thread_count_scope one(1);
        CHECK(num_threads() == 1);
        {
            const thread_count_scope keep(0);  // 0: the current count
            CHECK(num_threads() == 1);
        }
        CHECK(num_threads() == 1);
    }
    CHECK(num_threads() == 2);
    CHECK_THROWS_AS(([] {
                        const thread_count_scope three(3);
                        CHECK(num_threads() == 3);
                        throw std::runtime_error("measurement failed");
                    }()),
                    std::runtime_error);
    CHECK(num_threads() == 2);
    std::atomic<int> sum{0};
    parallel_for(0, 100, [&](std::int64_t lo, std::int64_t hi) { sum += static_cast<int>(hi - lo); });
    CHECK(sum == 100);  // the pool still runs its tasks after the switches
}

}  // namespace test_core
