#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <hwnas/core/rng.hpp>
#include <hwnas/prune/space_reduction.hpp>
#include <hwnas/space/cost.hpp>
#include <hwnas/space/encoding.hpp>
#include <hwnas/space/presets.hpp>
#include <hwnas/space/sample.hpp>

namespace test_space_reduction {

using namespace hwnas;

// Known per-(point, candidate) effects; a zero candidate (`none`) and a dead point add nothing.
struct synthetic_truth {
    double constant = 5.0;
    std::vector<std::vector<double>> effect;
};

synthetic_truth make_truth(const search_space& s, rng& gen) {
    synthetic_truth t;
    for (const choice_point& p : s.choice_points()) {
        t.effect.emplace_back();
        for (std::size_t k = 0; k < p.candidates.size(); ++k) t.effect.back().push_back(p.zero[k] ? 0.0 : 3.0 * gen.uniform());
    }
    return t;
}

double truth_value(const search_space& s, const synthetic_truth& t, const architecture& a) {
    const std::vector<bool> live = live_choice_points(s, a);
    double v = t.constant;
    for (std::size_t p = 0; p < live.size(); ++p)
        if (live[p]) v += t.effect[p][static_cast<std::size_t>(a.choices[p])];
    return v;
}

// Fits n noisy samples of s and checks every observed effect against the truth relative to the baseline.
void check_recovery(const search_space& s, std::size_t n, double noise, double tolerance) {
    rng gen(7);
    const synthetic_truth t = make_truth(s, gen);
    std::vector<architecture> archs;
    std::vector<double> y;
    for (std::size_t i = 0; i < n; ++i) {
        archs.push_back(sample_architecture(s, gen));
        y.push_back(truth_value(s, t, archs.back()) + noise * gen.normal());
    }
    const block_effects e = fit_block_effects(s, archs, y);
    REQUIRE(e.effect.size() == s.choice_points().size());
    CHECK(e.fit.n == n);
    CHECK(e.fit.r2 > 0.98);
    CHECK(e.fit.heldout_n == n / 5);
    CHECK(e.fit.heldout_r2 > 0.98);
    CHECK(e.fit.heldout_mape < 2.0);
    CHECK(e.fit.residual_sd == doctest::Approx(noise).epsilon(0.3));
    int checked = 0;
    for (std::size_t p = 0; p < e.effect.size(); ++p) {
        const int b = e.baseline[p];
        const double base = b < 0 ? 0.0 : t.effect[p][static_cast<std::size_t>(b)];
        if (b >= 0) CHECK(e.effect[p][static_cast<std::size_t>(b)] == 0.0);
        for (std::size_t k = 0; k < e.effect[p].size(); ++k) {
            if (e.count[p][k] == 0) {
                CHECK(std::isnan(e.effect[p][k]));
                continue;
            }
            INFO(e.point_names[p], " ", e.candidate_names[p][k]);
            CHECK(std::abs(e.effect[p][k] - (t.effect[p][k] - base)) < tolerance);
            // The standard error is of the size of the actual error (noise / sqrt(count) per level).
            if (static_cast<int>(k) != b) CHECK(e.std_error[p][k] > 0);
            CHECK(e.std_error[p][k] < 4 * noise);
            ++checked;
        }
    }
    CHECK(checked > static_cast<int>(e.effect.size()));
    // The baseline's prediction: every point live at its baseline.
    CHECK(std::isfinite(e.baseline_value));
    CHECK(e.predict(s, archs[0]) == doctest::Approx(y[0]).epsilon(0.02));
}

// gram_fmnist with every node a dw3x3 and each stage a chain 0->1->2->3->4.
architecture gram_chain(const search_space& s) {
    architecture a{std::vector<int>(s.choice_points().size(), 0), std::vector<std::uint8_t>(s.gates().size(), 0)};
    for (std::size_t g = 0; g < s.gates().size(); ++g)
        for (int st = 1; st <= 3; ++st)
            for (int v = 1; v <= 4; ++v)
                if (s.gates()[g].name == fmt::format("stage {} edge {}->{}", st, v - 1, v)) a.edges[g] = 1;
    return a;
}

int gate_index_of(const search_space& s, const std::string& name) {
    for (std::size_t g = 0; g < s.gates().size(); ++g)
        if (s.gates()[g].name == name) return static_cast<int>(g);
    FAIL("no edge variable " << name);
    return -1;
}

// A hand-made effect set over one point "layer 0" with the given candidates.
block_effects one_point_effects(std::vector<double> effect) {
    block_effects e;
    e.space = "toy";
    e.point_names = {"layer 0"};
    std::vector<std::string> names;
    for (std::size_t k = 0; k < effect.size(); ++k) names.push_back(fmt::format("op{}", k));
    e.candidate_names = {names};
    e.effect = {std::move(effect)};
    return e;
}

}  // namespace test_space_reduction

