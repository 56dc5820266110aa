#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include <hwnas/core/rng.hpp>
#include <hwnas/latency/metrics.hpp>

namespace test_metrics {

using namespace hwnas;

namespace {

// Kendall tau-b by its definition, over all pairs.
double kendall_tau_pairs(const std::vector<double>& a, const std::vector<double>& b) {
    double c = 0, d = 0, ta = 0, tb = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
        for (std::size_t j = i + 1; j < a.size(); ++j) {
            const double s = (a[i] - a[j]) * (b[i] - b[j]);
            if (a[i] == a[j] && b[i] == b[j]) continue;  // tied in both: counts in neither
            if (a[i] == a[j]) ++ta;
            else if (b[i] == b[j]) ++tb;
            else if (s > 0) ++c;
            else ++d;
        }
    return (c - d) / std::sqrt((c + d + ta) * (c + d + tb));
}

}  // namespace

TEST_CASE("error metrics on a hand-computed example") {
    const std::vector<double> m{1, 2, 3, 4}, p{1.08, 2.3, 3.0, 4.1};
    // relative errors 0.08, 0.15, 0, 0.025
    CHECK(mape(m, p) == doctest::Approx(100 * 0.255 / 4));
    CHECK(rmse(m, p) == doctest::Approx(std::sqrt((0.0064 + 0.09 + 0 + 0.01) / 4)));
    CHECK(within(m, p, 0.05) == 0.5);
    CHECK(within(m, p, 0.10) == 0.75);
    const prediction_metrics all = evaluate_predictions(m, p);
    CHECK(all.n == 4);
    CHECK(all.within10 == 0.75);
    CHECK(all.kendall_tau == doctest::Approx(1.0));
    CHECK(all.spearman_rho == doctest::Approx(1.0));
}

TEST_CASE("rank correlations with ties match hand-computed values") {
    // Pairs: 3 concordant, 1 discordant, 1 tied in a only, 1 tied in b only.
    // tau_b = (3 - 1) / sqrt(5 * 5); ranks a = [1, 2.5, 2.5, 4], b = [1, 4, 2.5, 2.5].
    const std::vector<double> a{1, 2, 2, 3}, b{1, 3, 2, 2};
    CHECK(kendall_tau(a, b) == doctest::Approx(0.4));
    CHECK(average_ranks(a) == std::vector<double>{1, 2.5, 2.5, 4});
    CHECK(spearman_rho(a, b) == doctest::Approx(0.5));

    const std::vector<double> up{1, 2, 3, 4, 5}, down{9, 7, 5, 3, 1}, flat{2, 2, 2, 2, 2};
    CHECK(kendall_tau(up, down) == doctest::Approx(-1.0));
    CHECK(spearman_rho(up, down) == doctest::Approx(-1.0));
    CHECK(std::isnan(kendall_tau(up, flat)));
    CHECK(std::isnan(spearman_rho(flat, up)));
}

TEST_CASE("kendall_tau in n log n agrees with the pairwise definition") {
    rng gen(3);
    for (int trial = 0; trial < 5; ++trial) {
        std::vector<double> a(300), b(300);
        for (std::size_t i = 0; i < a.size(); ++i) {
            a[i] = static_cast<double>(gen.below(20));  // many ties on both sides
            b[i] = a[i] + static_cast<double>(gen.below(8));
        }
        CHECK(kendall_tau(a, b) == doctest::Approx(kendall_tau_pairs(a, b)).epsilon(1e-12));
    }
}

TEST_CASE("metric input errors") {
    const std::vector<double> three{1, 2, 3}, two{1, 2}, zero{0, 1}, one{1};
    CHECK_THROWS_WITH_AS(mape(three, two), "mape: 3 measured and 2 predicted values, expected equal counts",
                         config_error);
    CHECK_THROWS_WITH_AS(within(zero, two, 0.1), "within: measured value 0 is 0, expected a finite non-zero value",
                         config_error);
    CHECK_THROWS_WITH_AS(kendall_tau(one, one), "kendall_tau: 1 values, expected at least 2", config_error);
    CHECK_THROWS_WITH_AS(rmse(std::vector<double>{}, std::vector<double>{}), "rmse: 0 values, expected at least 1",
                         config_error);
}

}  // namespace test_metrics
