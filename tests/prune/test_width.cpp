#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include <hwnas/prune/width.hpp>
#include <hwnas/space/architecture.hpp>
#include <hwnas/space/cost.hpp>

using namespace hwnas;

namespace test_prune_width {

// Stem 8, two stages (widths 8 and 12), head 16: small enough to build many times.
inline dag_config tiny_width_config() {
    const op_spec t{"mbconv_k3_e2", "mbconv", {3, 2, 1}};
    return {"tiny_dag", {8, 8, 1}, conv3x3_stem(8, 1), {{2, 8, 1, t}, {2, 12, 2, t}},
            {{"dw3x3", "dw", {3}}, {"mbconv_k3_e3", "mbconv", {3, 3, 1}}},
            {op_spec{"conv1x1", "conv_bn_relu", {1}}, 16, 3}};
}

}  // namespace test_prune_width
using namespace test_prune_width;

TEST_CASE("scale_width rounds to a multiple of 4 and keeps at least 4") {
    CHECK(scale_width(24, 0.5) == 12);
    CHECK(scale_width(40, 0.5) == 20);
    CHECK(scale_width(64, 0.3) == 20);  // 19.2 -> 20
    CHECK(scale_width(64, 0.28) == 16); // 17.92 -> 16
    CHECK(scale_width(256, 0.75) == 192);
    CHECK(scale_width(16, 0.1) == 4);
    CHECK(scale_width(24, 1.0) == 24);
    CHECK_THROWS_WITH_AS(scale_width(24, 0.0), "scale_width: multiplier 0, expected a positive finite number",
                         config_error);
    CHECK_THROWS_WITH_AS(scale_widths(gram_fmnist_config(), -1), "scale_widths: multiplier -1, expected a positive finite number",
                         config_error);
}

TEST_CASE("scale_widths scales stem stage and head widths and keeps architectures valid") {
    const dag_config c = gram_fmnist_config();
    CHECK(dag_space(c).nodes().size() == gram_fmnist().nodes().size());
    const dag_config h = scale_widths(c, 0.5);
    CHECK(h.name == "gram_fmnist_w0.5");
    CHECK(h.stem.channels == 8);
    REQUIRE(h.stages.size() == 3);
    CHECK(h.stages[0].channels == 12);
    CHECK(h.stages[1].channels == 20);
    CHECK(h.stages[2].channels == 32);
    CHECK(h.stages[1].stride == 2);
    CHECK(h.stages[1].nodes == 4);
    CHECK(h.head.channels == 128);
    CHECK(h.head.classes == 10);
    CHECK(h.candidates.size() == c.candidates.size());

    const search_space full = dag_space(c), half = dag_space(h);
    CHECK(half.choice_points().size() == full.choice_points().size());
    CHECK(half.gates().size() == full.gates().size());
    // a chain per stage, every node an mbconv_k3_e6
    architecture a{std::vector<int>(12, 5), std::vector<std::uint8_t>(30, 0)};
    for (std::size_t g = 0; g < full.gates().size(); ++g) {
        const std::string& n = full.gates()[g].name;
        for (int v = 1; v <= 4; ++v)
            if (n.ends_with(fmt::format("edge {}->{}", v - 1, v))) a.edges[g] = 1;
    }
    REQUIRE(is_valid(full, a));
    CHECK(is_valid(half, a));
    const op_cost cf = network_cost(full, a), ch = network_cost(half, a);
    CHECK(ch.macs < cf.macs / 3);  // about a quarter: MACs grow with the square of the width
    CHECK(ch.macs > cf.macs / 5);
}

TEST_CASE("search_width_multiplier bisects to the largest multiplier within the budget") {
    const auto lat = [](double m) { return 10.0 * m; };
    const budget_search_result r = search_width_multiplier(lat, 5.0, 0.25, 6);
    CHECK(r.met);
    CHECK(r.x <= 0.5);
    CHECK(r.x > 0.5 - 0.75 / 64);
    CHECK(r.cost == doctest::Approx(10 * r.x));
    REQUIRE(r.trials.size() == 8);
    CHECK(r.trials[0].x == 1.0);
    CHECK(r.trials[0].cost == 10.0);
    CHECK(r.trials[1].x == 0.25);

    const budget_search_result fast = search_width_multiplier(lat, 20.0);
    CHECK(fast.met);
    CHECK(fast.x == 1.0);
    CHECK(fast.trials.size() == 1);

    const budget_search_result slow = search_width_multiplier(lat, 1.0, 0.25);
    CHECK_FALSE(slow.met);
    CHECK(slow.x == 0.25);
    CHECK(slow.cost == 2.5);

    CHECK_THROWS_WITH_AS(search_width_multiplier(lat, 1.0, 1.5),
                         "search_width_multiplier: lowest multiplier 1.5, expected in (0, 1]", config_error);
    CHECK_THROWS_WITH_AS(search_width_multiplier([](double) { return std::nan(""); }, 1.0),
                         "largest_within_budget: cost(1) is nan, expected a finite number", numeric_error);
    CHECK_THROWS_WITH_AS(largest_within_budget(lat, 1.0, 0.5, 1.0, -1),
                         "largest_within_budget: -1 bisection steps, expected >= 0", config_error);
}

TEST_CASE("search_width_multiplier meets a MACs budget on a scaled DAG space") {
    const dag_config c = tiny_width_config();
    const architecture a{{1, 1, 1, 1}, {1, 1, 0, 1, 1, 0}};  // stage edges 0->1, 0->2 on: two parallel mbconv nodes
    REQUIRE(is_valid(dag_space(c), a));
    const auto macs = [&](double m) { return static_cast<double>(network_cost(dag_space(scale_widths(c, m)), a).macs); };
    const double full = macs(1.0), budget = 0.5 * full;
    const budget_search_result r = search_width_multiplier(macs, budget, 0.25, 5);
    CHECK(r.met);
    CHECK(r.x < 1.0);
    CHECK(r.cost <= budget);
    CHECK(r.cost == macs(r.x));
    // the next multiplier up the bisection would be over budget
    CHECK(macs(r.x + 0.75 / 32) > budget);
}
