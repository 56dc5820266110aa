#include <doctest/doctest.h>

#include <array>
#include <fstream>
#include <sstream>
#include <map>
#include <string>
#include <vector>

#include <hwnas/search/cost_model.hpp>
#include <hwnas/space/architecture_json.hpp>
#include <hwnas/space/cost.hpp>
#include <hwnas/space/encoding.hpp>
#include <hwnas/space/presets.hpp>
#include <hwnas/space/sample.hpp>

namespace test_architecture {

using namespace hwnas;

namespace {

int gate_named(const search_space& s, const std::string& name) {
    for (std::size_t g = 0; g < s.gates().size(); ++g)
        if (s.gates()[g].name == name) return static_cast<int>(g);
    FAIL("no edge variable " << name);
    return -1;
}

// gram_fmnist with every node a dw3x3 and each stage a chain 0->1->2->3->4.
architecture gram_chain(const search_space& s) {
    architecture a{std::vector<int>(12, 0), std::vector<std::uint8_t>(30, 0)};
    for (int st = 1; st <= 3; ++st)
        for (int v = 1; v <= 4; ++v) a.edges[static_cast<std::size_t>(gate_named(s, fmt::format("stage {} edge {}->{}", st, v - 1, v)))] = 1;
    return a;
}

void set_edge(const search_space& s, architecture& a, const std::string& name, int on) {
    a.edges[static_cast<std::size_t>(gate_named(s, name))] = static_cast<std::uint8_t>(on);
}

}  // namespace

TEST_CASE("validate names the bad choice") {
    const search_space s = fbnet_cifar();
    architecture a{std::vector<int>(22, 0), {}};
    CHECK(is_valid(s, a));
    a.choices[7] = 11;
    CHECK_THROWS_WITH_AS(validate(s, a),
                         "architecture: layer 7 choice 11 out of range, the space fbnet_cifar has 9 candidates there",
                         config_error);
    a.choices[7] = -1;
    CHECK(why_invalid(s, a) ==
          "architecture: layer 7 choice -1 out of range, the space fbnet_cifar has 9 candidates there");
    CHECK_THROWS_WITH_AS(validate(s, {std::vector<int>(21, 0), {}}),
                         "architecture: 21 choices, the space fbnet_cifar has 22 choice points", config_error);
    CHECK_THROWS_WITH_AS(validate(s, {std::vector<int>(22, 0), {1, 0, 1}}),
                         "architecture: 3 edge values, the space fbnet_cifar has 0 edge variables", config_error);
    CHECK_THROWS_WITH_AS(network_cost(s, {std::vector<int>(22, 9), {}}),
                         "architecture: layer 0 choice 9 out of range, the space fbnet_cifar has 9 candidates there",
                         config_error);
    const search_space g = gram_fmnist();
    architecture d = gram_chain(g);
    CHECK(is_valid(g, d));
    d.edges[0] = 2;
    CHECK_THROWS_WITH_AS(validate(g, d), "architecture: stage 1 edge 0->1 is 2, expected 0 or 1", config_error);
}

TEST_CASE("op_names lists the chosen candidates") {
    const search_space s = nb201_space();
    CHECK(op_names(s, {{0, 1, 2, 3, 4, 3}, {}}) ==
          std::vector<std::string>{"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3",
                                   "nor_conv_3x3"});
}

TEST_CASE("DAG architectures: a node without input may not feed another and every stage needs a sink") {
    const search_space s = gram_fmnist();
    architecture a = gram_chain(s);
    // node 2 of stage 1 loses its input but still feeds node 3
    set_edge(s, a, "stage 1 edge 1->2", 0);
    CHECK_THROWS_WITH_AS(validate(s, a),
                         "architecture: stage 1 edge 2->3 is on but stage 1 node 2 has no active input, in the space "
                         "gram_fmnist",
                         config_error);
    // feeding node 3 from node 1 instead removes node 2 cleanly
    set_edge(s, a, "stage 1 edge 2->3", 0);
    set_edge(s, a, "stage 1 edge 1->3", 1);
    CHECK(is_valid(s, a));
    // a stage whose nodes all lack input has no path to a sink
    architecture b = gram_chain(s);
    for (int v = 1; v <= 4; ++v) set_edge(s, b, fmt::format("stage 2 edge {}->{}", v - 1, v), 0);
    CHECK_THROWS_WITH_AS(validate(s, b),
                         "architecture: stage 2 output has no path from the stage input to a sink (no node feeding it "
                         "has an active input), in the space gram_fmnist",
                         config_error);
}

TEST_CASE("DAG stage outputs sum the sinks and dead nodes cost nothing") {
    const search_space s = gram_fmnist();
    const architecture chain = gram_chain(s);
    const live_graph full = live_parts(s, chain);
    for (int st = 1; st <= 3; ++st)
        for (int v = 1; v <= 4; ++v) CHECK(full.node(s.find_node(fmt::format("stage {} node {}", st, v))));
    // in a chain only node 4 is a sink
    const int out1 = s.find_node("stage 1 output");
    CHECK(full.edge({out1, 3}));
    CHECK_FALSE(full.active[static_cast<std::size_t>(out1)][0]);

    // remove node 4 of stage 1: node 3 becomes the sink; one dw3x3 at 14x14x24 less
    architecture cut = chain;
    set_edge(s, cut, "stage 1 edge 3->4", 0);
    const live_graph g = live_parts(s, cut);
    CHECK_FALSE(g.node(s.find_node("stage 1 node 4")));
    CHECK(g.edge({out1, 2}));
    CHECK_FALSE(g.edge({out1, 3}));
    const op_cost dw3 = {14 * 14 * 24 * 9, 24 * 9 + 48};
    const op_cost c_full = network_cost(s, chain), c_cut = network_cost(s, cut);
    CHECK(c_full.macs - c_cut.macs == dw3.macs);
    CHECK(c_full.params - c_cut.params == dw3.params);

    // two parallel sinks: 0->1, 0->2 only; nodes 3 and 4 removed, output = h1 + h2
    architecture par = chain;
    for (const char* e : {"stage 1 edge 1->2", "stage 1 edge 2->3", "stage 1 edge 3->4"}) set_edge(s, par, e, 0);
    set_edge(s, par, "stage 1 edge 0->2", 1);
    const live_graph p = live_parts(s, par);
    CHECK(p.edge({out1, 0}));
    CHECK(p.edge({out1, 1}));
    CHECK_FALSE(p.edge({out1, 2}));
    CHECK(c_full.macs - network_cost(s, par).macs == 2 * dw3.macs);
}

TEST_CASE("without_dead_edges removes what a removed node alone fed and live costs skip dead nodes") {
    const search_space s = gram_fmnist();
    architecture a = gram_chain(s);
    // cutting 1->2 leaves nodes 2 and 3 without input: their outgoing edges 2->3, 3->4 go, node 4 keeps 0->4
    set_edge(s, a, "stage 1 edge 1->2", 0);
    set_edge(s, a, "stage 1 edge 0->4", 1);
    CHECK_FALSE(is_valid(s, a));
    const architecture b = without_dead_edges(s, a);
    CHECK(is_valid(s, b));
    architecture expect = a;
    set_edge(s, expect, "stage 1 edge 2->3", 0);
    set_edge(s, expect, "stage 1 edge 3->4", 0);
    CHECK(b == expect);
    CHECK(without_dead_edges(s, b) == b);
    const std::vector<bool> live = live_choice_points(s, b);
    CHECK(live == std::vector<bool>{true, false, false, true, true, true, true, true, true, true, true, true});
    // the MACs table counts exactly the derived network when it knows the space
    const cost_table macs = macs_cost_table(s);
    CHECK(macs.of(b) * 1e6 == doctest::Approx(static_cast<double>(network_cost(s, b).macs)).epsilon(1e-9));
    CHECK(macs.of(b) < macs.of(gram_chain(s)));
    CHECK_THROWS_WITH_AS(without_dead_edges(s, architecture{{0}, {}}),
                         "architecture: 1 choices, the space gram_fmnist has 12 choice points", config_error);
}

TEST_CASE("cell spaces drop what cannot reach the output") {
    const search_space s = nb201_space();
    // node 1 feeds nothing (1->2 and 1->3 are none): its conv3x3 is not part of the network
    const op_cost skips = network_cost(s, {{1, 1, 1, 1, 1, 1}, {}});
    CHECK(network_cost(s, {{3, 1, 0, 1, 0, 0}, {}}) == skips);
    // no path to node 3: the output is a constant, nothing is kept
    const architecture cut{{3, 3, 3, 0, 0, 0}, {}};
    CHECK(is_valid(s, cut));
    CHECK_FALSE(live_parts(s, cut).node(static_cast<int>(s.nodes().size()) - 1));
    CHECK(network_cost(s, cut) == op_cost{});
    CHECK(network_cost(darts_space(), {std::vector<int>(28, 0), {}}) == op_cost{});
}

TEST_CASE("sampling is deterministic by seed and covers the candidates uniformly") {
    const search_space s = nb201_space();
    rng a(42), b(42), c(43);
    bool differs = false;
    for (int i = 0; i < 20; ++i) {
        const architecture x = sample_architecture(s, a);
        CHECK(x == sample_architecture(s, b));
        differs = differs || !(x == sample_architecture(s, c));
    }
    CHECK(differs);
    // chi-square per edge, 4 degrees of freedom: 25 is far out in the tail (p < 1e-4)
    rng r(7);
    const int n = 5000;
    std::vector<std::array<int, 5>> counts(6, std::array<int, 5>{});
    for (int i = 0; i < n; ++i) {
        const architecture x = sample_architecture(s, r);
        for (std::size_t e = 0; e < 6; ++e) counts[e][static_cast<std::size_t>(x.choices[e])]++;
    }
    for (const auto& ce : counts) {
        double chi2 = 0;
        for (int k : ce) chi2 += (k - n / 5.0) * (k - n / 5.0) / (n / 5.0);
        CHECK(chi2 < 25.0);
    }
}

TEST_CASE("DAG samples are valid with no dead node and uniform non-empty input sets") {
    const search_space s = gram_fmnist();
    rng r(3);
    const int n = 2100;
    std::map<int, int> subsets;  // stage 1 node 3: mask over its inputs from nodes 0, 1, 2
    const int g0 = gate_named(s, "stage 1 edge 0->3");
    std::vector<int> op_nodes;
    for (int st = 1; st <= 3; ++st)
        for (int v = 1; v <= 4; ++v) op_nodes.push_back(s.find_node(fmt::format("stage {} node {}", st, v)));
    for (int i = 0; i < n; ++i) {
        const architecture a = sample_architecture(s, r);
        const live_graph g = live_parts(s, a);  // validates
        for (int v : op_nodes) REQUIRE(g.node(v));
        const auto e = [&](int k) { return a.edges[static_cast<std::size_t>(g0 + k)]; };
        subsets[e(0) | (e(1) << 1) | (e(2) << 2)]++;
    }
    CHECK(subsets.size() == 7);
    CHECK(subsets.count(0) == 0);
    double chi2 = 0;
    for (const auto& [mask, k] : subsets) chi2 += (k - n / 7.0) * (k - n / 7.0) / (n / 7.0);
    CHECK(chi2 < 30.0);  // 6 degrees of freedom
}

TEST_CASE("one-hot encoding concatenates the choice points then the edge bits") {
    const search_space s = fbnet_cifar();
    CHECK(encoding_size(s) == 198);
    CHECK(encoding_index(s, 3, 3) == 30);  // layer 3, k3_e6
    CHECK(encoding_index(s, 21, 8) == 197);
    architecture a{std::vector<int>(22, 8), {}};
    a.choices[3] = 3;
    const std::vector<float> x = one_hot(s, a);
    CHECK(x[30] == 1.0f);
    CHECK(x[3 * 9 + 8] == 0.0f);
    CHECK(x[8] == 1.0f);
    float sum = 0;
    for (float v : x) sum += v;
    CHECK(sum == 22.0f);
    CHECK_THROWS_WITH_AS(encoding_index(s, 22, 0), "encoding_index: choice point 22 out of range, the space fbnet_cifar has 22",
                         config_error);
    CHECK_THROWS_WITH_AS(encoding_index(s, 0, 9), "encoding_index: candidate 9 out of range, layer 0 has 9 candidates",
                         config_error);
    CHECK_THROWS_WITH_AS(gate_encoding_index(s, 0), "gate_encoding_index: edge variable 0 out of range, the space fbnet_cifar has 0",
                         config_error);

    const search_space g = gram_fmnist();
    CHECK(encoding_size(g) == 12 * 6 + 30);
    CHECK(gate_encoding_index(g, 0) == 72);
    const architecture d = gram_chain(g);
    const std::vector<float> y = one_hot(g, d);
    for (std::size_t i = 0; i < 30; ++i) CHECK(y[72 + i] == static_cast<float>(d.edges[i]));
    CHECK(encoding_index(g, 11, 5) == 71);
}

TEST_CASE("architecture JSON round-trips for every preset") {
    rng r(11);
    for (const auto& name : preset_space_names()) {
        const search_space s = preset_space(name);
        const architecture a = sample_architecture(s, r);
        const nlohmann::json j = architecture_to_json(s, a);
        CHECK(j["space"] == name);
        CHECK(j["ops"].size() == s.choice_points().size());
        CHECK(j.contains("edges") == !s.gates().empty());
        CHECK(architecture_from_json(s, nlohmann::json::parse(j.dump())) == a);
    }
}

TEST_CASE("architecture JSON may name the ops instead of indexing them") {
    const search_space s = nb201_space();
    const auto j = nlohmann::json::parse(
        R"({"space": "nb201", "ops": ["nor_conv_3x3", "skip_connect", "none", "avg_pool_3x3", "nor_conv_1x1", "none"]})");
    CHECK(architecture_from_json(s, j) == architecture{{3, 1, 0, 4, 2, 0}, {}});
}

TEST_CASE("architecture JSON errors name the bad entry") {
    const search_space s = nb201_space();
    const auto load = [&](const char* text) { return architecture_from_json(s, nlohmann::json::parse(text)); };
    CHECK_THROWS_WITH_AS(load("[1, 2]"), "architecture json: expected an object, got array", config_error);
    CHECK_THROWS_WITH_AS(load(R"({"choices": [0]})"), "architecture json: missing key 'space'", config_error);
    CHECK_THROWS_WITH_AS(load(R"({"space": 3})"), "architecture json: 'space' must be a string, got number",
                         config_error);
    CHECK_THROWS_WITH_AS(load(R"({"space": "darts", "choices": [0]})"),
                         "architecture json: written for the space 'darts', expected 'nb201'", config_error);
    CHECK_THROWS_WITH_AS(load(R"({"space": "nb201"})"), "architecture json: needs 'choices' or 'ops'", config_error);
    CHECK_THROWS_WITH_AS(load(R"({"space": "nb201", "choices": 3})"),
                         "architecture json: 'choices' must be an array, got number", config_error);
    CHECK_THROWS_WITH_AS(load(R"({"space": "nb201", "choices": [0, 1, "2", 3, 4, 0]})"),
                         "architecture json: choices[2] must be an integer, got string", config_error);
    CHECK_THROWS_WITH_AS(load(R"({"space": "nb201", "choices": [0, 1, 9999999999, 3, 4, 0]})"),
                         "architecture json: choices[2] = 9999999999 is out of range", config_error);
    CHECK_THROWS_WITH_AS(load(R"({"space": "nb201", "choices": [0, 1, 2, 3, 4, 5]})"),
                         "architecture: edge 2->3 choice 5 out of range, the space nb201 has 5 candidates there",
                         config_error);
    CHECK_THROWS_WITH_AS(load(R"({"space": "nb201", "choices": [0, 1, 2]})"),
                         "architecture: 3 choices, the space nb201 has 6 choice points", config_error);
    CHECK_THROWS_WITH_AS(load(R"({"space": "nb201", "ops": ["none"]})"),
                         "architecture json: 1 ops, the space nb201 has 6 choice points", config_error);
    CHECK_THROWS_WITH_AS(load(R"({"space": "nb201", "ops": ["none", "none", "conv", "none", "none", "none"]})"),
                         "architecture json: ops[2] 'conv' is not a candidate of edge 1->2 (none, skip_connect, "
                         "nor_conv_1x1, nor_conv_3x3, avg_pool_3x3)",
                         config_error);
    CHECK_THROWS_WITH_AS(load(R"({"space": "nb201", "ops": ["none", "none", 1, "none", "none", "none"]})"),
                         "architecture json: ops[2] must be a string, got number", config_error);
    CHECK_THROWS_WITH_AS(
        load(R"({"space": "nb201", "choices": [0, 0, 3, 0, 0, 0], "ops": ["none", "none", "nor_conv_1x1", "none", "none", "none"]})"),
        "architecture json: ops[2] is 'nor_conv_1x1' but choices[2] = 3 is 'nor_conv_3x3'", config_error);
    CHECK_THROWS_WITH_AS(load(R"({"space": "nb201", "choices": [0, 0, 0, 0, 0, 0], "edges": []})"),
                         "architecture json: 'edges' given, but the space nb201 has no edge variables", config_error);

    const search_space g = gram_fmnist();
    nlohmann::json j = architecture_to_json(g, gram_chain(g));
    j.erase("edges");
    CHECK_THROWS_WITH_AS(architecture_from_json(g, j),
                         "architecture json: missing key 'edges' (the space gram_fmnist has 30 edge variables)",
                         config_error);
    j["edges"] = std::vector<int>(30, 1);
    j["edges"][4] = 2;
    CHECK_THROWS_WITH_AS(architecture_from_json(g, j), "architecture json: edges[4] must be 0 or 1, got 2",
                         config_error);
    j["edges"] = std::vector<int>(29, 1);
    CHECK_THROWS_WITH_AS(architecture_from_json(g, j),
                         "architecture: 29 edge values, the space gram_fmnist has 30 edge variables", config_error);
    // a structurally invalid graph is refused on load too
    architecture bad = gram_chain(g);
    set_edge(g, bad, "stage 1 edge 1->2", 0);
    j["edges"] = std::vector<int>(bad.edges.begin(), bad.edges.end());
    CHECK_THROWS_WITH_AS(architecture_from_json(g, j),
                         "architecture: stage 1 edge 2->3 is on but stage 1 node 2 has no active input, in the space "
                         "gram_fmnist",
                         config_error);
}

TEST_CASE("the README's architecture JSON example loads") {
    std::ifstream in(std::string(HWNAS_SOURCE_DIR) + "/README.md");
    std::stringstream text;
    text << in.rdbuf();
    const std::string readme = text.str();
    const auto section = readme.find("## Architecture JSON");
    REQUIRE(section != std::string::npos);
    const auto begin = readme.find("```json\n", section) + 8, end = readme.find("```", begin);
    const architecture a = architecture_from_json(fbnet_cifar(), nlohmann::json::parse(readme.substr(begin, end - begin)));
    CHECK(a.choices[0] == 3);
    CHECK(a.choices[21] == 7);
}

}  // namespace test_architecture