using namespace test_space_reduction;

TEST_CASE("block effects recover synthetic additive latencies in a layer-wise space") {
    check_recovery(fbnet_fmnist(), 500, 0.02, 0.02);
}

TEST_CASE("block effects recover synthetic additive latencies in a node-wise DAG space") {
    check_recovery(gram_fmnist(), 400, 0.02, 0.02);
}

TEST_CASE("block effects recover synthetic latencies with dead choice points in NAS-Bench-201") {
    // Edges cut off by `none` do not run: the baseline may be "does not run" (-1).
    check_recovery(nb201_space(), 500, 0.02, 0.02);
}

TEST_CASE("block effects on MACs are the exact cost differences") {
    const search_space s = fbnet_fmnist();
    rng gen(3);
    std::vector<architecture> archs;
    std::vector<double> macs;
    const accuracy_function proxy = macs_proxy(s);
    for (int i = 0; i < 200; ++i) {
        archs.push_back(sample_architecture(s, gen));
        macs.push_back(proxy(archs.back()));
    }
    const block_effects e = fit_block_effects(s, archs, macs, {.ridge = 1e-9});
    CHECK(e.fit.r2 == doctest::Approx(1.0));
    for (std::size_t p = 0; p < e.effect.size(); ++p) {
        const space_edge& edge = s.at(s.choice_points()[p].sites[0]);
        const auto b = static_cast<std::size_t>(e.baseline[p]);
        for (std::size_t k = 0; k < e.effect[p].size(); ++k) {
            const double expected = static_cast<double>(edge.costs[k].macs - edge.costs[b].macs);
            CHECK(e.effect[p][k] == doctest::Approx(expected).epsilon(1e-4).scale(1e4));
        }
    }
}

TEST_CASE("dead DAG nodes and cut-off edges contribute no indicator") {
    const search_space g = gram_fmnist();
    architecture a = gram_chain(g);
    std::vector<double> x = block_indicators(g, a);
    CHECK(std::accumulate(x.begin(), x.end(), 0.0) == 12.0);
    // Stage 1 node 4 loses its only input: it is removed, its choice runs nowhere.
    a.edges[static_cast<std::size_t>(gate_index_of(g, "stage 1 edge 3->4"))] = 0;
    a.choices[3] = 5;
    x = block_indicators(g, a);
    CHECK(std::accumulate(x.begin(), x.end(), 0.0) == 11.0);
    for (int k = 0; k < 6; ++k) CHECK(x[encoding_index(g, 3, k)] == 0.0);
    CHECK(x[encoding_index(g, 2, 0)] == 1.0);

    // NAS-Bench-201: edge 0->1 is none, so node 1 is not fed and edges 1->2, 1->3 carry nothing.
    const search_space n = nb201_space();
    x = block_indicators(n, {{0, 3, 2, 3, 4, 1}, {}});
    CHECK(x == std::vector<double>{0, 0, 0, 0, 0, /*0->2*/ 0, 0, 0, 1, 0, /*1->2*/ 0, 0, 0, 0, 0,
                                   /*0->3*/ 0, 0, 0, 1, 0, /*1->3*/ 0, 0, 0, 0, 0, /*2->3*/ 0, 1, 0, 0, 0});
    // No path to the output: nothing runs.
    x = block_indicators(n, {{3, 0, 0, 0, 0, 3}, {}});
    CHECK(std::accumulate(x.begin(), x.end(), 0.0) == 0.0);
    // Counting every chosen candidate instead: the plain one-hot encoding.
    const architecture cut{{0, 3, 2, 3, 4, 1}, {}};
    x = block_indicators(n, cut, false);
    const std::vector<float> hot = one_hot(n, cut);
    CHECK(x == std::vector<double>(hot.begin(), hot.end()));
}

