// batch_norm: known values, running statistics, the fused activation against
// the composed ops, determinism, and error messages. Gradients are checked
// through the op registry (cases/norm_pool.hpp).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <hwnas/autograd/backward.hpp>
#include <hwnas/ops/batch_norm.hpp>
#include <hwnas/ops/cases/common.hpp>
#include <hwnas/ops/elementwise.hpp>

namespace test_batch_norm {

using namespace hwnas;

namespace {

// Per-channel mean and biased variance of a channels-last tensor, in double.
void channel_stats(const tensor& t, index_t c, double& mean, double& var) {
    const index_t C = t.dim(-1), rows = t.numel() / C;
    mean = var = 0;
    for (index_t r = 0; r < rows; ++r) mean += t[r * C + c];
    mean /= static_cast<double>(rows);
    for (index_t r = 0; r < rows; ++r) var += (t[r * C + c] - mean) * (t[r * C + c] - mean);
    var /= static_cast<double>(rows);
}

struct bn_params {
    tensor gamma, beta, running_mean, running_var;
    explicit bn_params(index_t c)
        : gamma(tensor::ones({c})), beta(tensor::zeros({c})), running_mean(tensor::zeros({c})),
          running_var(tensor::ones({c})) {}
};

}  // namespace

TEST_CASE("batch_norm training output has per-channel mean beta and std gamma") {
    rng g(3);
    tensor xt = cases::uniform(g, {4, 3, 5, 3}, -2.0f, 6.0f);
    bn_params p(3);
    p.gamma = tensor::from({3}, {1.0f, 2.0f, 0.5f});
    p.beta = tensor::from({3}, {0.0f, -1.0f, 3.0f});
    var y = batch_norm(var(xt), var(p.gamma), var(p.beta), p.running_mean, p.running_var, true);
    for (index_t c = 0; c < 3; ++c) {
        double m, v;
        channel_stats(y.value(), c, m, v);
        CHECK(m == doctest::Approx(p.beta[c]).epsilon(1e-5));
        CHECK(std::sqrt(v) == doctest::Approx(p.gamma[c]).epsilon(1e-4));
    }
}

TEST_CASE("batch_norm training updates the running statistics with the unbiased variance") {
    // One channel, values 1 2 3 6: mean 3, biased variance 3.5, unbiased 14/3.
    tensor x = tensor::from({4, 1}, {1, 2, 3, 6});
    bn_params p(1);
    p.running_mean[0] = 0.5f;
    p.running_var[0] = 2.0f;
    var y = batch_norm(var(x), var(p.gamma), var(p.beta), p.running_mean, p.running_var, true, 0.1f, 1e-5f);
    CHECK(p.running_mean[0] == doctest::Approx(0.9 * 0.5 + 0.1 * 3).epsilon(1e-7));
    CHECK(p.running_var[0] == doctest::Approx(0.9 * 2 + 0.1 * 14.0 / 3.0).epsilon(1e-7));
    const double is = 1.0 / std::sqrt(3.5 + 1e-5);
    for (index_t i = 0; i < 4; ++i) CHECK(y.value()[i] == doctest::Approx((x[i] - 3.0) * is).epsilon(1e-6));

    SUBCASE("also under no_grad") {
        no_grad guard;
        batch_norm(var(x), var(p.gamma), var(p.beta), p.running_mean, p.running_var, true, 0.5f);
        CHECK(p.running_mean[0] == doctest::Approx(0.5 * 0.75 + 0.5 * 3).epsilon(1e-7));
    }
    SUBCASE("momentum 0 keeps them") {
        batch_norm(var(x), var(p.gamma), var(p.beta), p.running_mean, p.running_var, true, 0.0f);
        CHECK(p.running_mean[0] == doctest::Approx(0.75).epsilon(1e-7));
    }
}

TEST_CASE("batch_norm eval normalizes with the running statistics and leaves them unchanged") {
    tensor x = tensor::from({2, 2, 1, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
    bn_params p(2);
    p.running_mean = tensor::from({2}, {1.0f, -2.0f});
    p.running_var = tensor::from({2}, {4.0f, 0.25f});
    p.gamma = tensor::from({2}, {2.0f, 1.0f});
    p.beta = tensor::from({2}, {0.5f, 0.0f});
    var y = batch_norm(var(x), var(p.gamma), var(p.beta), p.running_mean, p.running_var, false, 0.1f, 0.0001f);
    for (index_t i = 0; i < 8; ++i) {
        const index_t c = i % 2;
        const double expect = (x[i] - p.running_mean[c]) / std::sqrt(p.running_var[c] + 0.0001) * p.gamma[c] + p.beta[c];
        CHECK(y.value()[i] == doctest::Approx(expect).epsilon(1e-6));
    }
    CHECK(p.running_mean[0] == 1.0f);
    CHECK(p.running_var[1] == 0.25f);
}

TEST_CASE("batch_norm keeps precision when the mean is large against the spread") {
    rng g(5);
    tensor x = cases::uniform(g, {64, 2}, -1.0f, 1.0f);
    for (float& v : x) v += 3000.0f;
    bn_params p(2);
    var y = batch_norm(var(x), var(p.gamma), var(p.beta), p.running_mean, p.running_var, true);
    for (index_t c = 0; c < 2; ++c) {
        double m, v;
        channel_stats(y.value(), c, m, v);
        CHECK(std::abs(m) < 1e-3);
        CHECK(v == doctest::Approx(1.0).epsilon(1e-3));
    }
}

TEST_CASE("batch_norm fused activation matches batch_norm then the activation") {
    rng g(11);
    const tensor x = cases::uniform(g, {3, 2, 2, 4}, -1.0f, 1.0f), gy = cases::uniform(g, {3, 2, 2, 4});
    const tensor gamma = cases::uniform(g, {4}, 1.0f, 3.0f), beta = cases::uniform(g, {4}, -1.0f, 1.0f);
    for (activation a : {activation::relu, activation::relu6, activation::hard_swish, activation::sigmoid})
        for (bool training : {true, false}) {
            CAPTURE(static_cast<int>(a));
            CAPTURE(training);
            std::vector<tensor> grads[2];
            tensor ys[2];
            for (int fused = 0; fused < 2; ++fused) {
                var xv(x.clone(), true), gv(gamma.clone(), true), bv(beta.clone(), true);
                bn_params p(4);
                var y = fused ? batch_norm(xv, gv, bv, p.running_mean, p.running_var, training, 0.1f, 1e-5f, a)
                              : activate(batch_norm(xv, gv, bv, p.running_mean, p.running_var, training), a);
                backward(y, gy);
                ys[fused] = y.value();
                grads[fused] = {xv.grad(), gv.grad(), bv.grad()};
            }
            for (index_t i = 0; i < x.numel(); ++i) CHECK(ys[1][i] == doctest::Approx(ys[0][i]).epsilon(1e-5));
            for (std::size_t k = 0; k < 3; ++k)
                for (index_t i = 0; i < grads[0][k].numel(); ++i)
                    CHECK(grads[1][k][i] == doctest::Approx(grads[0][k][i]).epsilon(1e-4));
        }
}

TEST_CASE("batch_norm training matches a double-precision reference") {
    // Channel counts around the kernels' span (256 floats) and tile sizes, and
    // enough rows for several reduction chunks.
    for (const shape s : {shape{3, 7, 5, 37}, shape{1100, 300}, shape{50, 8}}) {
        CAPTURE(s);
        rng g(31);
        const index_t C = s.dim(-1), rows = s.numel() / C;
        const tensor x = cases::uniform(g, s, -1.0f, 3.0f), gy = cases::uniform(g, s);
        const tensor gamma = cases::uniform(g, {C}, 0.5f, 2.0f), beta = cases::uniform(g, {C});
        var xv(x.clone(), true), gv(gamma.clone(), true), bv(beta.clone(), true);
        bn_params p(C);
        var y = batch_norm(xv, gv, bv, p.running_mean, p.running_var, true, 0.1f, 1e-5f, activation::sigmoid);
        backward(y, gy);
        for (index_t c = 0; c < C; ++c) {
            double m, v;
            channel_stats(x, c, m, v);
            const double is = 1.0 / std::sqrt(v + 1e-5);
            double sum_gz = 0, sum_gz_xhat = 0;
            std::vector<double> gz(static_cast<std::size_t>(rows));
            for (index_t r = 0; r < rows; ++r) {
                const index_t i = r * C + c;
                const double xhat = (x[i] - m) * is, yy = 1.0 / (1.0 + std::exp(-(gamma[c] * xhat + beta[c])));
                CHECK(y.value()[i] == doctest::Approx(yy).epsilon(1e-5));
                gz[static_cast<std::size_t>(r)] = gy[i] * yy * (1.0 - yy);
                sum_gz += gz[static_cast<std::size_t>(r)];
                sum_gz_xhat += gz[static_cast<std::size_t>(r)] * xhat;
            }
            CHECK(bv.grad()[c] == doctest::Approx(sum_gz).epsilon(1e-4));
            CHECK(gv.grad()[c] == doctest::Approx(sum_gz_xhat).epsilon(1e-4));
            for (index_t r = 0; r < rows; r += 7) {
                const index_t i = r * C + c;
                const double xhat = (x[i] - m) * is, n = static_cast<double>(rows);
                const double gx = gamma[c] * is * (gz[static_cast<std::size_t>(r)] - sum_gz / n - xhat * sum_gz_xhat / n);
                CHECK(xv.grad()[i] == doctest::Approx(gx).epsilon(1e-4).scale(1e-3));
            }
        }
    }
}

TEST_CASE("batch_norm training input gradient sums to zero per channel") {
    rng g(13);
    var x(cases::uniform(g, {5, 3}), true);
    bn_params p(3);
    var y = batch_norm(x, var(p.gamma), var(p.beta), p.running_mean, p.running_var, true);
    backward(y, cases::uniform(g, {5, 3}));
    for (index_t c = 0; c < 3; ++c) {
        double s = 0;
        for (index_t r = 0; r < 5; ++r) s += x.grad()[r * 3 + c];
        CHECK(std::abs(s) < 1e-5);
    }
}

TEST_CASE("batch_norm results do not depend on the thread count") {
    rng g(17);
    const tensor x = cases::uniform(g, {32, 8, 8, 16}), gy = cases::uniform(g, {32, 8, 8, 16});
    const int threads = num_threads();
    tensor out[2], grad[2], rv[2];
    for (int t = 0; t < 2; ++t) {
        set_num_threads(t + 1);
        var xv(x.clone(), true);
        bn_params p(16);
        var y = batch_norm(xv, var(p.gamma), var(p.beta), p.running_mean, p.running_var, true, 0.1f, 1e-5f,
                           activation::relu);
        backward(y, gy);
        out[t] = y.value();
        grad[t] = xv.grad();
        rv[t] = p.running_var;
    }
    set_num_threads(threads);
    CHECK(std::equal(out[0].begin(), out[0].end(), out[1].begin()));
    CHECK(std::equal(grad[0].begin(), grad[0].end(), grad[1].begin()));
    CHECK(std::equal(rv[0].begin(), rv[0].end(), rv[1].begin()));
}

TEST_CASE("batch_norm skips gradients that are not needed") {
    rng g(19);
    var x(cases::uniform(g, {4, 2}), false), gamma(tensor::ones({2}), true), beta(tensor::zeros({2}), false);
    bn_params p(2);
    var y = batch_norm(x, gamma, beta, p.running_mean, p.running_var, true);
    backward(y, tensor::ones({4, 2}));
    CHECK(gamma.grad().defined());
    CHECK_FALSE(x.grad().defined());
    CHECK_FALSE(beta.grad().defined());
}

TEST_CASE("batch_norm error messages") {
    bn_params p(3);
    var g(p.gamma), b(p.beta);
    tensor& rm = p.running_mean;
    tensor& rv = p.running_var;
    var x(tensor::zeros({2, 4, 4, 3}));
    CHECK_THROWS_WITH_AS(batch_norm(var(), g, b, rm, rv, true), "batch_norm: input is an empty var",
                         hwnas::config_error);
    CHECK_THROWS_WITH_AS(batch_norm(var(tensor::zeros({0, 3})), g, b, rm, rv, true),
                         "batch_norm: input is empty (shape [0,3])", hwnas::shape_error);
    CHECK_THROWS_WITH_AS(batch_norm(var(tensor::zeros({2, 2, 3})), g, b, rm, rv, true),
                         "batch_norm: input has rank 3 (shape [2,2,3]), expected rank 2 [N, C] or rank 4 [N, H, W, C]",
                         hwnas::shape_error);
    CHECK_THROWS_WITH_AS(batch_norm(x, var(tensor::ones({4})), b, rm, rv, true),
                         "batch_norm: gamma has shape [4], expected [3] (the channels of input [2,4,4,3])",
                         hwnas::shape_error);
    CHECK_THROWS_WITH_AS(batch_norm(x, g, var(), rm, rv, true), "batch_norm: beta is an empty var",
                         hwnas::config_error);
    CHECK_THROWS_WITH_AS(batch_norm(x, g, var(tensor::zeros({1, 3})), rm, rv, true),
                         "batch_norm: beta has shape [1,3], expected [3] (the channels of input [2,4,4,3])",
                         hwnas::shape_error);
    tensor undefined, wrong = tensor::zeros({2});
    CHECK_THROWS_WITH_AS(batch_norm(x, g, b, undefined, rv, true),
                         "batch_norm: running_mean is undefined (no storage), expected shape [3]", hwnas::shape_error);
    CHECK_THROWS_WITH_AS(batch_norm(x, g, b, rm, wrong, false),
                         "batch_norm: running_var has shape [2], expected [3] (the channels of input [2,4,4,3])",
                         hwnas::shape_error);
    CHECK_THROWS_WITH_AS(batch_norm(x, g, b, rm, rv, true, 0.1f, 0.0f),
                         "batch_norm: eps is 0, expected a positive finite number", hwnas::config_error);
    CHECK_THROWS_WITH_AS(batch_norm(x, g, b, rm, rv, true, 0.1f, std::numeric_limits<float>::infinity()),
                         "batch_norm: eps is inf, expected a positive finite number", hwnas::config_error);
    CHECK_THROWS_WITH_AS(batch_norm(x, g, b, rm, rv, true, 1.5f),
                         "batch_norm: momentum is 1.5, expected a value in [0, 1]", hwnas::config_error);
    CHECK_THROWS_WITH_AS(batch_norm(var(tensor::zeros({1, 1, 1, 3})), g, b, rm, rv, true),
                         "batch_norm: training needs more than one value per channel to estimate the variance, got "
                         "input [1,1,1,3]",
                         hwnas::shape_error);
    CHECK_NOTHROW(batch_norm(var(tensor::zeros({1, 3})), g, b, rm, rv, false));
    CHECK_THROWS_WITH_AS(batch_norm(x, g, b, rm, rv, true, 0.1f, 1e-5f, static_cast<activation>(42)),
                         "batch_norm: unknown activation value 42", hwnas::config_error);
}

TEST_CASE("batch_norm_flops counts the statistics in training only") {
    CHECK(batch_norm_flops({2, 4, 4, 3}, true) == 6.0 * 96);
    CHECK(batch_norm_flops({2, 4, 4, 3}, false) == 3.0 * 96);
}

}  // namespace test_batch_norm
