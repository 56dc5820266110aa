#include <doctest/doctest.h>

#include <array>
#include <vector>

#include <hwnas/space/cost.hpp>
#include <hwnas/space/presets.hpp>
#include <hwnas/space/sample.hpp>

namespace test_spaces {

using namespace hwnas;

namespace {

// One searchable layer as the latency tables list it: input H (= W), Cin, Cout, stride.
struct lut_layer {
    index_t h, cin, cout, stride;
};

// shared/data/latency/fbnet_block_lut.csv, op 0 rows of each layer.
constexpr std::array<lut_layer, 22> cifar_layers{{{32, 16, 16, 1},  {32, 16, 24, 1},  {32, 24, 24, 1},
                                                  {32, 24, 24, 1},  {32, 24, 24, 1},  {32, 24, 32, 2},
                                                  {16, 32, 32, 1},  {16, 32, 32, 1},  {16, 32, 32, 1},
                                                  {16, 32, 64, 2},  {8, 64, 64, 1},   {8, 64, 64, 1},
                                                  {8, 64, 64, 1},   {8, 64, 112, 1},  {8, 112, 112, 1},
                                                  {8, 112, 112, 1}, {8, 112, 112, 1}, {8, 112, 184, 2},
                                                  {4, 184, 184, 1}, {4, 184, 184, 1}, {4, 184, 184, 1},
                                                  {4, 184, 352, 1}}};
constexpr std::array<lut_layer, 22> imagenet_layers{{{112, 16, 16, 1},  {112, 16, 24, 2},  {56, 24, 24, 1},
                                                     {56, 24, 24, 1},   {56, 24, 24, 1},   {56, 24, 32, 2},
                                                     {28, 32, 32, 1},   {28, 32, 32, 1},   {28, 32, 32, 1},
                                                     {28, 32, 64, 2},   {14, 64, 64, 1},   {14, 64, 64, 1},
                                                     {14, 64, 64, 1},   {14, 64, 112, 1},  {14, 112, 112, 1},
                                                     {14, 112, 112, 1}, {14, 112, 112, 1}, {14, 112, 184, 2},
                                                     {7, 184, 184, 1},  {7, 184, 184, 1},  {7, 184, 184, 1},
                                                     {7, 184, 352, 1}}};

void check_fbnet_layers(const search_space& s, const std::array<lut_layer, 22>& layers) {
    const std::vector<std::string> names{"k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1",
                                         "k5_e1_g2", "k5_e3", "k5_e6", "skip"};
    REQUIRE(s.choice_points().size() == 22);
    for (std::size_t l = 0; l < 22; ++l) {
        const choice_point& p = s.choice_points()[l];
        CHECK(p.name == fmt::format("layer {}", l));
        REQUIRE(p.candidates.size() == 9);
        for (std::size_t k = 0; k < 9; ++k) CHECK(p.candidates[k].name == names[k]);
        REQUIRE(p.sites.size() == 1);
        const space_edge& e = s.at(p.sites[0]);
        CHECK(e.site.in == feature_shape{layers[l].h, layers[l].h, layers[l].cin});
        CHECK(e.site.cout == layers[l].cout);
        CHECK(e.site.stride == layers[l].stride);
    }
}

}  // namespace

TEST_CASE("fbnet_cifar layers have the shapes of the latency table and its macro") {
    const search_space s = fbnet_cifar();
    CHECK(s.name() == "fbnet_cifar");
    CHECK(s.input_shape() == feature_shape{32, 32, 3});
    check_fbnet_layers(s, cifar_layers);
    CHECK(s.node_at(s.find_node("stem")).shape == feature_shape{32, 32, 16});
    CHECK(s.node_at(s.find_node("head")).shape == feature_shape{4, 4, 1504});
    CHECK(s.output_shape() == feature_shape{1, 1, 100});
    CHECK(s.gates().empty());
}

TEST_CASE("fbnet_imagenet layers have the shapes of the latency table and its macro") {
    const search_space s = fbnet_imagenet();
    check_fbnet_layers(s, imagenet_layers);
    CHECK(s.node_at(s.find_node("stem")).shape == feature_shape{112, 112, 16});
    CHECK(s.node_at(s.find_node("head")).shape == feature_shape{7, 7, 1984});
    CHECK(s.output_shape() == feature_shape{1, 1, 1000});
}

TEST_CASE("fbnet_cifar all-skip and all-k3_e1 networks cost the hand-computed totals") {
    const search_space s = fbnet_cifar();
    // All skip: stem conv3x3 3->16 + BN; reshaping conv1x1 + BN at layers 1 (16->24 @32),
    // 5 (24->32 /2 -> 16), 9 (32->64 /2 -> 8), 13 (64->112 @8), 17 (112->184 /2 -> 4), 21 (184->352 @4);
    // head conv1x1 352->1504 + BN at 4x4; linear 1504->100 with bias.
    const std::int64_t macs = 1024 * 27 * 16 + 1024 * 16 * 24 + 256 * 24 * 32 + 64 * 32 * 64 + 64 * 64 * 112 +
                              16 * 112 * 184 + 16 * 184 * 352 + 16 * 352 * 1504 + 1504 * 100;
    const std::int64_t params = (432 + 32) + (384 + 48) + (768 + 64) + (2048 + 128) + (7168 + 224) +
                                (20608 + 368) + (64768 + 704) + (529408 + 3008) + (150400 + 100);
    CHECK(network_cost(s, {std::vector<int>(22, 8), {}}) == op_cost{macs, params});
    CHECK(macs == 11608960);
    CHECK(params == 780660);
    // All k3_e1 (computed independently from the README's block definition, Python):
    CHECK(network_cost(s, {std::vector<int>(22, 0), {}}) == op_cost{31322240, 1170676});
}

TEST_CASE("fbnet_fmnist is a 7-layer space on 28x28x1 with 10 classes") {
    const search_space s = fbnet_fmnist();
    CHECK(s.choice_points().size() == 7);
    CHECK(s.node_at(s.find_node("stem")).shape == feature_shape{14, 14, 16});
    CHECK(s.node_at(s.find_node("layer 6")).shape == feature_shape{4, 4, 64});
    CHECK(s.output_shape() == feature_shape{1, 1, 10});
    CHECK(count_architectures(s).exact == "4782969");
}

TEST_CASE("nb201 all-conv3x3 network has NAS-Bench-201's 1.53M parameters and 220M MACs") {
    const search_space s = nb201_space();
    REQUIRE(s.choice_points().size() == 6);
    const std::vector<std::string> edges{"edge 0->1", "edge 0->2", "edge 1->2", "edge 0->3", "edge 1->3", "edge 2->3"};
    const std::vector<std::string> ops{"none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"};
    for (std::size_t e = 0; e < 6; ++e) {
        CHECK(s.choice_points()[e].name == edges[e]);
        CHECK(s.choice_points()[e].sites.size() == 15);
        for (std::size_t k = 0; k < 5; ++k) CHECK(s.choice_points()[e].candidates[k].name == ops[k]);
    }
    // stem 3->16 (432 + 32); per cell 6 x (9C^2 + 2C) for 5 cells at C = 16, 32, 64;
    // reductions 16->32 and 32->64 (conv3x3/2 + BN, conv3x3 + BN, conv1x1 shortcut);
    // last BN (128); linear 64->10 with bias.
    const auto cell = [](std::int64_t c) { return 6 * (9 * c * c + 2 * c); };
    const auto reduction = [](std::int64_t a, std::int64_t b) { return 9 * a * b + 2 * b + 9 * b * b + 2 * b + a * b; };
    const std::int64_t params = 464 + 5 * cell(16) + reduction(16, 32) + 5 * cell(32) + reduction(32, 64) +
                                5 * cell(64) + 128 + 650;
    CHECK(params == 1531546);
    const op_cost c = network_cost(s, {std::vector<int>(6, 3), {}});
    CHECK(c.params == params);
    const std::int64_t macs = 1024 * 432 + 5 * 1024 * (cell(16) - 6 * 32) + 256 * (reduction(16, 32) - 128) +
                              5 * 256 * (cell(32) - 6 * 64) + 64 * (reduction(32, 64) - 256) +
                              5 * 64 * (cell(64) - 6 * 128) + 640;
    CHECK(c.macs == macs);
    CHECK(c.macs == 220119680);
    CHECK(count_architectures(s).exact == "15625");
}

TEST_CASE("darts has 14 shared edges per cell type over 8 cells") {
    const search_space s = darts_space();
    REQUIRE(s.choice_points().size() == 28);
    CHECK(s.choice_points()[0].name == "normal edge 0->2");
    CHECK(s.choice_points()[13].name == "normal edge 4->5");
    CHECK(s.choice_points()[14].name == "reduce edge 0->2");
    CHECK(s.choice_points()[0].candidates.size() == 8);
    CHECK(s.choice_points()[0].candidates[0].name == "none");
    CHECK(s.choice_points()[0].sites.size() == 6);
    CHECK(s.choice_points()[14].sites.size() == 2);
    // reduction edges from the cell inputs have stride 2, the others stride 1
    CHECK(s.at(s.choice_points()[14].sites[0]).site.stride == 2);
    CHECK(s.choice_points()[18].name == "reduce edge 2->3");
    CHECK(s.at(s.choice_points()[18].sites[0]).site.stride == 1);
    CHECK(s.node_at(s.find_node("cell 2 output")).shape == feature_shape{16, 16, 128});
    CHECK(s.node_at(s.find_node("cell 7 output")).shape == feature_shape{8, 8, 256});
    CHECK(s.output_shape() == feature_shape{1, 1, 10});
    CHECK(count_architectures(s).exact == "19342813113834066795298816");  // 8^28
    // The all-skip_connect network, computed by hand (Python): preprocessing convs of every
    // cell and 8 factorized reductions per reduction cell, stem, linear.
    CHECK(network_cost(s, {std::vector<int>(28, 1), {}}) == op_cost{24660480, 143226});
    // 28x28 gray images work too: odd maps after the second reduction
    const search_space small = darts_space({.input = {28, 28, 1}, .cells = 5});
    CHECK(small.node_at(small.find_node("cell 4 output")).shape == feature_shape{7, 7, 256});
}

TEST_CASE("gram_fmnist has 3 stages of 4 nodes with an edge variable per node pair") {
    const search_space s = gram_fmnist();
    REQUIRE(s.choice_points().size() == 12);
    REQUIRE(s.gates().size() == 30);
    CHECK(s.choice_points()[0].name == "stage 1 node 1");
    CHECK(s.choice_points()[0].candidates.size() == 6);
    CHECK(s.gates()[0].name == "stage 1 edge 0->1");
    CHECK(s.gates()[1].name == "stage 1 edge 0->2");
    CHECK(s.gates()[2].name == "stage 1 edge 1->2");
    CHECK(s.gates()[9].name == "stage 1 edge 3->4");
    CHECK(s.gates()[10].name == "stage 2 edge 0->1");
    CHECK(s.node_at(s.find_node("stage 1 output")).shape == feature_shape{14, 14, 24});
    CHECK(s.node_at(s.find_node("stage 3 node 4")).shape == feature_shape{4, 4, 64});
    CHECK(s.output_shape() == feature_shape{1, 1, 10});
    // per node v: 6 ops x (2^v - 1) input sets; per stage 6^4 * 1 * 3 * 7 * 15 = 408240
    const space_size n = count_architectures(s);
    CHECK(n.exact == "68037236596224000");
    CHECK(n.log10 == doctest::Approx(16.8327).epsilon(1e-4));
}

TEST_CASE("space sizes are exact beyond 64 bits") {
    const space_size n = count_architectures(fbnet_cifar());
    CHECK(n.exact == "984770902183611232881");  // 9^22
    CHECK(n.log10 == doctest::Approx(22 * std::log10(9.0)));
    CHECK(count_architectures(fbnet_imagenet()).exact == n.exact);
}

TEST_CASE("preset_space finds every preset by name") {
    for (const auto& name : preset_space_names()) CHECK(preset_space(name).name() == name);
    CHECK_THROWS_WITH_AS(preset_space("fbnet"),
                         "preset_space: unknown space 'fbnet' (presets: fbnet_imagenet, fbnet_cifar, fbnet_fmnist, "
                         "darts, nb201, gram_fmnist)",
                         config_error);
}

TEST_CASE("a skeleton with wrong shapes or wiring is refused with the place named") {
    search_space s("toy", {8, 8, 4});
    const int p = s.add_choice_point("p", {{"a", "conv_bn", {3}}, {"b", "skip", {}}});
    CHECK_THROWS_WITH_AS(s.add_choice_point("p", {{"a", "conv_bn", {3}}}),
                         "search_space toy: choice point 'p' already exists", config_error);
    CHECK_THROWS_WITH_AS(s.add_choice_point("q", {}), "search_space toy: choice point 'q' has no candidates",
                         config_error);
    CHECK_THROWS_WITH_AS(s.add_choice_point("q", {{"a", "skip", {}}, {"a", "zero", {}}}),
                         "search_space toy: choice point 'q' has two candidates named 'a'", config_error);
    const int a = s.add_node("a", merge_mode::sum, {choice_edge(0, p, 8, 2)});
    CHECK(s.node_at(a).shape == feature_shape{4, 4, 8});
    CHECK_THROWS_WITH_AS(s.add_node("a", merge_mode::sum, {choice_edge(0, p)}), "search_space toy: node 'a' already exists",
                         config_error);
    CHECK_THROWS_WITH_AS(s.add_node("b", merge_mode::sum, {}), "search_space toy: node 'b' has no inputs", config_error);
    CHECK_THROWS_WITH_AS(s.add_node("b", merge_mode::sum, {choice_edge(5, p)}),
                         "search_space toy: node 'b' input 0 comes from node 5, expected 0..1", config_error);
    CHECK_THROWS_WITH_AS(s.add_node("b", merge_mode::sum, {choice_edge(0, 3)}),
                         "search_space toy: node 'b' input 0 (from 'input'): choice point 3 does not exist (1 defined)",
                         config_error);
    CHECK_THROWS_WITH_AS(s.add_node("b", merge_mode::sum, {fixed_edge(0, {"z", "zero", {}})}),
                         "search_space toy: node 'b' input 0 (from 'input'): the fixed op z outputs only zeros",
                         config_error);
    CHECK_THROWS_WITH_AS(s.add_node("b", merge_mode::sum, {choice_edge(0, p), choice_edge(a, p)}),
                         "search_space toy: node 'b' sums inputs of shapes [8,8,4] and [4,4,8]", shape_error);
    CHECK_THROWS_WITH_AS(s.add_node("b", merge_mode::concat, {choice_edge(0, p), choice_edge(a, p)}),
                         "search_space toy: node 'b' concatenates inputs of shapes [8,8,4] and [4,4,8]", shape_error);
    CHECK_THROWS_WITH_AS(s.add_node("b", merge_mode::sum, {fixed_edge(a, {"dw3", "dw", {3}}, 16)}),
                         "search_space toy: node 'b' input 0 (from 'a'): dw3 (dw): keeps the channel count, got input "
                         "[4,4,8] and cout 16",
                         shape_error);
    const int q = s.add_choice_point("q", {{"c", "conv_bn", {3}}, {"gap", "global_avg_pool", {}}});
    CHECK_THROWS_WITH_AS(s.add_node("b", merge_mode::sum, {choice_edge(a, q)}),
                         "search_space toy: node 'b' input 0 (from 'a'): candidates disagree on the output shape: c "
                         "gives [4,4,8], gap gives [1,1,8]",
                         shape_error);
    space_edge both = choice_edge(a, p);
    both.op = {"c", "conv_bn", {3}};
    CHECK_THROWS_WITH_AS(s.add_node("b", merge_mode::sum, {both}),
                         "search_space toy: node 'b' input 0 (from 'a'): has both choice point 0 and the fixed op c",
                         config_error);
    const auto gated = [&](std::string gate) {
        space_edge e = fixed_edge(a, {"id", "identity", {}});
        e.gate = std::move(gate);
        return e;
    };
    space_edge g1 = gated("g");
    CHECK_THROWS_WITH_AS(s.add_node("b", merge_mode::sum, {g1, gated("g")}),
                         "search_space toy: node 'b' input 1: edge variable 'g' already exists", config_error);
    g1.sink = true;
    CHECK_THROWS_WITH_AS(s.add_node("b", merge_mode::sum, {g1}),
                         "search_space toy: node 'b' input 0 (from 'a'): a sink edge cannot also be gated",
                         config_error);
    // a failed add leaves the space as it was
    CHECK(s.nodes().size() == 2);
    CHECK(s.gates().empty());
    CHECK(s.choice_points()[0].sites.size() == 1);
}

TEST_CASE("spaces refuse empty names and shapes and too many gated inputs") {
    CHECK_THROWS_WITH_AS(search_space("", {8, 8, 3}), "search_space: a space needs a name", config_error);
    CHECK_THROWS_WITH_AS(search_space("toy", {8, 0, 3}), "search_space toy: input shape [8,0,3] has an empty extent",
                         shape_error);
    search_space s("toy", {8, 8, 3});
    CHECK_THROWS_WITH_AS(s.add_node("", merge_mode::sum, {fixed_edge(0, {"id", "identity", {}})}),
                         "search_space toy: a node needs a name", config_error);
    std::vector<space_edge> many;
    for (int i = 0; i < 32; ++i) {
        many.push_back(fixed_edge(0, {"id", "identity", {}}));
        many.back().gate = fmt::format("g{}", i);
    }
    CHECK_THROWS_WITH_AS(s.add_node("n", merge_mode::sum, many),
                         "search_space toy: node 'n' has 32 gated inputs, at most 31 allowed", config_error);
    many.pop_back();
    CHECK(s.add_node("n", merge_mode::sum, many) == 1);
    CHECK(count_architectures(s).exact == "2147483647");  // 2^31 - 1 non-empty input sets
    CHECK_THROWS_WITH_AS(darts_space({.cells = 0}), "darts_space: needs cells >= 1 and nodes >= 1, got 0 and 4",
                         config_error);
}

}  // namespace test_spaces
