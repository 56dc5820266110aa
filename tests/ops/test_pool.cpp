// Pooling: hand-computed values, a naive reference for many geometries, and
// error messages. Gradients are checked through the op registry
// (cases/norm_pool.hpp).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <hwnas/autograd/backward.hpp>
#include <hwnas/ops/cases/common.hpp>
#include <hwnas/ops/pool.hpp>

namespace test_pool {

using namespace hwnas;

namespace {

tensor iota(const shape& s, float start = 1.0f) {
    tensor t = tensor::uninitialized(s);
    for (index_t i = 0; i < t.numel(); ++i) t[i] = start + static_cast<float>(i);
    return t;
}

// Straightforward pooling with its gradient for gy, for comparison.
struct reference_pool {
    tensor y, gx;
    reference_pool(const tensor& x, const tensor& gy, index_t k, index_t s, index_t p, bool max, bool include_pad) {
        const index_t N = x.dim(0), H = x.dim(1), W = x.dim(2), C = x.dim(3);
        const index_t Ho = (H + 2 * p - k) / s + 1, Wo = (W + 2 * p - k) / s + 1;
        y = tensor::zeros({N, Ho, Wo, C});
        gx = tensor::zeros(x.shape());
        for (index_t n = 0; n < N; ++n)
            for (index_t oh = 0; oh < Ho; ++oh)
                for (index_t ow = 0; ow < Wo; ++ow)
                    for (index_t c = 0; c < C; ++c) {
                        double acc = max ? -INFINITY : 0.0;
                        index_t count = 0, best_h = -1, best_w = -1;
                        for (index_t ih = oh * s - p; ih < oh * s - p + k; ++ih)
                            for (index_t iw = ow * s - p; iw < ow * s - p + k; ++iw) {
                                if (ih < 0 || iw < 0 || ih >= H || iw >= W) continue;
                                const float v = x.at({n, ih, iw, c});
                                ++count;
                                if (max && v > acc) acc = v, best_h = ih, best_w = iw;
                                if (!max) acc += v;
                            }
                        const double div = include_pad ? static_cast<double>(k * k) : static_cast<double>(count);
                        y.at({n, oh, ow, c}) = static_cast<float>(max ? acc : acc / div);
                        const float g = gy.at({n, oh, ow, c});
                        if (max) {
                            gx.at({n, best_h, best_w, c}) += g;
                            continue;
                        }
                        for (index_t ih = std::max<index_t>(0, oh * s - p); ih < std::min(H, oh * s - p + k); ++ih)
                            for (index_t iw = std::max<index_t>(0, ow * s - p); iw < std::min(W, ow * s - p + k); ++iw)
                                gx.at({n, ih, iw, c}) += static_cast<float>(g / div);
                    }
    }
};

void check_close(const tensor& a, const tensor& b, double eps = 1e-5) {
    REQUIRE(a.shape() == b.shape());
    for (index_t i = 0; i < a.numel(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(eps));
}

}  // namespace

TEST_CASE("max_pool2d k2 s2 picks each window maximum and routes the gradient to it") {
    var x(iota({1, 4, 4, 1}, 0.0f), true);  // 0..15 row-major
    var y = max_pool2d(x, 2, 2, 0);
    CHECK(y.shape() == shape{1, 2, 2, 1});
    CHECK(y.value()[0] == 5.0f);
    CHECK(y.value()[1] == 7.0f);
    CHECK(y.value()[2] == 13.0f);
    CHECK(y.value()[3] == 15.0f);
    backward(y, tensor::from({1, 2, 2, 1}, {1, 2, 3, 4}));
    for (index_t i = 0; i < 16; ++i) {
        const float expect = i == 5 ? 1.0f : i == 7 ? 2.0f : i == 13 ? 3.0f : i == 15 ? 4.0f : 0.0f;
        CHECK(x.grad()[i] == expect);
    }
}

TEST_CASE("max_pool2d pads with -inf") {
    tensor x = iota({1, 3, 3, 1}, -20.0f);  // all negative: zero padding would win
    var y = max_pool2d(var(x), 3, 2, 1);
    CHECK(y.shape() == shape{1, 2, 2, 1});
    CHECK(y.value()[0] == x[4]);  // window rows -1..1, cols -1..1
    CHECK(y.value()[3] == x[8]);
}

TEST_CASE("max_pool2d propagates NaN") {
    tensor x = iota({1, 2, 2, 2});
    x[2] = std::numeric_limits<float>::quiet_NaN();
    var y = max_pool2d(var(x), 2, 2, 0);
    CHECK(std::isnan(y.value()[0]));
    CHECK(y.value()[1] == 8.0f);
}

TEST_CASE("avg_pool2d border values with and without counting the padding") {
    // x = 1..9 in a 3x3 plane; k3 s1 p1.
    tensor x = iota({1, 3, 3, 1});
    var with = avg_pool2d(var(x), 3, 1, 1, true), without = avg_pool2d(var(x), 3, 1, 1, false);
    CHECK(with.value().at({0, 0, 0, 0}) == doctest::Approx(12.0 / 9));  // 1 + 2 + 4 + 5
    CHECK(without.value().at({0, 0, 0, 0}) == doctest::Approx(12.0 / 4));
    CHECK(with.value().at({0, 0, 1, 0}) == doctest::Approx(21.0 / 9));  // 1 + 2 + 3 + 4 + 5 + 6
    CHECK(without.value().at({0, 0, 1, 0}) == doctest::Approx(21.0 / 6));
    CHECK(with.value().at({0, 1, 1, 0}) == doctest::Approx(5.0));
    CHECK(without.value().at({0, 1, 1, 0}) == doctest::Approx(5.0));
    CHECK(without.value().at({0, 2, 2, 0}) == doctest::Approx((5.0 + 6 + 8 + 9) / 4));
}

TEST_CASE("avg_pool2d gradient without counting the padding") {
    var x(iota({1, 3, 3, 1}), true);
    var y = avg_pool2d(x, 3, 1, 1, false);
    backward(y, tensor::ones(y.shape()));
    // The corner is covered by windows with 4, 6, 6 and 9 inputs; the centre by all nine windows.
    CHECK(x.grad()[0] == doctest::Approx(1.0 / 4 + 2.0 / 6 + 1.0 / 9));
    CHECK(x.grad()[4] == doctest::Approx(4.0 / 4 + 4.0 / 6 + 1.0 / 9));
}

TEST_CASE("pooling matches a naive reference over many geometries") {
    struct geo {
        index_t k, s, p;
    };
    rng g(23);
    for (geo q : {geo{2, 2, 0}, geo{3, 2, 1}, geo{3, 1, 1}, geo{1, 2, 0}, geo{2, 3, 1}, geo{5, 1, 2}, geo{3, 3, 0}})
        for (int kind = 0; kind < 3; ++kind) {
            CAPTURE(q.k);
            CAPTURE(q.s);
            CAPTURE(q.p);
            CAPTURE(kind);
            const tensor x = cases::distinct(g, {2, 7, 6, 19}, 0.01f);
            const index_t ho = (7 + 2 * q.p - q.k) / q.s + 1, wo = (6 + 2 * q.p - q.k) / q.s + 1;
            const tensor gy = cases::uniform(g, {2, ho, wo, 19});
            var xv(x.clone(), true);
            var y = kind == 0 ? max_pool2d(xv, q.k, q.s, q.p) : avg_pool2d(xv, q.k, q.s, q.p, kind == 1);
            backward(y, gy);
            reference_pool ref(x, gy, q.k, q.s, q.p, kind == 0, kind == 1);
            check_close(y.value(), ref.y);
            check_close(xv.grad(), ref.gx);
        }
}

TEST_CASE("max_pool2d without grad computes the same values") {
    rng g(29);
    const tensor x = cases::uniform(g, {2, 6, 6, 5});
    var with = max_pool2d(var(x, true), 3, 2, 1);
    no_grad guard;
    var without = max_pool2d(var(x, true), 3, 2, 1);
    CHECK(std::equal(with.value().begin(), with.value().end(), without.value().begin()));
}

TEST_CASE("global_avg_pool averages every plane and spreads the gradient evenly") {
    var x(iota({2, 2, 3, 2}), true);  // per image 6 positions, channels interleaved
    var y = global_avg_pool(x);
    CHECK(y.shape() == shape{2, 2});
    CHECK(y.value()[0] == doctest::Approx((1 + 3 + 5 + 7 + 9 + 11) / 6.0));
    CHECK(y.value()[1] == doctest::Approx((2 + 4 + 6 + 8 + 10 + 12) / 6.0));
    CHECK(y.value()[2] == doctest::Approx(y.value()[0] + 12));
    backward(y, tensor::from({2, 2}, {6, 12, 18, 24}));
    CHECK(x.grad().at({0, 1, 2, 0}) == doctest::Approx(1.0));
    CHECK(x.grad().at({0, 0, 0, 1}) == doctest::Approx(2.0));
    CHECK(x.grad().at({1, 1, 1, 1}) == doctest::Approx(4.0));
}

TEST_CASE("global_avg_pool matches a double-precision mean over many rows") {
    rng g(37);
    for (const shape s : {shape{2, 9, 7, 37}, shape{1, 40, 40, 3}}) {
        const tensor x = cases::uniform(g, s);
        var y = global_avg_pool(var(x));
        const index_t hw = s[1] * s[2], C = s[3];
        for (index_t n = 0; n < s[0]; ++n)
            for (index_t c = 0; c < C; ++c) {
                double m = 0;
                for (index_t p = 0; p < hw; ++p) m += x[(n * hw + p) * C + c];
                CHECK(y.value()[n * C + c] == doctest::Approx(m / static_cast<double>(hw)).epsilon(1e-6));
            }
    }
}

TEST_CASE("pooling error messages") {
    var x(tensor::zeros({1, 4, 4, 2}));
    CHECK_THROWS_WITH_AS(max_pool2d(var(tensor::zeros({4, 4, 2})), 2, 2, 0),
                         "max_pool2d: input has rank 3 (shape [4,4,2]), expected rank 4 [N, H, W, C]",
                         hwnas::shape_error);
    CHECK_THROWS_WITH_AS(avg_pool2d(var(tensor::zeros({1, 0, 4, 2})), 2, 2, 0, true),
                         "avg_pool2d: input is empty (shape [1,0,4,2])", hwnas::shape_error);
    CHECK_THROWS_WITH_AS(max_pool2d(var(), 2, 2, 0), "max_pool2d: input is an empty var", hwnas::config_error);
    CHECK_THROWS_WITH_AS(max_pool2d(x, 0, 1, 0), "max_pool2d: kernel is 0, expected at least 1", hwnas::config_error);
    CHECK_THROWS_WITH_AS(avg_pool2d(x, 2, 0, 0, false), "avg_pool2d: stride is 0, expected at least 1",
                         hwnas::config_error);
    CHECK_THROWS_WITH_AS(max_pool2d(x, 2, 2, 2),
                         "max_pool2d: padding is 2 with kernel 2, expected 0 <= padding < kernel (a larger padding "
                         "makes windows that lie entirely in the padding)",
                         hwnas::config_error);
    CHECK_THROWS_WITH_AS(avg_pool2d(x, 3, 1, -1, true),
                         "avg_pool2d: padding is -1 with kernel 3, expected 0 <= padding < kernel (a larger padding "
                         "makes windows that lie entirely in the padding)",
                         hwnas::config_error);
    CHECK_THROWS_WITH_AS(max_pool2d(var(tensor::zeros({1, 4, 2, 1})), 5, 1, 1),
                         "max_pool2d: kernel 5 does not fit the input 4x2 with padding 1 (input [1,4,2,1])",
                         hwnas::shape_error);
    CHECK_THROWS_WITH_AS(global_avg_pool(var(tensor::zeros({2, 3}))),
                         "global_avg_pool: input has rank 2 (shape [2,3]), expected rank 4 [N, H, W, C]",
                         hwnas::shape_error);
    CHECK_THROWS_WITH_AS(global_avg_pool(var(tensor::zeros({2, 3, 0, 1}))),
                         "global_avg_pool: input is empty (shape [2,3,0,1])", hwnas::shape_error);
}

TEST_CASE("pool2d_flops counts one operation per window element") {
    CHECK(pool2d_flops({2, 3, 3, 4}, 3) == 2.0 * 3 * 3 * 4 * 9);
}

}  // namespace test_pool