TEST_CASE("block effects on every chosen candidate recover effects of dead edges too") {
    // An implementation that runs every edge: the cost is a sum over all six choices, none included.
    const search_space n = nb201_space();
    rng gen(17);
    std::vector<std::vector<double>> truth(6, std::vector<double>(5));
    for (auto& row : truth)
        for (auto& v : row) v = 2.0 * gen.uniform();
    std::vector<architecture> archs;
    std::vector<double> y;
    for (int i = 0; i < 300; ++i) {
        archs.push_back(sample_architecture(n, gen));
        double v = 1.0 + 0.01 * gen.normal();
        for (std::size_t p = 0; p < 6; ++p) v += truth[p][static_cast<std::size_t>(archs.back().choices[p])];
        y.push_back(v);
    }
    const block_effects e = fit_block_effects(n, archs, y, {.live_only = false});
    CHECK(!e.live_only);
    CHECK(e.fit.heldout_r2 > 0.99);
    for (std::size_t p = 0; p < 6; ++p) {
        const auto b = static_cast<std::size_t>(e.baseline[p]);
        CHECK(e.absent[p] == 0);
        CHECK(e.count[p][0] > 0);
        for (std::size_t k = 0; k < 5; ++k) CHECK(std::abs(e.effect[p][k] - (truth[p][k] - truth[p][b])) < 0.01);
    }
    // The live model cannot explain these costs as well.
    CHECK(fit_block_effects(n, archs, y).fit.r2 < e.fit.r2 - 0.01);
}

TEST_CASE("fit_block_effects rejects bad input") {
    const search_space s = fbnet_fmnist();
    const architecture a{std::vector<int>(7, 0), {}};
    const std::vector<architecture> two{a, a};
    CHECK_THROWS_WITH_AS(fit_block_effects(s, two, std::vector<double>{1.0}),
                         "fit_block_effects: 2 architectures and 1 values, expected equal counts", config_error);
    CHECK_THROWS_WITH_AS(fit_block_effects(s, std::vector<architecture>{a}, std::vector<double>{1.0}),
                         "fit_block_effects: 1 samples, expected at least 2", config_error);
    CHECK_THROWS_WITH_AS(fit_block_effects(s, two, std::vector<double>{1.0, std::nan("")}),
                         "fit_block_effects: value 1 is nan, expected finite", config_error);
    CHECK_THROWS_WITH_AS(fit_block_effects(s, two, std::vector<double>{1.0, 2.0}, {.ridge = 0}),
                         "fit_block_effects: ridge 0, expected a finite value > 0", config_error);
    CHECK_THROWS_WITH_AS(fit_block_effects(s, two, std::vector<double>{1.0, 2.0}, {.holdout_fraction = 1}),
                         "fit_block_effects: holdout fraction 1, expected 0 <= f < 1", config_error);
    CHECK_THROWS_WITH_AS(fit_block_effects(s, std::vector<architecture>{a, {std::vector<int>(7, 9), {}}},
                                           std::vector<double>{1.0, 2.0}),
                         "architecture: layer 0 choice 9 out of range, the space fbnet_fmnist has 9 candidates there",
                         config_error);
    const block_effects e = fit_block_effects(s, two, std::vector<double>{1.0, 1.0}, {.holdout_fraction = 0});
    CHECK(e.fit.heldout_n == 0);
    CHECK(e.count[0][0] == 2);
    CHECK(std::isnan(e.effect[0][1]));
    CHECK_THROWS_WITH_AS(e.predict(gram_fmnist(), a),
                         "block_effects::predict: effects of the space fbnet_fmnist (63 slots), given the space "
                         "gram_fmnist (72 slots)",
                         config_error);
}

