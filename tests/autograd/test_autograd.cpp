#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <hwnas/gram.hpp>

namespace test_autograd {

using namespace hwnas;

TEST_CASE("a value used twice accumulates both gradient contributions") {
    var x(tensor::from({3}, {1, 2, 3}), true);
    var y = sum(mul(x, x));  // d/dx sum(x^2) = 2x, both paths through mul
    y.backward();
    CHECK(x.grad()[0] == doctest::Approx(2));
    CHECK(x.grad()[2] == doctest::Approx(6));
    // .grad accumulates across backward passes until zero_grad
    sum(scale(x, 3)).backward();
    CHECK(x.grad()[1] == doctest::Approx(4 + 3));
    x.zero_grad();
    CHECK_FALSE(x.grad().defined());
}

TEST_CASE("a gradient buffer shared by two inputs is never accumulated in place") {
    // add() hands the same gy to both inputs; a later contribution to x must not change y's gradient.
    var x(tensor::from({2}, {1, 2}), true), y(tensor::from({2}, {3, 4}), true);
    sum(add(add(x, y), x)).backward();
    CHECK(x.grad()[0] == 2.0f);
    CHECK(y.grad()[0] == 1.0f);
    CHECK(y.grad()[1] == 1.0f);
    // Leaves never share a .grad buffer: clipping or an optimizer may scale one in place.
    var a(tensor::from({1}, {1}), true), b(tensor::from({1}, {2}), true);
    sum(add(a, b)).backward();
    CHECK_FALSE(a.grad().shares_storage(b.grad()));
}

TEST_CASE("backward needs a finite scalar") {
    var x(tensor::from({2}, {1, 2}), true);
    CHECK_THROWS_WITH_AS(scale(x, 2).backward(),
                         "backward: the loss must be a scalar (one element), got shape [2]", shape_error);
    var bad(tensor::from({1}, {std::numeric_limits<float>::quiet_NaN()}), true);
    CHECK_THROWS_WITH_AS(scale(bad, 1).backward(), "backward: the loss is nan (not finite)", numeric_error);
    var c(tensor::from({1}, {1}));
    CHECK_THROWS_WITH_AS(scale(c, 2).backward(),
                         "backward: the scale result does not require grad (no input requires grad, or it was "
                         "computed under no_grad)",
                         config_error);
}

TEST_CASE("no_grad records nothing and detach cuts the graph") {
    var x(tensor::from({2}, {1, -2}), true);
    {
        no_grad guard;
        CHECK_FALSE(grad_enabled());
        var y = relu(x);
        CHECK_FALSE(y.requires_grad());
        CHECK(y.is_leaf());
    }
    CHECK(grad_enabled());
    var d = x.detach();
    CHECK_FALSE(d.requires_grad());
    CHECK(d.value().shares_storage(x.value()));
    var loss = sum(add(x, mul(d, d)));
    loss.backward();
    CHECK(x.grad()[0] == 1.0f);  // nothing flows through the detached branch
}

TEST_CASE("the tape is released after backward") {
    var x(tensor::from({1}, {3}), true);
    var h = mul(x, x);
    var loss = sum(h);
    loss.backward();
    CHECK_THROWS_WITH_AS(loss.backward(),
                         "backward: the graph through a sum node was already released by an earlier backward; run "
                         "the forward pass again",
                         config_error);
}

TEST_CASE("inputs that need no gradient get none and cost no backward work") {
    var x(tensor::from({2, 2}, {1, 2, 3, 4}));  // data: no grad
    var w(tensor::from({2, 1}, {1, 1}), true);
    sum(linear(x, w)).backward();
    CHECK_FALSE(x.grad().defined());
    CHECK(w.grad()[0] == doctest::Approx(4));
}

TEST_CASE("grad() differentiates one parameter group and leaves .grad alone") {
    var w(tensor::from({1}, {2}), true);      // weights
    var alpha(tensor::from({1}, {3}), true);  // architecture parameter
    auto loss_at = [&] { return sum(mul(mul(w, w), alpha)); };  // w^2 * alpha
    auto g = grad(loss_at(), {alpha});
    CHECK(g[0][0] == doctest::Approx(4));
    CHECK_FALSE(w.grad().defined());
    CHECK_FALSE(alpha.grad().defined());

    // gradient at temporarily perturbed weights (DARTS' w+ / w-)
    w.value()[0] += 0.5f;
    auto gp = grad(loss_at(), {alpha, w});
    w.value()[0] -= 0.5f;
    CHECK(gp[0][0] == doctest::Approx(6.25));
    CHECK(gp[1][0] == doctest::Approx(2 * 2.5 * 3));

    var unrelated(tensor::from({1}, {1}), true);
    CHECK_THROWS_AS(grad(loss_at(), {unrelated}), config_error);
}

TEST_CASE("retain_grad keeps an intermediate gradient (saliency <h, dL/dh>)") {
    var x(tensor::from({2}, {1, 2}), true);
    var h = scale(x, 3);
    h.retain_grad();
    sum(mul(h, h)).backward();  // dL/dh = 2h = [6, 12]
    CHECK(h.grad()[0] == doctest::Approx(6));
    CHECK(h.grad()[1] == doctest::Approx(12));
}

TEST_CASE("a loss multiplied by a function of an expected cost (FBNet form) differentiates") {
    // L = ce * 0.2 * log(lat)^0.6 with lat = <m, lut>; here ce and lat are plain vars.
    var ce(tensor::from({1}, {1.5f}), true);
    var m(tensor::from({2}, {0.3f, 0.7f}), true);
    var lut(tensor::from({2}, {2.0f, 5.0f}));
    auto f = [&](std::span<const var> in) {
        var lat = sum(mul(in[1], lut));
        return mul(in[0], scale(lat, 1.0f));  // stand-in until log/pow ops exist
    };
    auto r = grad_check(f, {ce.value(), m.value()});
    CHECK(r.ok);
}

}  // namespace test_autograd
