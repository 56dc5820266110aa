// log, exp, pow_scalar, sub, reshape, flatten: known values and errors.
// Gradients are checked through the op registry (ops/cases/misc.hpp).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <hwnas/autograd/backward.hpp>
#include <hwnas/ops/elementwise.hpp>
#include <hwnas/ops/math.hpp>
#include <hwnas/ops/softmax.hpp>

namespace test_math {

using namespace hwnas;

TEST_CASE("log exp and pow_scalar give known values and derivatives") {
    var x(tensor::from({3}, {0.5f, 1, 4}), true);
    const tensor l = log(x).value(), e = exp(x).value(), p = pow_scalar(x, 1.5f).value();
    CHECK(l[0] == doctest::Approx(std::log(0.5)));
    CHECK(l[1] == 0.0f);
    CHECK(e[2] == doctest::Approx(std::exp(4.0)));
    CHECK(p[2] == doctest::Approx(8.0));
    backward(pow_scalar(x, 1.5f), tensor::ones({3}));
    CHECK(x.grad()[2] == doctest::Approx(1.5 * 2.0));  // 1.5 * sqrt(4)
    x.zero_grad();
    backward(log(x), tensor::ones({3}));
    CHECK(x.grad()[0] == doctest::Approx(2.0));
    // Integer exponents accept a negative base; exponent 0 has gradient 0 everywhere.
    var n(tensor::from({2}, {-2, 0}), true);
    CHECK(pow_scalar(n, 3.0f).value()[0] == doctest::Approx(-8));
    backward(pow_scalar(n, 0.0f), tensor::ones({2}));
    CHECK(n.grad()[1] == 0.0f);
}

TEST_CASE("sub subtracts and negates the second gradient") {
    var a(tensor::from({2}, {5, 1}), true), b(tensor::from({2}, {2, 3}), true);
    var y = sub(a, b);
    CHECK(y.value()[0] == 3.0f);
    CHECK(y.value()[1] == -2.0f);
    backward(y, tensor::from({2}, {1, 2}));
    CHECK(a.grad()[1] == 2.0f);
    CHECK(b.grad()[1] == -2.0f);
}

TEST_CASE("reshape and flatten view the same storage and reshape the gradient back") {
    var x(tensor::uninitialized({2, 3, 2}), true);
    for (index_t i = 0; i < 12; ++i) x.value()[i] = static_cast<float>(i);
    var y = reshape(x, {4, 3});
    CHECK(y.shape() == shape{4, 3});
    CHECK(y.value().shares_storage(x.value()));
    CHECK(y.value().at({3, 2}) == 11.0f);
    backward(y, tensor::full({4, 3}, 2.0f));
    CHECK(x.grad().shape() == shape{2, 3, 2});
    CHECK(x.grad()[5] == 2.0f);
    CHECK(flatten(x).shape() == shape{2, 6});
    CHECK(flatten(var(tensor::zeros({5}))).shape() == shape{5, 1});
}

TEST_CASE("the FBNet loss CE * alpha * log(LAT)^beta is expressible") {
    var logits(tensor::from({2, 3}, {1, 2, 3, 1, 1, 1}), true);
    var lat(tensor::scalar(3.0f), true);
    const std::vector<std::int32_t> labels{2, 0};
    var loss = mul(cross_entropy(logits, labels), scale(pow_scalar(log(lat), 0.6f), 0.2f));
    // CE = 0.75310913 (see test_softmax); 0.2 * log(3)^0.6 = 0.21160...
    CHECK(loss.value().item() == doctest::Approx(0.15936560));
    loss.backward();
    // d/dlat = CE * 0.2 * 0.6 * log(3)^-0.4 / 3
    CHECK(lat.grad()[0] == doctest::Approx(0.75310913 * 0.2 * 0.6 * std::pow(std::log(3.0), -0.4) / 3));
}

TEST_CASE("math ops reject invalid inputs") {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH_AS(log(var(tensor::from({3}, {1, 0, 2}))),
                         "log: input element 1 is 0, expected x > 0 (input [3])", numeric_error);
    CHECK_THROWS_WITH_AS(log(var(tensor::from({1, 2}, {1, -2}))),
                         "log: input element 1 is -2, expected x > 0 (input [1,2])", numeric_error);
    CHECK_THROWS_WITH_AS(log(var(tensor::from({1}, {nan}))), "log: input element 0 is nan, expected x > 0 (input [1])",
                         numeric_error);
    CHECK_THROWS_WITH_AS(log(var()), "log: input is an empty var", config_error);
    CHECK_THROWS_WITH_AS(exp(var()), "exp: input is an empty var", config_error);
    CHECK_THROWS_WITH_AS(pow_scalar(var(tensor::from({2}, {1, -2})), 0.5f),
                         "pow_scalar: input element 1 is -2 and the exponent 0.5 is not an integer, expected x >= 0 "
                         "(input [2])",
                         numeric_error);
    CHECK_THROWS_WITH_AS(pow_scalar(var(), 2.0f), "pow_scalar: input is an empty var", config_error);
    CHECK_THROWS_WITH_AS(sub(var(tensor::zeros({2})), var(tensor::zeros({3}))),
                         "sub: inputs have shapes [2] and [3], expected equal shapes", shape_error);
    CHECK_THROWS_WITH_AS(reshape(var(tensor::zeros({2, 3})), {4}),
                         "reshape: cannot view [2,3] (6 elements) as [4] (4 elements)", shape_error);
    CHECK_THROWS_WITH_AS(reshape(var(), {4}), "reshape: input is an empty var", config_error);
    CHECK_THROWS_WITH_AS(flatten(var(tensor::scalar(1))),
                         "flatten: input has rank 0 (shape []), expected rank >= 1 [N, ...]", shape_error);
}

}  // namespace test_math
