#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <hwnas/prune/structure.hpp>
#include <hwnas/space/presets.hpp>

using namespace hwnas;

namespace test_prune_structure {

// Stem 8, stage 1: 3 nodes at width 8, stage 2: 2 nodes at width 12 (stride 2), head 16, 3 classes; 8x8x1 input.
inline search_space ps_tiny_dag() {
    const op_spec t{"mbconv_k3_e2", "mbconv", {3, 2, 1}};
    return dag_space({"tiny_dag", {8, 8, 1}, conv3x3_stem(8, 1), {{3, 8, 1, t}, {2, 12, 2, t}},
                      {{"dw3x3", "dw", {3}}, {"conv1x1", "conv_bn_relu", {1}}, {"mbconv_k3_e3", "mbconv", {3, 3, 1}}},
                      {op_spec{"conv1x1", "conv_bn_relu", {1}}, 16, 3}});
}

inline std::size_t ps_gate(const search_space& s, const std::string& name) {
    for (std::size_t g = 0; g < s.gates().size(); ++g)
        if (s.gates()[g].name == name) return g;
    FAIL("no edge variable " << name);
    return 0;
}

// Choices c and the named edges on, all others off.
inline architecture ps_arch_with(const search_space& s, std::vector<int> c, const std::vector<std::string>& on) {
    architecture a{std::move(c), std::vector<std::uint8_t>(s.gates().size(), 0)};
    for (const auto& e : on) a.edges[ps_gate(s, e)] = 1;
    return a;
}

const std::vector<std::string> ps_chains = {"stage 1 edge 0->1", "stage 1 edge 1->2", "stage 1 edge 2->3",
                                         "stage 2 edge 0->1", "stage 2 edge 1->2"};

}  // namespace test_prune_structure
using namespace test_prune_structure;

TEST_CASE("prune_structure removes a node with what only it fed when its importance per cost saved is lowest") {
    const search_space s = ps_tiny_dag();
    const cost_table cost = macs_cost_table(s);
    const architecture a = ps_arch_with(s, {2, 2, 2, 2, 2}, ps_chains);
    REQUIRE(is_valid(s, a));
    const double c1 = cost.table()[1][2];  // an mbconv_k3_e3 node of stage 1
    CHECK(c1 == doctest::Approx((64 * 8 * 24 * 2 + 64 * 24 * 9) * 1e-6));
    structure_importance imp{{1, 0.1, 1, 1, 1}, std::vector<double>(9, 10)};
    const double before = cost.of(a);
    const structure_prune_result r = prune_structure(s, a, imp, cost, before - c1);
    REQUIRE(r.removals.size() == 1);
    const structure_removal& x = r.removals[0];
    CHECK(x.kind == "node");
    CHECK(x.index == 1);
    CHECK(x.name == "stage 1 node 2");
    CHECK(x.importance == doctest::Approx(1.1));  // its own 0.1 plus node 3's, which it alone fed
    CHECK(x.cost_before == before);
    // node 3 was fed only by node 2: it goes too
    CHECK(x.cost_after == doctest::Approx(before - 2 * c1));
    CHECK(r.cost == x.cost_after);
    CHECK(r.met);
    CHECK(r.arch == ps_arch_with(s, {2, 2, 2, 2, 2}, {"stage 1 edge 0->1", "stage 2 edge 0->1", "stage 2 edge 1->2"}));
    CHECK(r.arch.choices == a.choices);
    CHECK(structure_removal_columns() ==
          std::vector<std::string>{"step", "kind", "index", "name", "importance", "cost_before", "cost_after"});
    const std::vector<std::string> row = structure_removal_row(1, x);
    CHECK(row == std::vector<std::string>{"1", "node", "1", "stage 1 node 2", csv_writer::cell(x.importance), csv_writer::cell(x.cost_before),
                                          csv_writer::cell(x.cost_after)});
}

TEST_CASE("prune_structure weighs importance by the cost saved") {
    const search_space s = ps_tiny_dag();
    const cost_table cost = macs_cost_table(s);
    // stage 1: three parallel sinks, node 1 an mbconv, nodes 2 and 3 dw3x3
    const architecture a = ps_arch_with(s, {2, 0, 0, 0, 0},
                                     {"stage 1 edge 0->1", "stage 1 edge 0->2", "stage 1 edge 0->3", "stage 2 edge 0->1",
                                      "stage 2 edge 1->2"});
    const structure_importance imp{{1, 0.5, 0.5, 5, 5}, std::vector<double>(9, 100)};
    const structure_prune_result r = prune_structure(s, a, imp, cost, cost.of(a) - 1e-9);
    REQUIRE(r.removals.size() == 1);
    // 1 / 0.0384 MMACs beats 0.5 / 0.0046 MMACs: the more important but far costlier node goes
    CHECK(r.removals[0].name == "stage 1 node 1");
    CHECK(r.removals[0].cost_before - r.removals[0].cost_after == doctest::Approx(cost.table()[0][2]));
}

