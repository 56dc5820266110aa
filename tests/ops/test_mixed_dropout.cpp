// weighted_sum and dropout: known values, absent paths, errors.
// Gradients are checked through the op registry (ops/cases/misc.hpp).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include <hwnas/autograd/backward.hpp>
#include <hwnas/core/rng.hpp>
#include <hwnas/ops/dropout.hpp>
#include <hwnas/ops/mixed.hpp>

namespace test_mixed_dropout {

using namespace hwnas;

namespace {
std::vector<float> values(const tensor& t) { return {t.begin(), t.end()}; }
}  // namespace

TEST_CASE("weighted_sum mixes inputs and differentiates inputs and weights") {
    var x0(tensor::from({2}, {1, 2}), true), x1(tensor::from({2}, {3, 4}), true), x2(tensor::from({2}, {5, 6}), true);
    var w(tensor::from({3}, {0.5f, -1, 2}), true);
    var y = weighted_sum({x0, x1, x2}, w);
    CHECK(values(y.value()) == std::vector<float>{7.5f, 9});
    backward(y, tensor::from({2}, {1, 10}));
    CHECK(values(x0.grad()) == std::vector<float>{0.5f, 5});
    CHECK(values(x1.grad()) == std::vector<float>{-1, -10});
    CHECK(values(x2.grad()) == std::vector<float>{2, 20});
    CHECK(values(w.grad()) == std::vector<float>{21, 43, 65});  // <gy, x_i>
}

TEST_CASE("weighted_sum skips absent zero-weight paths as ProxylessNAS does") {
    // Path 1 was not computed (empty var, gate 0); path 0 was computed with
    // gate 0 because its gate gradient is wanted.
    var x0(tensor::from({2}, {1, 2}), true), x2(tensor::from({2}, {5, 6}), true);
    var gates(tensor::from({3}, {0, 0, 1}), true);
    var y = weighted_sum({x0, var(), x2}, gates);
    CHECK(values(y.value()) == std::vector<float>{5, 6});
    backward(y, tensor::from({2}, {1, 10}));
    CHECK(values(gates.grad()) == std::vector<float>{21, 0, 65});
    CHECK(values(x0.grad()) == std::vector<float>{0, 0});
    CHECK(values(x2.grad()) == std::vector<float>{1, 10});
}

TEST_CASE("weighted_sum on a long input matches a double-precision reference") {
    const index_t n = 10000;
    rng g(1);
    std::vector<var> xs;
    for (int i = 0; i < 3; ++i) {
        tensor t = tensor::uninitialized({n});
        for (float& v : t) v = g.uniform(-1, 1);
        xs.emplace_back(t, i == 0);
    }
    tensor gy = tensor::uninitialized({n});
    for (float& v : gy) v = g.uniform(-1, 1);
    var w(tensor::from({3}, {0.2f, 0.5f, 0.3f}), true);
    var y = weighted_sum(xs, w);
    backward(y, gy);
    bool ok = true;
    for (index_t i = 0; i < n; ++i) {
        const double ref = 0.2 * xs[0].value()[i] + 0.5 * xs[1].value()[i] + 0.3 * xs[2].value()[i];
        ok = ok && std::abs(y.value()[i] - ref) < 1e-6 && xs[0].grad()[i] == 0.2f * gy[i];
    }
    CHECK(ok);
    for (int t = 0; t < 3; ++t) {
        double dot = 0;
        for (index_t i = 0; i < n; ++i) dot += static_cast<double>(gy[i]) * xs[static_cast<std::size_t>(t)].value()[i];
        CHECK(w.grad()[t] == doctest::Approx(dot));
    }
    CHECK_FALSE(xs[1].grad().defined());  // needs no gradient, gets none
}

TEST_CASE("weighted_sum rejects bad inputs and weights") {
    var a(tensor::zeros({2, 3})), b(tensor::zeros({3, 2}));
    var w2(tensor::from({2}, {0.5f, 0.5f}));
    CHECK_THROWS_WITH_AS(weighted_sum(std::span<const var>(), w2), "weighted_sum: no inputs, expected at least one",
                         config_error);
    CHECK_THROWS_WITH_AS(weighted_sum({a, a}, var()), "weighted_sum: weights is an empty var", config_error);
    CHECK_THROWS_WITH_AS(weighted_sum({a, a, a}, w2),
                         "weighted_sum: weights have shape [2], expected [3] (one weight per input)", shape_error);
    CHECK_THROWS_WITH_AS(weighted_sum({a, a}, var(tensor::zeros({1, 2}))),
                         "weighted_sum: weights have shape [1,2], expected [2] (one weight per input)", shape_error);
    CHECK_THROWS_WITH_AS(weighted_sum({a, var()}, w2),
                         "weighted_sum: input 1 is absent (an empty var) but its weight is 0.5, expected weight 0 "
                         "for an absent input",
                         config_error);
    CHECK_THROWS_WITH_AS(weighted_sum({var(), var()}, var(tensor::zeros({2}))),
                         "weighted_sum: every input is absent (an empty var), expected at least one computed input",
                         config_error);
    CHECK_THROWS_WITH_AS(weighted_sum({a, b}, w2),
                         "weighted_sum: input 1 has shape [3,2], input 0 has shape [2,3], expected equal shapes",
                         shape_error);
    CHECK_THROWS_WITH_AS(weighted_sum({var(), a, b}, var(tensor::from({3}, {0, 1, 1}))),
                         "weighted_sum: input 2 has shape [3,2], input 1 has shape [2,3], expected equal shapes",
                         shape_error);
    CHECK_THROWS_WITH_AS(weighted_sum({a, var(tensor::zeros({0}))}, w2),
                         "weighted_sum: input 1 is empty (shape [0])", shape_error);
}

TEST_CASE("dropout keeps about 1 - p of the elements and scales them by 1 / (1 - p)") {
    const index_t n = 20000;
    var x(tensor::ones({n}), true);
    rng g(3);
    var y = dropout(x, 0.25f, g, true);
    index_t kept = 0;
    bool scaled = true;
    for (float v : y.value()) {
        if (v != 0.0f) ++kept;
        scaled = scaled && (v == 0.0f || v == 1.0f / 0.75f);
    }
    CHECK(scaled);
    CHECK(static_cast<double>(kept) / n == doctest::Approx(0.75).epsilon(0.02));
    // The gradient is the same mask.
    backward(y, tensor::ones({n}));
    CHECK(values(x.grad()) == values(y.value()));
    // The same seed gives the same mask.
    rng g2(3);
    CHECK(values(dropout(x, 0.25f, g2, true).value()) == values(y.value()));
}

TEST_CASE("dropout is the identity in evaluation and for p = 0") {
    var x(tensor::from({3}, {1, 2, 3}), true);
    rng g(1);
    CHECK(dropout(x, 0.5f, g, false).same(x));
    CHECK(dropout(x, 0.0f, g, true).same(x));
    CHECK(g == rng(1));  // no numbers drawn
}

TEST_CASE("dropout rejects a bad probability") {
    var x(tensor::ones({3}));
    rng g(1);
    CHECK_THROWS_WITH_AS(dropout(x, 1.0f, g, true), "dropout: drop probability p is 1, expected 0 <= p < 1",
                         config_error);
    CHECK_THROWS_WITH_AS(dropout(x, -0.5f, g, false), "dropout: drop probability p is -0.5, expected 0 <= p < 1",
                         config_error);
    CHECK_THROWS_WITH_AS(dropout(x, std::numeric_limits<float>::quiet_NaN(), g, true),
                         "dropout: drop probability p is nan, expected 0 <= p < 1", config_error);
    CHECK_THROWS_WITH_AS(dropout(var(), 0.5f, g, true), "dropout: input is an empty var", config_error);
}

}  // namespace test_mixed_dropout