TEST_CASE("a dominated candidate is dropped and a non-dominated one kept") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    // op1 is slower than op0 and no more accurate: dropped. op2 is slower but more accurate: kept.
    // op3 was never observed: kept. op4 is faster than op0 but less accurate: kept.
    const block_effects lat = one_point_effects({1.0, 2.0, 3.0, nan, 0.8});
    const block_effects acc = one_point_effects({0.5, 0.5, 0.9, nan, 0.4});
    const candidate_reduction r = reduce_candidates(lat, acc);
    CHECK(r.allowed == std::vector<std::vector<bool>>{{true, false, true, true, true}});
    CHECK(r.dominated_by == std::vector<std::vector<int>>{{-1, 0, -1, -1, -1}});
    // Accuracy within 0.5 counts as equal: the fastest, op4, dominates every known candidate.
    const candidate_reduction loose = reduce_candidates(lat, acc, {.accuracy_tolerance = 0.5});
    CHECK(loose.allowed == std::vector<std::vector<bool>>{{false, false, false, true, true}});
    CHECK(loose.dominated_by == std::vector<std::vector<int>>{{4, 4, 4, -1, -1}});
    // Only more than 1 ms faster dominates: op0 (0.2 ms slower than op4) is spared.
    const candidate_reduction strict = reduce_candidates(lat, acc, {.latency_tolerance = 1.0, .accuracy_tolerance = 0.5});
    CHECK(strict.allowed == std::vector<std::vector<bool>>{{true, false, false, true, true}});
    // Equal effects: neither dominates the other, both are kept.
    CHECK(reduce_candidates(one_point_effects({1.0, 1.0}), one_point_effects({0.0, 0.0})).allowed ==
          std::vector<std::vector<bool>>{{true, true}});
    block_effects other = acc;
    other.space = "elsewhere";
    CHECK_THROWS_WITH_AS(reduce_candidates(lat, other),
                         "reduce_candidates: latency effects of the space toy and accuracy effects of the space "
                         "elsewhere, expected the same space",
                         config_error);
    CHECK_THROWS_WITH_AS(reduce_candidates(lat, acc, {.latency_tolerance = -1}),
                         "reduce_candidates: tolerances -1 (latency), 0 (accuracy) and z 0, expected >= 0",
                         config_error);
    CHECK_THROWS_WITH_AS(reduce_candidates(lat, acc, {.latency_z = 2}),
                         "reduce_candidates: latency_z needs the covariance of fitted latency effects (fit_block_effects)",
                         config_error);
}

TEST_CASE("latency_z keeps candidates whose latency difference the noise does not resolve") {
    // Layer 0: k3_e1 and k3_e1_g2 differ by 0.0005 ms, far below the noise; every other candidate is >= 0.5 ms
    // slower. The accuracy values are all equal, so only latency decides.
    const search_space s = fbnet_fmnist();
    rng gen(21);
    synthetic_truth t;
    t.effect.assign(7, std::vector<double>(9));
    for (auto& row : t.effect)
        for (std::size_t k = 0; k < 9; ++k) row[k] = 0.5 * static_cast<double>(k);
    t.effect[0][1] = 0.0005;
    std::vector<architecture> archs;
    std::vector<double> y;
    for (int i = 0; i < 300; ++i) {
        archs.push_back(sample_architecture(s, gen));
        y.push_back(truth_value(s, t, archs.back()) + 0.05 * gen.normal());
    }
    const block_effects lat = fit_block_effects(s, archs, y);
    const block_effects acc = fit_block_effects(s, archs, std::vector<double>(300, 1.0));
    CHECK(acc.effect[0][3] == 0.0);
    const double se = lat.difference_se(0, 1, 0);
    CHECK(se > 0.005);
    CHECK(se < 0.03);
    // Without z the noise picks one of the two; with z = 3 both stay, the clearly slower ones go.
    const auto plain = reduce_candidates(lat, acc).allowed[0];
    CHECK(std::count(plain.begin(), plain.end(), true) == 1);
    CHECK((plain[0] || plain[1]));
    const auto careful = reduce_candidates(lat, acc, {.latency_z = 3}).allowed[0];
    CHECK(careful == std::vector<bool>{true, true, false, false, false, false, false, false, false});
}