TEST_CASE("prune_structure counts the nodes an edge removal kills and skips removals that save nothing") {
    const search_space s = ps_tiny_dag();
    const cost_table cost = macs_cost_table(s);
    std::vector<std::string> on = ps_chains;
    on.push_back("stage 1 edge 0->2");  // node 2 also fed by node 0: switching 0->2 off saves nothing
    const architecture a = ps_arch_with(s, {2, 2, 2, 2, 2}, on);
    structure_importance imp{std::vector<double>(5, 1), std::vector<double>(9, 1)};
    imp.nodes[0] = imp.nodes[1] = 5;  // nodes 1 and 2 matter
    imp.edges[ps_gate(s, "stage 1 edge 0->2")] = 0;
    imp.edges[ps_gate(s, "stage 1 edge 2->3")] = 0.01;
    const structure_prune_result r = prune_structure(s, a, imp, cost, cost.of(a) - 1e-9);
    REQUIRE(r.removals.size() == 1);
    // switching 2->3 off kills node 3: 0.01 + 1 against node 3 alone at 1, for the same saving
    CHECK(r.removals[0].kind == "node");
    CHECK(r.removals[0].index == 2);
    CHECK(r.removals[0].name == "stage 1 node 3");
    CHECK(r.removals[0].importance == 1);
    CHECK(r.removals[0].cost_after == doctest::Approx(r.removals[0].cost_before - cost.table()[2][2]));
    CHECK(r.arch.edges[ps_gate(s, "stage 1 edge 0->2")] == 1);
}

TEST_CASE("prune_structure reports an unreachable budget and stops at one node per stage") {
    const search_space s = ps_tiny_dag();
    const cost_table cost = macs_cost_table(s);
    const architecture a = ps_arch_with(s, {2, 1, 0, 2, 1},
                                     {"stage 1 edge 0->1", "stage 1 edge 0->2", "stage 1 edge 1->2", "stage 1 edge 1->3",
                                      "stage 1 edge 2->3", "stage 2 edge 0->1", "stage 2 edge 0->2", "stage 2 edge 1->2"});
    const structure_importance imp{{0.3, 0.2, 0.1, 0.5, 0.4}, std::vector<double>(9, 0.05)};
    const structure_prune_result r = prune_structure(s, a, imp, cost, 0.0);
    CHECK_FALSE(r.met);
    CHECK(is_valid(s, r.arch));
    CHECK(r.cost == cost.of(r.arch));
    CHECK(r.arch.choices == a.choices);
    const std::vector<bool> live = live_choice_points(s, r.arch);
    CHECK(std::count(live.begin(), live.end(), true) == 2);
    REQUIRE(r.removals.size() >= 3);
    double prev = cost.of(a);
    for (const auto& x : r.removals) {
        CHECK(x.cost_before == prev);
        CHECK(x.cost_after < x.cost_before);
        prev = x.cost_after;
    }
    CHECK(prev == r.cost);

    // a budget already met: nothing removed
    const structure_prune_result none = prune_structure(s, a, imp, cost, cost.of(a));
    CHECK(none.met);
    CHECK(none.removals.empty());
    CHECK(none.arch == a);
}

TEST_CASE("prune_structure rejects other spaces and mismatched inputs") {
    const search_space s = ps_tiny_dag();
    const cost_table cost = macs_cost_table(s);
    const architecture a = ps_arch_with(s, {0, 0, 0, 0, 0}, ps_chains);
    const structure_importance imp{std::vector<double>(5, 1), std::vector<double>(9, 1)};
    const search_space fb = fbnet_fmnist();
    const architecture fa{std::vector<int>(fb.choice_points().size(), 0), {}};
    CHECK_THROWS_WITH_AS(prune_structure(fb, fa, imp, cost, 1.0),
                         "prune_structure: the space fbnet_fmnist has no edge variables, expected a node-wise DAG space",
                         config_error);
    CHECK_THROWS_WITH_AS(prune_structure(s, a, {std::vector<double>(4, 1), std::vector<double>(9, 1)}, cost, 1.0),
                         "prune_structure: importances for 4 nodes and 9 edges, the space tiny_dag has 5 choice points "
                         "and 9 edge variables",
                         config_error);
    structure_importance neg = imp;
    neg.edges[2] = -1;
    CHECK_THROWS_WITH_AS(prune_structure(s, a, neg, cost, 1.0),
                         "prune_structure: importance of stage 1 edge 1->2 is -1, expected a finite number >= 0",
                         config_error);
    architecture bad = a;
    bad.edges[ps_gate(s, "stage 1 edge 0->1")] = 0;
    CHECK_THROWS_WITH_AS(prune_structure(s, bad, imp, cost, 1.0),
                         "architecture: stage 1 edge 1->2 is on but stage 1 node 1 has no active input, in the space "
                         "tiny_dag",
                         config_error);
}
