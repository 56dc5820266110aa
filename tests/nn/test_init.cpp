#include <doctest/doctest.h>

#include <cmath>

#include <hwnas/nn/init.hpp>

namespace test_init {

using namespace hwnas;

namespace {
struct moments {
    double mean = 0, var = 0, min = 1e30, max = -1e30;
};
moments moments_of(const tensor& t) {
    moments m;
    for (float v : t) {
        m.mean += v;
        m.min = std::min<double>(m.min, v);
        m.max = std::max<double>(m.max, v);
    }
    m.mean /= static_cast<double>(t.numel());
    for (float v : t) m.var += (v - m.mean) * (v - m.mean);
    m.var /= static_cast<double>(t.numel());
    return m;
}
}  // namespace

TEST_CASE("fans of linear and HWIO conv weights") {
    CHECK(compute_fans({16, 32}).in == 16);
    CHECK(compute_fans({16, 32}).out == 32);
    const fans f = compute_fans({3, 3, 8, 24});  // 3x3 conv, 8 input channels per group, 24 outputs
    CHECK(f.in == 72);
    CHECK(f.out == 216);
    CHECK_THROWS_WITH_AS(compute_fans({5}),
                         "compute_fans: weight has shape [5], expected rank 2 [in, out] or rank 4 "
                         "[KH, KW, Cin/groups, Cout]",
                         shape_error);
    tensor empty({0, 4});
    rng g(1);
    CHECK_THROWS_WITH_AS(kaiming_normal(empty, g), "compute_fans: weight of shape [0,4] has a zero fan", shape_error);
}

TEST_CASE("kaiming normal has variance gain^2 / fan") {
    rng g(7);
    tensor w({3, 3, 16, 64});
    kaiming_normal(w, g, fan_mode::fan_in);
    auto m = moments_of(w);
    CHECK(m.mean == doctest::Approx(0).epsilon(0.01).scale(1));
    CHECK(m.var == doctest::Approx(2.0 / 144).epsilon(0.05));
    kaiming_normal(w, g, fan_mode::fan_out);
    CHECK(moments_of(w).var == doctest::Approx(2.0 / 576).epsilon(0.05));
    kaiming_normal(w, g, fan_mode::fan_in, 1.0f);
    CHECK(moments_of(w).var == doctest::Approx(1.0 / 144).epsilon(0.05));
}

TEST_CASE("kaiming uniform and uniform stay in their bounds") {
    rng g(3);
    tensor w({64, 128});
    kaiming_uniform(w, g);
    const double b = std::sqrt(2.0) * std::sqrt(3.0 / 64);
    auto m = moments_of(w);
    CHECK(m.min >= -b);
    CHECK(m.max < b);
    CHECK(m.var == doctest::Approx(2.0 / 64).epsilon(0.05));
    uniform_init(w, g, 0.25f, 0.5f);
    m = moments_of(w);
    CHECK(m.min >= 0.25);
    CHECK(m.max < 0.5);
    CHECK_THROWS_WITH_AS(uniform_init(w, g, 1.0f, 1.0f), "uniform_init: the range [1, 1) is empty, expected lo < hi",
                         config_error);
}

TEST_CASE("initialization is reproducible from the seed") {
    tensor a({4, 5}), b({4, 5});
    rng g1(42), g2(42);
    kaiming_normal(a, g1);
    kaiming_normal(b, g2);
    CHECK(std::equal(a.begin(), a.end(), b.begin()));
}

}  // namespace test_init