TEST_CASE("restricted space keeps the graph and the costs of mapped architectures") {
    const search_space s = fbnet_fmnist();
    std::vector<std::vector<bool>> allowed(7, std::vector<bool>(9, true));
    allowed[0] = {false, false, true, false, false, false, true, false, true};  // k3_e3, k5_e3, skip
    allowed[4][7] = false;                                                      // no k5_e6 in layer 4
    const restricted_space r = restrict_candidates(s, allowed);
    CHECK(r.space.name() == "fbnet_fmnist_reduced");
    CHECK(r.full_name == "fbnet_fmnist");
    CHECK(restrict_candidates(s, allowed, "mine").space.name() == "mine");
    REQUIRE(r.space.choice_points().size() == 7);
    CHECK(op_names(r.space, {{0, 0, 0, 0, 0, 0, 0}, {}})[0] == "k3_e3");
    std::vector<std::string> names;
    for (const op_spec& c : r.space.choice_points()[0].candidates) names.push_back(c.name);
    CHECK(names == std::vector<std::string>{"k3_e3", "k5_e3", "skip"});
    CHECK(r.space.choice_points()[4].candidates.size() == 8);
    CHECK(r.kept[0] == std::vector<int>{2, 6, 8});
    REQUIRE(r.space.nodes().size() == s.nodes().size());
    for (std::size_t i = 0; i < s.nodes().size(); ++i) {
        CHECK(r.space.nodes()[i].name == s.nodes()[i].name);
        CHECK(r.space.nodes()[i].shape == s.nodes()[i].shape);
        CHECK(r.space.nodes()[i].inputs.size() == s.nodes()[i].inputs.size());
    }
    rng gen(5);
    for (int i = 0; i < 20; ++i) {
        const architecture a = sample_architecture(r.space, gen);
        const architecture full = to_full(r, a);
        CHECK(network_cost(r.space, a).macs == network_cost(s, full).macs);
        CHECK(network_cost(r.space, a).params == network_cost(s, full).params);
        CHECK(to_restricted(r, full) == a);
    }
    CHECK_THROWS_WITH_AS(restrict_candidates(s, std::vector<std::vector<bool>>(6)),
                         "restrict_candidates: 6 masks, the space fbnet_fmnist has 7 choice points", config_error);
    allowed[2] = std::vector<bool>(8, true);
    CHECK_THROWS_WITH_AS(restrict_candidates(s, allowed),
                         "restrict_candidates: the mask of layer 2 has 8 entries, expected 9 (its candidates)",
                         config_error);
    allowed[2] = std::vector<bool>(9, false);
    CHECK_THROWS_WITH_AS(restrict_candidates(s, allowed),
                         "restrict_candidates: the mask of layer 2 allows no candidate, expected at least one",
                         config_error);
}

