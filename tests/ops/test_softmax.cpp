// softmax, log_softmax, cross_entropy, gumbel_softmax: known values and errors.
// Gradients are checked through the op registry (ops/cases/misc.hpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <hwnas/autograd/backward.hpp>
#include <hwnas/ops/softmax.hpp>

namespace test_softmax {

using namespace hwnas;

namespace {
tensor row_sums(const tensor& y) {
    const index_t k = y.dim(-1), rows = y.numel() / k;
    tensor s = tensor::zeros({rows});
    for (index_t i = 0; i < y.numel(); ++i) s[i / k] += y[i];
    return s;
}
}  // namespace

TEST_CASE("softmax rows sum to one and match known values") {
    var x(tensor::from({2, 3}, {1, 2, 3, -1000, 0, 1000}));
    const tensor y = softmax(x).value();
    CHECK(y.shape() == shape{2, 3});
    CHECK(y[0] == doctest::Approx(0.09003057));
    CHECK(y[1] == doctest::Approx(0.24472847));
    CHECK(y[2] == doctest::Approx(0.66524096));
    // Max subtraction: logits of +-1000 neither overflow nor give NaN.
    CHECK(y[3] == 0.0f);
    CHECK(y[5] == doctest::Approx(1.0));
    for (float s : row_sums(y)) CHECK(s == doctest::Approx(1.0));

    rng g(3);
    tensor big = tensor::uninitialized({2, 3, 2, 7});
    for (float& v : big) v = g.uniform(-20, 20);
    const tensor y4 = softmax(var(big)).value();
    CHECK(y4.shape() == big.shape());
    for (float s : row_sums(y4)) CHECK(s == doctest::Approx(1.0));
    const tensor y1 = softmax(var(tensor::from({4}, {0, 0, 0, 0}))).value();
    for (float v : y1) CHECK(v == doctest::Approx(0.25));
}

TEST_CASE("log_softmax gives known numbers and is stable for large logits") {
    const tensor y = log_softmax(var(tensor::from({1, 3}, {1, 2, 3}))).value();
    CHECK(y[0] == doctest::Approx(-2.40760596));
    CHECK(y[1] == doctest::Approx(-1.40760596));
    CHECK(y[2] == doctest::Approx(-0.40760596));
    const tensor big = log_softmax(var(tensor::from({2}, {1000, 1000}))).value();
    CHECK(big[0] == doctest::Approx(-std::log(2.0)));
    CHECK(big[1] == doctest::Approx(-std::log(2.0)));
}

TEST_CASE("cross_entropy matches hand-computed values") {
    const std::vector<std::int32_t> labels{2, 0};
    var logits(tensor::from({2, 3}, {1, 2, 3, 1, 1, 1}), true);
    // Row 0: -log softmax([1,2,3])[2] = 0.40760596; row 1: log 3.
    var loss = cross_entropy(logits, labels);
    CHECK(loss.shape().rank() == 0);  // a scalar, like sum and mean
    CHECK(loss.value().item() == doctest::Approx(0.75310913));
    loss.backward();
    // d/dlogits = (softmax - onehot) / N
    CHECK(logits.grad()[0] == doctest::Approx(0.09003057 / 2));
    CHECK(logits.grad()[2] == doctest::Approx((0.66524096 - 1) / 2));
    CHECK(logits.grad()[3] == doctest::Approx((1.0 / 3 - 1) / 2));
    CHECK(logits.grad()[4] == doctest::Approx(1.0 / 6));
}

TEST_CASE("cross_entropy with label smoothing uses the target (1 - s) onehot + s / K") {
    const std::vector<std::int32_t> labels{2, 0};
    var logits(tensor::from({2, 3}, {1, 2, 3, 1, 1, 1}), true);
    // s = 0.3, K = 3: row 0 target [0.1, 0.1, 0.8] gives 0.70760596; row 1 stays log 3.
    var loss = cross_entropy(logits, labels, 0.3f);
    CHECK(loss.value().item() == doctest::Approx(0.90310913));
    loss.backward();
    CHECK(logits.grad()[0] == doctest::Approx((0.09003057 - 0.1) / 2));
    CHECK(logits.grad()[2] == doctest::Approx((0.66524096 - 0.8) / 2));
    // Large logits stay finite.
    var big(tensor::from({1, 2}, {1000, -1000}));
    CHECK(cross_entropy(big, std::vector<std::int32_t>{1}).value().item() == doctest::Approx(2000));
}

TEST_CASE("cross_entropy rejects bad logits and labels") {
    const std::vector<std::int32_t> two{0, 1};
    var logits(tensor::from({2, 3}, {1, 2, 3, 4, 5, 6}));
    CHECK_THROWS_WITH_AS(cross_entropy(var(tensor::from({3}, {1, 2, 3})), two),
                         "cross_entropy: logits has rank 1 (shape [3]), expected rank 2 [N, classes]", shape_error);
    CHECK_THROWS_WITH_AS(cross_entropy(var(), two), "cross_entropy: logits is an empty var", config_error);
    CHECK_THROWS_WITH_AS(cross_entropy(logits, std::vector<std::int32_t>{0, 1, 2}),
                         "cross_entropy: 3 labels for logits [2,3], expected one label per row (2)", shape_error);
    CHECK_THROWS_WITH_AS(cross_entropy(logits, std::vector<std::int32_t>{0, 3}),
                         "cross_entropy: labels[1] is 3, expected a class index in [0, 3)", config_error);
    CHECK_THROWS_WITH_AS(cross_entropy(logits, std::vector<std::int32_t>{-1, 0}),
                         "cross_entropy: labels[0] is -1, expected a class index in [0, 3)", config_error);
    CHECK_THROWS_WITH_AS(cross_entropy(logits, two, 1.0f),
                         "cross_entropy: label_smoothing is 1, expected 0 <= label_smoothing < 1", config_error);
    CHECK_THROWS_WITH_AS(cross_entropy(logits, two, -0.1f),
                         "cross_entropy: label_smoothing is -0.1, expected 0 <= label_smoothing < 1", config_error);
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    CHECK_THROWS_WITH_AS(cross_entropy(var(tensor::from({2, 3}, {1, 2, 3, 4, nan, 6})), two),
                         "cross_entropy: logits row 1 holds nan at class 1, expected finite values (logits [2,3])",
                         numeric_error);
    CHECK_THROWS_WITH_AS(cross_entropy(var(tensor::from({2, 3}, {-inf, 2, 3, 4, 5, 6})), two),
                         "cross_entropy: logits row 0 holds -inf at class 0, expected finite values (logits [2,3])",
                         numeric_error);
}

TEST_CASE("softmax and log_softmax reject inputs without a last dimension") {
    CHECK_THROWS_WITH_AS(softmax(var(tensor::scalar(1))),
                         "softmax: input has rank 0 (shape []), expected rank >= 1 [..., classes]", shape_error);
    CHECK_THROWS_WITH_AS(softmax(var()), "softmax: input is an empty var", config_error);
    CHECK_THROWS_WITH_AS(softmax(var(tensor::zeros({2, 0}))), "softmax: input is empty (shape [2,0])", shape_error);
    CHECK_THROWS_WITH_AS(log_softmax(var(tensor::scalar(1))),
                         "log_softmax: input has rank 0 (shape []), expected rank >= 1 [..., classes]", shape_error);
}

TEST_CASE("gumbel_softmax with the same seed gives the same sample and hard output is one-hot") {
    var logits(tensor::from({3, 4}, {0.1f, 2, -1, 0.5f, 1, 1, 1, 1, -3, 0, 3, 0}));
    rng a(5), b(5), c(6);
    const tensor ya = gumbel_softmax(logits, 0.7f, a).value();
    const tensor yb = gumbel_softmax(logits, 0.7f, b).value();
    const tensor yc = gumbel_softmax(logits, 0.7f, c).value();
    CHECK(std::equal(ya.begin(), ya.end(), yb.begin()));
    CHECK_FALSE(std::equal(ya.begin(), ya.end(), yc.begin()));
    CHECK(a == b);  // one draw per element, nothing else
    for (float s : row_sums(ya)) CHECK(s == doctest::Approx(1.0));

    rng h(5);
    const tensor hard = gumbel_softmax(logits, 0.7f, h, true).value();
    for (index_t r = 0; r < 3; ++r) {
        const float* soft = ya.data() + r * 4;
        const index_t arg = std::max_element(soft, soft + 4) - soft;
        for (index_t j = 0; j < 4; ++j) CHECK(hard[r * 4 + j] == (j == arg ? 1.0f : 0.0f));
    }
}

TEST_CASE("gumbel_softmax hard mode backward equals soft mode backward") {
    const tensor x0 = tensor::from({2, 5}, {0.3f, -1, 2, 0.1f, 0, 1, 1, -2, 0.5f, 3});
    const tensor gy = tensor::from({2, 5}, {1, -2, 0.5f, 3, 0.25f, -1, 0, 2, 1, -0.5f});
    auto grad_of = [&](bool hard) {
        var x(x0.clone(), true);
        rng gen(9);
        backward(gumbel_softmax(x, 0.5f, gen, hard), gy);
        return x.grad();
    };
    const tensor soft = grad_of(false), hard = grad_of(true);
    CHECK(std::equal(soft.begin(), soft.end(), hard.begin()));
    CHECK(std::abs(soft[2]) > 0);
}

TEST_CASE("gumbel_softmax temperature sharpens or flattens the sample") {
    var logits(tensor::from({4, 3}, {0, 1, 2, 2, 1, 0, 0, 0, 0, -1, 3, 1}));
    auto sample = [&](float tau) {
        rng gen(21);
        return gumbel_softmax(logits, tau, gen).value();
    };
    const tensor cold = sample(0.1f), warm = sample(1.0f), hot = sample(100.0f);
    for (index_t r = 0; r < 4; ++r) {
        auto row_max = [&](const tensor& t) { return *std::max_element(t.data() + r * 3, t.data() + r * 3 + 3); };
        auto row_arg = [&](const tensor& t) {
            return std::max_element(t.data() + r * 3, t.data() + r * 3 + 3) - t.data();
        };
        // Same noise: lower tau, the same argmax with more mass on it.
        CHECK(row_arg(cold) == row_arg(warm));
        CHECK(row_max(cold) >= row_max(warm));
        CHECK(row_max(warm) >= row_max(hot));
    }
    CHECK(*std::max_element(cold.begin(), cold.end()) > 0.99f);
    for (float v : hot) CHECK(v == doctest::Approx(1.0 / 3).epsilon(0.1));
}

TEST_CASE("gumbel_softmax argmax frequencies follow softmax of the logits") {
    // The Gumbel-max trick: argmax(logits + g) is a sample of softmax(logits).
    const index_t rows = 4000;
    tensor l = tensor::uninitialized({rows, 3});
    for (index_t r = 0; r < rows; ++r) {
        l[r * 3] = std::log(0.2f);
        l[r * 3 + 1] = std::log(0.3f);
        l[r * 3 + 2] = std::log(0.5f);
    }
    rng gen(4);
    const tensor y = gumbel_softmax(var(l), 1.0f, gen, true).value();
    double freq[3] = {0, 0, 0};
    for (index_t i = 0; i < y.numel(); ++i) freq[i % 3] += y[i] / static_cast<double>(rows);
    CHECK(freq[0] == doctest::Approx(0.2).epsilon(0.1));
    CHECK(freq[1] == doctest::Approx(0.3).epsilon(0.1));
    CHECK(freq[2] == doctest::Approx(0.5).epsilon(0.1));
}

TEST_CASE("gumbel_softmax rejects a bad temperature or logits") {
    rng gen(1);
    var logits(tensor::from({2}, {0, 1}));
    CHECK_THROWS_WITH_AS(gumbel_softmax(logits, 0.0f, gen),
                         "gumbel_softmax: temperature tau is 0, expected a finite tau > 0", config_error);
    CHECK_THROWS_WITH_AS(gumbel_softmax(logits, -1.0f, gen),
                         "gumbel_softmax: temperature tau is -1, expected a finite tau > 0", config_error);
    CHECK_THROWS_WITH_AS(gumbel_softmax(logits, std::numeric_limits<float>::infinity(), gen),
                         "gumbel_softmax: temperature tau is inf, expected a finite tau > 0", config_error);
    CHECK_THROWS_WITH_AS(gumbel_softmax(var(tensor::scalar(1)), 1.0f, gen),
                         "gumbel_softmax: logits has rank 0 (shape []), expected rank >= 1 [..., classes]",
                         shape_error);
    CHECK_THROWS_WITH_AS(gumbel_softmax(var(), 1.0f, gen), "gumbel_softmax: logits is an empty var", config_error);
}

}  // namespace test_softmax
