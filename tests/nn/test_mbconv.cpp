#include <doctest/doctest.h>

#include <memory>

#include <hwnas/autograd/backward.hpp>
#include <hwnas/autograd/grad_check.hpp>
#include <hwnas/nn/mbconv.hpp>
#include <hwnas/ops/reduce.hpp>

namespace test_mbconv {

using namespace hwnas;

namespace {
// FBNet block parameter count: three convs plus gamma and beta for each BN.
index_t mbconv_params(index_t cin, index_t cout, index_t k, index_t e, index_t g) {
    const index_t h = e * cin;
    return (cin / g) * h + 2 * h + k * k * h + 2 * h + (h / g) * cout + 2 * cout;
}
tensor random_input(const shape& s, std::uint64_t seed) {
    rng r(seed);
    tensor t = tensor::uninitialized(s);
    for (float& v : t) v = r.uniform(-1, 1);
    return t;
}
}  // namespace

TEST_CASE("mbconv parameter names and counts follow the FBNet block") {
    rng g(1);
    mbconv b(16, 24, g, {.kernel = 5, .expansion = 6, .stride = 2});
    std::vector<std::string> names;
    for (const auto& p : b.named_parameters()) names.push_back(p.name);
    CHECK(names == std::vector<std::string>{"expand.weight", "expand.gamma", "expand.beta", "dw.weight", "dw.gamma",
                                            "dw.beta", "project.weight", "project.gamma", "project.beta"});
    CHECK(b.named_buffers().size() == 6);
    CHECK(b.named_buffers()[2].name == "dw.running_mean");
    CHECK(b.dw().weight().shape() == shape{5, 5, 1, 96});
    CHECK(b.num_parameters() == mbconv_params(16, 24, 5, 6, 1));
    CHECK_FALSE(b.has_residual());

    mbconv grouped(16, 16, g, {.kernel = 3, .expansion = 1, .groups = 2});  // k3_e1_g2
    CHECK(grouped.num_parameters() == mbconv_params(16, 16, 3, 1, 2));
    CHECK(grouped.expand().weight().shape() == shape{1, 1, 8, 16});
    CHECK(grouped.has_residual());
}

TEST_CASE("mbconv macs and output shapes") {
    rng g(2);
    mbconv b(8, 12, g, {.kernel = 3, .expansion = 3, .stride = 2});
    const shape in{2, 10, 10, 8};
    CHECK(b.output_shape(in) == shape{2, 5, 5, 12});
    // expand 1x1 on 10x10, depthwise 3x3 stride 2 to 5x5, project 1x1 on 5x5
    const double expected = 2.0 * 100 * 8 * 24 + 2.0 * 25 * 9 * 24 + 2.0 * 25 * 24 * 12;
    CHECK(b.macs(in) == expected);
    CHECK(b.forward(var(random_input(in, 3))).shape() == shape{2, 5, 5, 12});
}

TEST_CASE("mbconv residual and channel shuffle") {
    rng g(4);
    // With the project BN's gamma and beta at zero the block's branch outputs
    // zero, so a residual block is the identity.
    mbconv b(8, 8, g, {.kernel = 3, .expansion = 2, .groups = 2});
    auto ps = b.named_parameters();
    for (auto& p : ps)
        if (p.name == "project.gamma") p.param.value().fill(0.0f);
    const tensor x = random_input({2, 4, 4, 8}, 5);
    var y = b.forward(var(x));
    CHECK(std::equal(x.begin(), x.end(), y.value().begin()));

    mbconv no_res(8, 8, g, {.kernel = 3, .expansion = 2, .stride = 2});
    CHECK_FALSE(no_res.has_residual());
}

TEST_CASE("mbconv backward reaches every parameter and matches finite differences") {
    rng g(6);
    auto b = std::make_shared<mbconv>(4, 4, g, mbconv_options{.kernel = 3, .expansion = 2, .groups = 2,
                                                              .act = activation::relu6});
    b->eval();  // fixed running statistics: the block is a smooth function of its input away from kinks
    const tensor x = random_input({1, 3, 3, 4}, 7);
    var loss = sum(b->forward(var(x)));
    loss.backward();
    for (const auto& p : b->named_parameters()) CHECK_MESSAGE(p.param.grad().defined(), p.name);
    const auto r = grad_check([&](std::span<const var> in) { return b->forward(in[0]); }, {x});
    CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("mbconv arguments are validated") {
    rng g(8);
    CHECK_THROWS_WITH_AS(mbconv(4, 4, g, {.expansion = 0}), "mbconv: expansion 0 must be at least 1", config_error);
    CHECK_THROWS_WITH_AS(mbconv(4, 4, g, {.kernel = 4}), "mbconv: kernel 4 must be odd", config_error);
    CHECK_THROWS_WITH_AS(mbconv(6, 8, g, {.groups = 4}),
                         "conv_bn_act: 6 input and 6 output channels do not both split into 4 groups", config_error);
}

}  // namespace test_mbconv
