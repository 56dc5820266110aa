#include <doctest/doctest.h>

#include <hwnas/ops/reduce.hpp>
#include <hwnas/space/presets.hpp>
#include <hwnas/space/sample.hpp>
#include <hwnas/supernet/derive.hpp>

namespace test_supernet {

using namespace hwnas;

namespace {

tensor random_input(shape s, std::uint64_t seed) {
    rng g(seed);
    tensor t = tensor::uninitialized(s);
    for (auto& v : t) v = g.normal();
    return t;
}

search_space tiny_darts() { return darts_space({.input = {8, 8, 2}, .channels = 4, .cells = 3, .nodes = 2}); }

bool same(const tensor& a, const tensor& b) {
    return a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin());
}

// The derived network with the supernet's weights and the one-hot supernet agree exactly.
void check_equivalence(const search_space& s, const architecture& a, shape in) {
    supernet net(s, {.mode = mixing::fixed, .seed = 3});
    net.set_architecture(a);
    rng gen(9);
    auto d = derive_network(net, a, gen);
    const tensor x = random_input(in, 5);
    for (bool training : {false, true}) {
        net.train(training);
        d->train(training);
        const var y1 = net.forward(var(x)), y2 = d->forward(var(x));
        INFO("training ", training);
        CHECK(same(y1.value(), y2.value()));
    }
}

}  // namespace

TEST_CASE("derived network with supernet weights equals the one-hot supernet") {
    const search_space f = fbnet_fmnist();
    rng g(4);
    for (int t = 0; t < 2; ++t) check_equivalence(f, sample_architecture(f, g), {2, 28, 28, 1});
    const search_space d = tiny_darts();
    // Edges with `none` chosen carry nothing.
    architecture a = sample_architecture(d, g);
    a.choices[0] = 0;
    a.choices[3] = 0;
    check_equivalence(d, a, {2, 8, 8, 2});
    const search_space n = nb201_space({.input = {8, 8, 3}, .channels = 4, .cells_per_stage = 1});
    check_equivalence(n, sample_architecture(n, g), {2, 8, 8, 3});
}

TEST_CASE("supernet parameter groups hold one alpha per choice point") {
    const search_space d = tiny_darts();
    supernet net(d);
    CHECK(net.alphas().size() == d.choice_points().size());  // normal and reduce edges: per cell type
    CHECK(net.parameters(arch_group).size() == d.choice_points().size());
    CHECK(net.num_parameters(arch_group) == static_cast<index_t>(d.choice_points().size() * 8));
    CHECK(net.parameters(weights_group).size() == net.weights().size());
}

TEST_CASE("every mixing mode runs and sends gradients where it should") {
    const search_space f = fbnet_fmnist();
    const tensor x = random_input({2, 28, 28, 1}, 1);
    for (mixing m : {mixing::softmax, mixing::gumbel, mixing::binary, mixing::uniform}) {
        INFO(mixing_name(m));
        supernet net(f, {.mode = m, .seed = 2});
        net.zero_grad();
        var y = net.forward(var(x));
        CHECK(y.shape() == shape{2, 10});
        sum(y).backward();
        int with_grad = 0;
        for (const auto& a : net.alphas())
            if (a.grad().defined())
                for (float v : a.grad()) with_grad += v != 0.0f;
        if (m == mixing::uniform) CHECK(with_grad == 0);
        else if (m == mixing::binary) CHECK(with_grad == 2 * 7);  // the sampled pair per layer
        else CHECK(with_grad == 9 * 7);
    }
}

TEST_CASE("binary mixing runs one path when alpha is frozen") {
    const search_space f = fbnet_fmnist();
    supernet net(f, {.mode = mixing::binary, .seed = 2});
    net.set_requires_grad(arch_group, false);
    sum(net.forward(var(random_input({2, 28, 28, 1}, 1)))).backward();
    for (int layer = 0; layer < 7; ++layer) {
        const int node = f.find_node(fmt::format("layer {}", layer));
        int trained = 0;
        for (int c = 0; c < 9; ++c) {
            bool any = false;
            for (const auto& p : net.edge_module(node, 0, c).parameters()) any = any || p.grad().defined();
            trained += any;
        }
        CHECK(trained <= 1);  // skip has no weights where the shape is kept
    }
}

TEST_CASE("binary gate gradient is the ProxylessNAS formula over the sampled pair") {
    var alpha(tensor::from({3}, {0.3f, -0.2f, 0.5f}), true);
    var g = detail::binary_gates(alpha, 2, 0);
    CHECK(std::vector<float>(g.value().begin(), g.value().end()) == std::vector<float>{0, 0, 1});
    sum(mul(g, var(tensor::from({3}, {1.5f, 7.0f, -2.0f})))).backward();
    const double pa = 1.0 / (1.0 + std::exp(0.3 - 0.5)), pb = 1 - pa;  // p'(2), p'(0)
    CHECK(alpha.grad()[2] == doctest::Approx(-2.0 * pa * (1 - pa) - 1.5 * pb * pa));
    CHECK(alpha.grad()[0] == doctest::Approx(1.5 * pb * (1 - pb) + 2.0 * pa * pb));
    CHECK(alpha.grad()[1] == 0.0f);
}

TEST_CASE("fixed mixing needs an architecture") {
    supernet net(tiny_darts(), {.mode = mixing::fixed});
    CHECK_THROWS_WITH_AS(net.forward(var(random_input({1, 8, 8, 2}, 0))),
                         "supernet: mixing::fixed runs the architecture of set_architecture, which was not called",
                         config_error);
}

}  // namespace test_supernet
