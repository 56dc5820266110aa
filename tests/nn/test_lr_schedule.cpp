#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include <hwnas/nn/lr_schedule.hpp>

namespace test_lr_schedule {

using namespace hwnas;

TEST_CASE("cosine schedule with linear warm-up") {
    const cosine_schedule s(0.1f, 0.001f, 10, 2);
    CHECK(s(0) == doctest::Approx(0.05));
    CHECK(s(1) == doctest::Approx(0.1));
    CHECK(s(2) == doctest::Approx(0.1));  // cosine starts at the base rate
    CHECK(s(6) == doctest::Approx(0.001 + 0.099 * 0.5));  // halfway through the cosine
    CHECK(s(9) == doctest::Approx(0.001 + 0.099 * 0.5 * (1 + std::cos(std::numbers::pi * 7 / 8))));
    CHECK(s(10) == doctest::Approx(0.001));
    CHECK(s(1000) == doctest::Approx(0.001));
    // works through the type-erased lr_schedule too
    const lr_schedule f = cosine_schedule(0.025f, 0.0f, 4);
    CHECK(f(0) == doctest::Approx(0.025));
    CHECK(f(2) == doctest::Approx(0.0125));
}

TEST_CASE("step schedule") {
    const step_schedule s(0.1f, 0.5f, 3);
    CHECK(s(0) == doctest::Approx(0.1));
    CHECK(s(2) == doctest::Approx(0.1));
    CHECK(s(3) == doctest::Approx(0.05));
    CHECK(s(7) == doctest::Approx(0.025));
}

TEST_CASE("schedule arguments are validated") {
    CHECK_THROWS_WITH_AS(cosine_schedule(0.1f, 0.2f, 10),
                         "cosine_schedule: base lr 0.1 and minimum lr 0.2 are invalid, expected 0 <= min <= base",
                         config_error);
    CHECK_THROWS_WITH_AS(cosine_schedule(0.1f, 0.0f, 10, 10),
                         "cosine_schedule: 10 warm-up steps for 10 total steps, expected 0 <= warm-up < total",
                         config_error);
    CHECK_THROWS_WITH_AS(cosine_schedule(0.1f, 0.0f, 10)(-1), "cosine_schedule: step -1 is negative", config_error);
    CHECK_THROWS_WITH_AS(step_schedule(-0.1f, 0.5f, 1), "step_schedule: base lr -0.1 is negative", config_error);
    CHECK_THROWS_WITH_AS(step_schedule(0.1f, 1.5f, 1), "step_schedule: gamma 1.5 is out of range, expected (0, 1]",
                         config_error);
    CHECK_THROWS_WITH_AS(step_schedule(0.1f, 0.5f, 0), "step_schedule: step size 0 must be at least 1", config_error);
    CHECK_THROWS_WITH_AS(step_schedule(0.1f, 0.5f, 2)(-3), "step_schedule: step -3 is negative", config_error);
}

}  // namespace test_lr_schedule
