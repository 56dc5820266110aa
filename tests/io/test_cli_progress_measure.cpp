#include <chrono>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <hwnas/io/cli.hpp>
#include <hwnas/io/progress.hpp>
#include <hwnas/latency/measure.hpp>

namespace test_cli_progress_measure {

using namespace hwnas;

TEST_CASE("cli parses options and flags and names bad ones") {
    cli c("prog", "test program");
    c.option("out", "", "output directory", true).option("epochs", "5", "epochs").flag("full", "long run");
    const char* argv[] = {"prog", "--out", "/tmp/x", "--epochs=7", "--full"};
    REQUIRE(c.parse(5, argv));
    CHECK(c.str("out") == "/tmp/x");
    CHECK(c.integer("epochs") == 7);
    CHECK(c.flag_set("full"));
    CHECK(c.given("epochs"));

    cli d("prog", "t");
    d.option("out", "", "output directory", true).option("lr", "0.1", "learning rate");
    const char* bad[] = {"prog", "--nope"};
    CHECK_THROWS_WITH_AS(d.parse(2, bad), "prog: unknown option --nope (see --help)", config_error);
    const char* missing[] = {"prog"};
    CHECK_THROWS_WITH_AS(d.parse(1, missing), "prog: option --out is required (output directory)", config_error);
    const char* notnum[] = {"prog", "--out", "x", "--lr", "fast"};
    REQUIRE(d.parse(5, notnum));
    CHECK_THROWS_WITH_AS(d.real("lr"), "prog: option --lr expects a number, got 'fast'", config_error);
    const char* help[] = {"prog", "--help"};
    CHECK_FALSE(d.parse(2, help));
    CHECK(d.usage().find("--lr V") != std::string::npos);
}

TEST_CASE("cli reads comma-separated number lists and names a bad one") {
    cli c("prog", "test program");
    c.option("lambdas", "0,0.5,2", "weights");
    const char* ok[] = {"prog"};
    REQUIRE(c.parse(1, ok));
    CHECK(c.reals("lambdas") == std::vector<double>{0, 0.5, 2});
    const char* bad[] = {"prog", "--lambdas", "1,,2"};
    REQUIRE(c.parse(3, bad));
    CHECK_THROWS_WITH_AS(c.reals("lambdas"), "prog: option --lambdas expects comma-separated numbers, got '1,,2'",
                         config_error);
}

TEST_CASE("durations read like a person would write them") {
    CHECK(format_duration(3.25) == "3.2s");
    CHECK(format_duration(125) == "2m05s");
    CHECK(format_duration(3725) == "1h02m05s");
}

TEST_CASE("measure reports ordered statistics with the thread count") {
    int calls = 0;
    timing t = measure([&] { ++calls; }, 2, 5);
    CHECK(calls == 7);
    CHECK(t.runs == 5);
    CHECK(t.min_ms <= t.median_ms);
    CHECK(t.median_ms <= t.max_ms);
    CHECK(t.threads == num_threads());
    CHECK_THROWS_WITH_AS(measure([] {}, 0, 0),
                         "measure: got 0 runs and 0 warm-up runs, expected runs >= 1, warm-up >= 0", config_error);
    CHECK(describe_machine().logical_cpus >= 1);
    CHECK(peak_rss_mb() > 0);
}

TEST_CASE("the peak resident memory resets to the current one") {
    {
        std::vector<char> big(std::size_t{64} << 20, 1);  // 64 MiB, touched
        CHECK(current_rss_mb() >= 64);
    }
    if (reset_peak_rss()) {
        // After the reset the peak is the resident memory then, not the 64 MiB above it.
        CHECK(peak_rss_mb() < current_rss_mb() + 32);
    }
    CHECK(peak_rss_mb() >= current_rss_mb() - 1);
}

TEST_CASE("measure_interleaved rotates the order and summarizes per-round medians") {
    std::vector<int> order;
    std::vector<std::function<void()>> fs{
        [&] { order.push_back(0); },
        [&] {
            order.push_back(1);
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }};
    const std::vector<timing> t = measure_interleaved(fs, 2, 1, 3);
    REQUIRE(t.size() == 2);
    // Round 0: f0 then f1 (4 calls each); round 1: f1 first.
    CHECK(order == std::vector<int>{0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0});
    CHECK(t[0].runs == 6);
    CHECK(t[1].min_ms >= 1.0);  // a sleep of 1 ms cannot measure shorter
    CHECK(t[0].median_ms < t[1].median_ms);
    CHECK_THROWS_WITH_AS(measure_interleaved(fs, 0), "measure_interleaved: got 0 rounds, expected >= 1", config_error);
}

}  // namespace test_cli_progress_measure