TEST_CASE("restricted DAG space maps architectures with their edges both ways") {
    const search_space g = gram_fmnist();
    std::vector<std::vector<bool>> allowed(12, std::vector<bool>(6, true));
    for (auto& m : allowed) m[5] = false;  // no mbconv_k3_e6 anywhere
    const restricted_space r = restrict_candidates(g, allowed);
    CHECK(r.space.gates().size() == g.gates().size());
    for (std::size_t i = 0; i < g.gates().size(); ++i) CHECK(r.space.gates()[i].where == g.gates()[i].where);
    rng gen(9);
    for (int i = 0; i < 10; ++i) {
        const architecture a = sample_architecture(r.space, gen);
        const architecture full = to_full(r, a);
        CHECK(full.edges == a.edges);
        CHECK(network_cost(g, full).macs == network_cost(r.space, a).macs);
        CHECK(to_restricted(r, full) == a);
    }
    architecture a = gram_chain(g);
    a.choices[4] = 5;
    CHECK_THROWS_WITH_AS(to_restricted(r, a),
                         "to_restricted: stage 2 node 1 runs mbconv_k3_e6 (candidate 5), which the space "
                         "gram_fmnist_reduced dropped (kept: dw3x3, dw5x5, conv1x1, mbconv_k3_e3, mbconv_k5_e3)",
                         config_error);
    a.choices[4] = 6;
    CHECK_THROWS_WITH_AS(to_restricted(r, a),
                         "to_restricted: stage 2 node 1 choice 6 out of range, the space gram_fmnist has 6 "
                         "candidates there",
                         config_error);
    CHECK_THROWS_WITH_AS(to_restricted(r, {{0}, {}}),
                         "to_restricted: 1 choices, the space gram_fmnist has 12 choice points", config_error);
    a.choices[4] = 0;
    a.edges.pop_back();
    CHECK_THROWS_WITH_AS(to_restricted(r, a),
                         "architecture: 29 edge values, the space gram_fmnist_reduced has 30 edge variables",
                         config_error);
    CHECK_THROWS_WITH_AS(to_full(r, {std::vector<int>(12, 5), gram_chain(g).edges}),
                         "architecture: stage 1 node 1 choice 5 out of range, the space gram_fmnist_reduced has 5 "
                         "candidates there",
                         config_error);
}

TEST_CASE("profile_blocks measures sampled networks and fits both effect sets") {
    const search_space s = layerwise_space(
        {"tiny_blocks",
         {8, 8, 3},
         conv3x3_stem(8, 1),
         {{1, 8, 1}, {1, 16, 2}},
         {{"k3_e1", "mbconv", {3, 1, 1}}, {"k3_e3", "mbconv", {3, 3, 1}}, {"skip", "skip", {}}},
         {op_spec{"conv1x1", "conv_bn_relu", {1}}, 32, 10}});
    std::size_t calls = 0;
    const block_profile_options o{.samples = 12, .seed = 1, .profile = {.batch = 1, .warmup = 1, .runs = 3, .seed = 0}};
    const block_profile r = profile_blocks(s, macs_proxy(s), o, [&](std::size_t done, std::size_t total) {
        CHECK(total == 12);
        CHECK(done == ++calls);
    });
    CHECK(calls == 12);
    REQUIRE(r.archs.size() == 12);
    CHECK(r.latency_ms.size() == 12);
    for (double v : r.latency_ms) CHECK(v > 0);
    CHECK(r.accuracy[3] == static_cast<double>(network_cost(s, r.archs[3]).macs));
    CHECK(r.latency.space == "tiny_blocks");
    CHECK(r.latency.fit.n == 12);
    CHECK(r.accuracy_effects.fit.r2 == doctest::Approx(1.0));
    const auto reduction = reduce_candidates(r.latency, r.accuracy_effects);
    CHECK(reduction.allowed.size() == 2);
    CHECK_THROWS_WITH_AS(profile_blocks(s, accuracy_function{}, o),
                         "profile_blocks: no accuracy function (macs_proxy gives a stand-in)", config_error);
    CHECK_THROWS_WITH_AS(profile_blocks(s, params_proxy(s), {.samples = 1}),
                         "profile_blocks: 1 samples, expected at least 2", config_error);
}
