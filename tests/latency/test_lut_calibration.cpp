#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include <hwnas/latency/lut.hpp>
#include <hwnas/space/presets.hpp>
#include <hwnas/space/sample.hpp>

namespace test_lut_calibration {

using namespace hwnas;

TEST_CASE("lut calibration recovers offset and scale and keeps dead DAG nodes free") {
    const search_space s = gram_fmnist();
    latency_lut l = detail::lut_skeleton(s);
    for (std::size_t p = 0; p < l.ms.size(); ++p)
        for (std::size_t c = 0; c < l.ms[p].size(); ++c) l.ms[p][c] = 0.01 * static_cast<double>(1 + p + 2 * c);
    l.fixed_ms = 0.2;
    const cost_table table = to_cost_table(l, &s);
    rng gen(3);
    std::vector<architecture> archs;
    std::vector<double> measured;
    for (int i = 0; i < 10; ++i) {
        archs.push_back(sample_architecture(s, gen));
        measured.push_back(0.05 + 1.5 * table.of(archs.back()));
    }
    const lut_calibration c = fit_lut_calibration(l, s, archs, measured);
    CHECK(c.scale == doctest::Approx(1.5));
    CHECK(c.offset_ms == doctest::Approx(0.05));
    const cost_table fixed = to_cost_table(calibrated(l, c), &s);
    for (std::size_t i = 0; i < archs.size(); ++i) CHECK(fixed.of(archs[i]) == doctest::Approx(measured[i]));
    CHECK_THROWS_WITH_AS(fit_lut_calibration(l, s, {archs.data(), 1}, {measured.data(), 1}),
                         "fit_lut_calibration: 1 architectures and 1 measurements, expected equal counts of at least 2",
                         config_error);
    const std::vector<architecture> same{archs[0], archs[0]};
    const std::vector<double> two{1.0, 2.0};
    CHECK_THROWS_WITH_AS(fit_lut_calibration(l, s, same, two),
                         "fit_lut_calibration: the architectures' table latencies are all equal; cannot fit a scale",
                         numeric_error);
    // Growing measurements, but with an offset that makes the shared part (0.2 ms alone) negative: 5 x 0.2 - 1.2.
    std::vector<double> noisy;
    for (const architecture& a : archs) noisy.push_back(5.0 * table.of(a) - 1.2);
    REQUIRE(*std::min_element(noisy.begin(), noisy.end()) > 0);
    CHECK_THROWS_WITH_AS(fit_lut_calibration(l, s, archs, noisy), doctest::Contains("shares -0.2000 ms (0.2000 ms "
                                                                                     "measured alone), expected > 0"),
                         numeric_error);
}

}  // namespace test_lut_calibration
