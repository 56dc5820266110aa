#include <doctest/doctest.h>

#include <hwnas/space/layerwise_space.hpp>
#include <hwnas/space/op_registry.hpp>
#include <hwnas/space/cost.hpp>

namespace test_op_kinds {

using namespace hwnas;

namespace {

const op_registry& reg() { return default_op_registry(); }

op_cost cost_at(const op_spec& op, feature_shape in, index_t cout, index_t stride) {
    return reg().cost(op, {in, cout, stride});
}

feature_shape shape_at(const op_spec& op, feature_shape in, index_t cout, index_t stride) {
    return reg().out_shape(op, {in, cout, stride});
}

}  // namespace

TEST_CASE("mbconv k3_e6 16 to 24 at stride 2 on 32x32 costs what the block definition gives") {
    const op_spec op{"k3_e6", "mbconv", {3, 6, 1}};
    CHECK(shape_at(op, {32, 32, 16}, 24, 2) == feature_shape{16, 16, 24});
    // conv1x1 16->96 at 32x32, depthwise 3x3/2 at 16x16, conv1x1 96->24 at 16x16
    const std::int64_t macs = 32 * 32 * 16 * 96 + 16 * 16 * 96 * 9 + 16 * 16 * 96 * 24;
    // weights 16*96 + 96*9 + 96*24, three BNs over 96, 96, 24 channels
    const std::int64_t params = 16 * 96 + 96 * 9 + 96 * 24 + 2 * (96 + 96 + 24);
    CHECK(macs == 2383872);
    CHECK(cost_at(op, {32, 32, 16}, 24, 2) == op_cost{macs, params});
    CHECK(params == 5136);
}

TEST_CASE("grouped mbconv divides both pointwise convs by the groups") {
    // k3_e1_g2 at 32x32x16 -> 16: conv1x1 16->16 g2, dw3x3, conv1x1 16->16 g2
    const std::int64_t macs = 1024 * 16 * 8 + 1024 * 16 * 9 + 1024 * 16 * 8;
    const std::int64_t params = 16 * 8 + 32 + 16 * 9 + 32 + 16 * 8 + 32;
    CHECK(cost_at({"k3_e1_g2", "mbconv", {3, 1, 2}}, {32, 32, 16}, 16, 1) == op_cost{macs, params});
    CHECK_THROWS_WITH_AS(shape_at({"k3_e1_g2", "mbconv", {3, 1, 2}}, {8, 8, 15}, 16, 1),
                         "k3_e1_g2 (mbconv): input channels 15 and cout 16 must be divisible by groups 2",
                         shape_error);
    CHECK_THROWS_WITH_AS(shape_at({"bad", "mbconv", {3, 0, 1}}, {8, 8, 16}, 16, 1),
                         "bad (mbconv): expansion 0 and groups 1 must be >= 1", config_error);
}

TEST_CASE("skip is free when the shape is kept and a conv1x1 with BN otherwise") {
    const op_spec skip{"skip", "skip", {}};
    CHECK(cost_at(skip, {32, 32, 16}, 16, 1) == op_cost{});
    CHECK(cost_at(skip, {32, 32, 16}, 24, 1) == op_cost{1024 * 16 * 24, 16 * 24 + 48});
    CHECK(shape_at(skip, {7, 7, 24}, 40, 2) == feature_shape{4, 4, 40});
    // the factorized form (two half convs on shifted inputs) costs the same
    const op_spec fr{"skip_connect", "factorized_skip", {}};
    CHECK(cost_at(fr, {32, 32, 16}, 32, 2) == op_cost{16 * 16 * 16 * 32, 16 * 32 + 64});
    CHECK(cost_at(fr, {32, 32, 16}, 16, 1) == op_cost{});
    CHECK_THROWS_WITH_AS(shape_at(fr, {32, 32, 16}, 16, 3),
                         "skip_connect (factorized_skip): stride 3 unsupported, expected 1 or 2", shape_error);
}

TEST_CASE("DARTS and NAS-Bench-201 ops cost their layer sequences") {
    // sep_conv_3x3 at 32x32x16: dw3x3, conv1x1 16->16, BN, dw3x3, conv1x1 16->16, BN
    CHECK(cost_at({"sep_conv_3x3", "sep_conv", {3}}, {32, 32, 16}, 16, 1) ==
          op_cost{1024 * (144 + 256 + 144 + 256), 144 + 256 + 32 + 144 + 256 + 32});
    // dil_conv_5x5 at stride 2: dw5x5 (dilation 2) + conv1x1 at 16x16, BN
    CHECK(shape_at({"dil_conv_5x5", "dil_conv", {5, 2}}, {32, 32, 16}, 16, 2) == feature_shape{16, 16, 16});
    CHECK(cost_at({"dil_conv_5x5", "dil_conv", {5, 2}}, {32, 32, 16}, 16, 2) ==
          op_cost{256 * (16 * 25 + 256), 400 + 256 + 32});
    // nor_conv_3x3: ReLU-conv3x3-BN
    CHECK(cost_at({"nor_conv_3x3", "relu_conv_bn", {3}}, {32, 32, 16}, 16, 1) == op_cost{1024 * 9 * 256, 2304 + 32});
    // NAS-Bench-201 reduction 16 -> 32: conv3x3/2 + BN, conv3x3 + BN, avgpool + conv1x1 shortcut
    CHECK(cost_at({"r", "resnet_basic", {}}, {32, 32, 16}, 32, 2) ==
          op_cost{256 * (9 * 16 * 32 + 9 * 32 * 32 + 16 * 32), 4608 + 64 + 9216 + 64 + 512});
    CHECK_THROWS_WITH_AS(shape_at({"r", "resnet_basic", {}}, {7, 7, 16}, 32, 2),
                         "r (resnet_basic): needs stride 1, or stride 2 on an even-sized input (the pooled shortcut "
                         "must match the conv path), got input [7,7,16], stride 2",
                         shape_error);
    for (const char* kind : {"max_pool", "avg_pool"}) {
        CHECK(cost_at({"p", kind, {3}}, {32, 32, 16}, 16, 2) == op_cost{});
        CHECK(shape_at({"p", kind, {3}}, {7, 7, 16}, 16, 2) == feature_shape{4, 4, 16});
    }
    CHECK(reg().at("zero").zero);
    CHECK(shape_at({"none", "zero", {}}, {7, 7, 16}, 16, 2) == feature_shape{4, 4, 16});
    CHECK_FALSE(reg().at("skip").zero);
}

TEST_CASE("GRAM node ops and the fixed stem and head pieces") {
    CHECK(cost_at({"dw5x5", "dw", {5}}, {14, 14, 24}, 24, 1) == op_cost{196 * 24 * 25, 600 + 48});
    CHECK(cost_at({"conv1x1", "conv_bn_relu", {1}}, {14, 14, 24}, 24, 1) == op_cost{196 * 576, 576 + 48});
    CHECK(cost_at({"conv3x3", "conv_bn", {3}}, {32, 32, 3}, 16, 1) == op_cost{1024 * 27 * 16, 432 + 32});
    CHECK(cost_at({"fc", "linear", {}}, {1, 1, 1504}, 100, 1) == op_cost{150400, 150500});
    CHECK(shape_at({"gap", "global_avg_pool", {}}, {4, 4, 352}, 352, 1) == feature_shape{1, 1, 352});
    CHECK(cost_at({"bn", "bn_relu", {}}, {8, 8, 64}, 64, 1) == op_cost{0, 128});
    CHECK_THROWS_WITH_AS(shape_at({"dw3x3", "dw", {3}}, {14, 14, 24}, 40, 1),
                         "dw3x3 (dw): keeps the channel count, got input [14,14,24] and cout 40", shape_error);
    CHECK_THROWS_WITH_AS(shape_at({"id", "identity", {}}, {14, 14, 24}, 24, 2),
                         "id (identity): outputs its input unchanged, got input [14,14,24], cout 24, stride 2",
                         shape_error);
    CHECK_THROWS_WITH_AS(shape_at({"fc", "linear", {}}, {4, 4, 16}, 10, 1),
                         "fc (linear): expects a [1,1,C] input and stride 1, got [4,4,16], stride 1", shape_error);
}

TEST_CASE("the registry rejects unknown kinds and wrong arguments") {
    CHECK_THROWS_WITH_AS(shape_at({"c", "conv_bn", {4}}, {8, 8, 3}, 8, 1), "c (conv_bn): kernel 4 must be odd and >= 1",
                         config_error);
    CHECK_THROWS_WITH_AS(shape_at({"k3", "mbconv", {3, 6}}, {8, 8, 8}, 8, 1),
                         "op k3: kind mbconv takes 3 arguments (kernel, expansion, groups), got 2", config_error);
    CHECK_THROWS_WITH_AS(shape_at({"k3", "mbconv", {3, 6, 1}}, {8, 8, 8}, 8, 0),
                         "op k3: needs a non-empty input, cout >= 1 and stride >= 1, got input [8,8,8], cout 8, stride 0",
                         shape_error);
    CHECK_THROWS_WITH_AS(shape_at({"d", "dil_conv", {3, 0}}, {8, 8, 8}, 8, 1), "d (dil_conv): dilation 0 must be >= 1",
                         config_error);
    CHECK_THROWS_WITH_AS(op_registry::with_builtins()->at("conv"),  // not the default one: tests may add kinds
                         "op_registry: unknown op kind 'conv' (known: avg_pool, bn_relu, conv_bn, conv_bn_relu, "
                         "dil_conv, dw, factorized_skip, global_avg_pool, identity, linear, max_pool, mbconv, "
                         "relu_conv_bn, resnet_basic, sep_conv, skip, zero)",
                         config_error);
    op_registry local;
    CHECK_THROWS_WITH_AS(local.at("mbconv"), "op_registry: unknown op kind 'mbconv' (known: none)", config_error);
    CHECK_THROWS_WITH_AS(default_op_registry().add({"mbconv", {}, "", [](const op_spec&, const op_site&) { return op_cost{}; }, {}}),
                         "op_registry: kind 'mbconv' is already registered", config_error);
    CHECK_THROWS_WITH_AS(local.add({"mine", {}, "", {}, {}}), "op_registry: kind 'mine' has no cost function",
                         config_error);
    CHECK_THROWS_WITH_AS(local.add({"", {}, "", {}, {}}), "op_registry: a kind needs a name", config_error);
}

TEST_CASE("a user kind registered once works as a candidate of any space") {
    // A 3x3 conv + BN with a width multiplier argument in percent of cout: the library never heard of it.
    register_op_kind({"test_wide_conv", {"percent"}, "conv3x3 to cout*percent/100 then conv1x1 to cout, BN",
                      [](const op_spec& op, const op_site& s) {
                          const index_t mid = s.cout * op.args[0] / 100, ho = (s.in.h + s.stride - 1) / s.stride;
                          const index_t wo = (s.in.w + s.stride - 1) / s.stride;
                          return op_cost{ho * wo * (9 * s.in.c * mid + mid * s.cout), 9 * s.in.c * mid + mid * s.cout + 2 * s.cout};
                      },
                      {}});
    CHECK(default_op_registry().contains("test_wide_conv"));
    CHECK_THROWS_WITH_AS(register_op_kind({"test_wide_conv", {}, "", [](const op_spec&, const op_site&) { return op_cost{}; }, {}}),
                         "op_registry: kind 'test_wide_conv' is already registered", config_error);
    auto candidates = fbnet_candidates();
    candidates.push_back({"wide50", "test_wide_conv", {50}});
    const search_space s = layerwise_space({"tiny", {8, 8, 3}, conv3x3_stem(8, 1),
                                            {{2, 16, 2}}, candidates, {std::nullopt, 0, 10}});
    CHECK(s.choice_points()[0].candidates.size() == 10);
    // layer 0 (8x8x8 -> 4x4x16) wide50: conv3x3 8->8 and conv1x1 8->16 at 4x4
    const std::int64_t wide = 16 * (9 * 8 * 8 + 8 * 16), wide_params = 9 * 8 * 8 + 8 * 16 + 32;
    const architecture skip_skip{{8, 8}, {}}, wide_skip{{9, 8}, {}};
    const op_cost base = network_cost(s, skip_skip);
    // skip at layer 0 reshapes 8 -> 16 (conv1x1/2 + BN); wide50 replaces it
    CHECK(network_cost(s, wide_skip).macs == base.macs - 16 * 8 * 16 + wide);
    CHECK(network_cost(s, wide_skip).params == base.params - (8 * 16 + 32) + wide_params);
    // a space built with a registry that lacks the kind refuses it
    op_registry local;
    CHECK_THROWS_WITH_AS(search_space("x", {8, 8, 3}, local).add_choice_point("p", {{"a", "mbconv", {3, 1, 1}}}),
                         "op_registry: unknown op kind 'mbconv' (known: none)", config_error);
}

}  // namespace test_op_kinds
