#include <doctest/doctest.h>

#include <cmath>
#include <memory>

#include <hwnas/autograd/backward.hpp>
#include <hwnas/nn/layers.hpp>
#include <hwnas/nn/sequential.hpp>
#include <hwnas/ops/reduce.hpp>

namespace test_layers {

using namespace hwnas;

namespace {
tensor random_input(const shape& s, std::uint64_t seed) {
    rng g(seed);
    tensor t = tensor::uninitialized(s);
    for (float& v : t) v = g.uniform(-1, 1) + 0.5f;  // a nonzero mean, so running stats move
    return t;
}
}  // namespace

TEST_CASE("conv_bn_act parameters buffers shapes and macs") {
    rng g(1);
    conv_bn_act c(8, 16, 3, g, {.stride = 2, .groups = 2});
    std::vector<std::string> names;
    for (const auto& p : c.named_parameters()) names.push_back(p.name);
    CHECK(names == std::vector<std::string>{"weight", "gamma", "beta"});
    CHECK(c.weight().shape() == shape{3, 3, 4, 16});
    CHECK(c.num_parameters() == 3 * 3 * 4 * 16 + 2 * 16);
    const auto bufs = c.named_buffers();
    REQUIRE(bufs.size() == 2);
    CHECK(bufs[0].name == "running_mean");
    CHECK(bufs[1].name == "running_var");
    CHECK(c.conv_params().padding == 1);
    CHECK(c.output_shape({2, 9, 9, 8}) == shape{2, 5, 5, 16});
    CHECK(c.macs({2, 9, 9, 8}) == 2.0 * 5 * 5 * 16 * (3 * 3 * 4));
    var y = c.forward(var(random_input({2, 9, 9, 8}, 2)));
    CHECK(y.shape() == shape{2, 5, 5, 16});
    for (float v : y.value()) CHECK(v >= 0.0f);  // fused ReLU
    conv_bn_act dilated(4, 4, 3, g, {.dilation = 2});
    CHECK(dilated.conv_params().padding == 2);
    CHECK(dilated.output_shape({1, 7, 7, 4}) == shape{1, 7, 7, 4});
}

TEST_CASE("conv_bn_act weights are Kaiming normal with fan_out") {
    rng g(3);
    conv_bn_act c(16, 64, 3, g, {.act = activation::none});
    double sq = 0;
    for (float v : c.weight().value()) sq += static_cast<double>(v) * v;
    CHECK(sq / static_cast<double>(c.weight().numel()) == doctest::Approx(2.0 / (9 * 64)).epsilon(0.05));
    for (float v : c.gamma().value()) CHECK(v == 1.0f);
    for (float v : c.beta().value()) CHECK(v == 0.0f);
}

TEST_CASE("train and eval switch batch norm between batch and running statistics") {
    rng g(4);
    conv_bn_act c(3, 4, 1, g, {.act = activation::none});
    const tensor x = random_input({4, 5, 5, 3}, 5);

    // training: batch statistics, so each output channel has mean ~0 and variance ~1
    var y = c.forward(var(x));
    for (index_t ch = 0; ch < 4; ++ch) {
        double m = 0, v = 0;
        const index_t n = y.numel() / 4;
        for (index_t i = 0; i < n; ++i) m += y.value()[i * 4 + ch];
        m /= static_cast<double>(n);
        for (index_t i = 0; i < n; ++i) v += std::pow(y.value()[i * 4 + ch] - m, 2);
        CHECK(std::abs(m) < 1e-4);
        CHECK(v / static_cast<double>(n) == doctest::Approx(1.0).epsilon(1e-3));
    }
    const tensor mean_after = c.running_mean().clone();
    CHECK(std::abs(mean_after[0]) > 0);  // running stats moved

    // evaluation: running statistics, which stay unchanged
    c.eval();
    var z = c.forward(var(x));
    CHECK(std::equal(mean_after.begin(), mean_after.end(), c.running_mean().begin()));
    var conv_only = conv2d(var(x), c.weight(), var(), c.conv_params());
    const float expected = (conv_only.value()[0] - mean_after[0]) / std::sqrt(c.running_var()[0] + 1e-5f);
    CHECK(z.value()[0] == doctest::Approx(expected).epsilon(1e-5));
    CHECK(z.value()[0] != doctest::Approx(y.value()[0]).epsilon(1e-3));
}

TEST_CASE("conv_bn_act arguments are validated") {
    rng g(6);
    CHECK_THROWS_WITH_AS(conv_bn_act(0, 4, 3, g),
                         "conv_bn_act: got 0 input channels, 4 output channels and kernel 3, expected at least 1 each",
                         config_error);
    CHECK_THROWS_WITH_AS(conv_bn_act(6, 8, 3, g, {.groups = 4}),
                         "conv_bn_act: 6 input and 8 output channels do not both split into 4 groups", config_error);
    CHECK_THROWS_WITH_AS(conv_bn_act(4, 4, 3, g, {.stride = 0}),
                         "conv_bn_act: stride 0, dilation 1 and groups 1 must be at least 1", config_error);
    CHECK_THROWS_WITH_AS(conv_bn_act(4, 4, 2, g), "conv_bn_act: \"same\" padding needs an odd kernel, got 2",
                         config_error);
    CHECK_THROWS_WITH_AS(conv_bn_act(4, 4, 3, g, {.padding = -2}),
                         "conv_bn_act: padding -2 is negative (-1 means \"same\")", config_error);
    conv_bn_act even(4, 4, 2, g, {.padding = 0});
    CHECK(even.output_shape({1, 5, 5, 4}) == shape{1, 4, 4, 4});
}

TEST_CASE("classifier_head pools then classifies") {
    rng g(7);
    classifier_head h(6, 3, g);
    CHECK(h.named_parameters()[0].name == "fc.weight");
    CHECK(h.num_parameters() == 6 * 3 + 3);
    CHECK(h.output_shape({2, 4, 4, 6}) == shape{2, 3});
    CHECK(h.macs({2, 4, 4, 6}) == 2 * 6 * 3);
    var x(tensor::full({2, 4, 4, 6}, 1.0f));
    var y = h.forward(x);
    CHECK(y.shape() == shape{2, 3});
    // constant input: the pooled vector is all ones
    const auto& w = h.fc().weight().value();
    CHECK(y.value()[0] == doctest::Approx(w[0] + w[3] + w[6] + w[9] + w[12] + w[15] + h.fc().bias().value()[0]));
    CHECK_THROWS_WITH_AS(h.output_shape({2, 6}), "classifier_head: input has shape [2,6], expected rank 4 [N, H, W, C]",
                         shape_error);
}

TEST_CASE("modules compose through shared and unique pointers") {
    rng g(8);
    std::unique_ptr<module> net = std::make_unique<sequential>(std::vector<std::shared_ptr<module>>{
        std::make_shared<conv_bn_act>(1, 4, 3, g, conv_bn_act_options{.stride = 2}),
        std::make_shared<classifier_head>(4, 2, g)});
    CHECK(net->output_shape({3, 8, 8, 1}) == shape{3, 2});
    CHECK(net->macs({3, 8, 8, 1}) == 3.0 * 4 * 4 * 4 * 9 + 3 * 4 * 2);
    var loss = sum(net->forward(var(random_input({3, 8, 8, 1}, 9))));
    loss.backward();
    for (const auto& p : net->named_parameters()) CHECK_MESSAGE(p.param.grad().defined(), p.name);
}

}  // namespace test_layers
