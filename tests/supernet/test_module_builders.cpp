#include <doctest/doctest.h>

#include <set>

#include <hwnas/space/presets.hpp>
#include <hwnas/ops/reduce.hpp>
#include <hwnas/supernet/module_builders.hpp>

namespace test_module_builders {

using namespace hwnas;

namespace {

// Builds every candidate and fixed op of space s at its site; checks shape, parameters and MACs against the space.
void check_space(const search_space& s, std::set<std::string>& kinds) {
    rng gen(1);
    for (const auto& n : s.nodes())
        for (const auto& e : n.inputs) {
            const std::vector<op_spec> fixed{e.op};
            const auto& ops = e.choice < 0 ? fixed : s.choice_points()[static_cast<std::size_t>(e.choice)].candidates;
            for (std::size_t c = 0; c < ops.size(); ++c) {
                const auto m = default_module_builders().build(ops[c], e.site, gen);
                const shape in = ops[c].kind == "linear" ? shape{1, e.site.in.c}
                                                         : shape{1, e.site.in.h, e.site.in.w, e.site.in.c};
                const shape out = ops[c].kind == "linear" || ops[c].kind == "global_avg_pool"
                                      ? shape{1, e.out.c}
                                      : shape{1, e.out.h, e.out.w, e.out.c};
                INFO(s.name(), " ", n.name, " ", ops[c].name, " at ", e.site.in, " cout ", e.site.cout, " stride ",
                     e.site.stride);
                CHECK(m->output_shape(in) == out);
                CHECK(m->num_parameters() == e.costs[c].params);
                CHECK(static_cast<std::int64_t>(m->macs(in)) == e.costs[c].macs);
                kinds.insert(ops[c].kind);
            }
        }
}

}  // namespace

TEST_CASE("built modules match the op kinds cost functions in every preset space") {
    std::set<std::string> kinds;
    check_space(fbnet_fmnist(), kinds);
    check_space(darts_space({.input = {28, 28, 1}, .channels = 4, .cells = 5}), kinds);
    check_space(nb201_space({.input = {16, 16, 3}, .channels = 4, .cells_per_stage = 1}), kinds);
    check_space(gram_fmnist(), kinds);
    // A stride-1 channel-changing factorized skip and the NAS-Bench-201 stride-1 shortcut.
    search_space s("extra", {8, 8, 4});
    const int p = s.add_choice_point("p", {{"fs", "factorized_skip", {}}, {"rb", "resnet_basic", {}},
                                           {"sk", "skip", {}}, {"g", "mbconv", {3, 2, 2}}});
    s.add_node("a", merge_mode::sum, {choice_edge(0, p, 6)});
    check_space(s, kinds);
    for (const auto& k : {"identity", "zero", "skip", "factorized_skip", "conv_bn", "conv_bn_relu", "relu_conv_bn",
                          "dw", "mbconv", "sep_conv", "dil_conv", "max_pool", "avg_pool", "global_avg_pool", "linear",
                          "bn_relu", "resnet_basic"}) {
        INFO(k);
        CHECK(kinds.count(k) == 1);
    }
}

TEST_CASE("module builder registry errors name the kind") {
    rng gen(0);
    module_builder_registry r;
    CHECK_THROWS_WITH_AS(r.build({"x", "mystery", {}}, {{4, 4, 2}, 2, 1}, gen),
                         "module_builder_registry: op x has kind 'mystery', which has no module builder (register "
                         "one with register_module_builder)",
                         config_error);
    r.add("mystery", [](const op_spec&, const op_site&, rng&) { return std::make_shared<identity_layer>(); });
    CHECK_THROWS_WITH_AS(r.add("mystery", [](const op_spec&, const op_site&, rng&) {
        return std::make_shared<identity_layer>();
    }), "module_builder_registry: kind 'mystery' already has a builder", config_error);
    CHECK(r.build({"x", "mystery", {}}, {{4, 4, 2}, 2, 1}, gen)->type_name() == "identity_layer");
}

TEST_CASE("shift_up_left moves pixels up and left and zero fills") {
    var x(tensor::from({1, 2, 2, 1}, {1, 2, 3, 4}), true);
    var y = shift_up_left(x);
    CHECK(std::vector<float>(y.value().begin(), y.value().end()) == std::vector<float>{4, 0, 0, 0});
    sum(scale(y, 2.0f)).backward();
    CHECK(std::vector<float>(x.grad().begin(), x.grad().end()) == std::vector<float>{0, 0, 0, 2});
}

}  // namespace test_module_builders
