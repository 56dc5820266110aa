// conv2d against a naive reference (forward and all gradients), its kernels'
// chunking and determinism, and every validation message.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include <hwnas/autograd/backward.hpp>
#include <hwnas/core/parallel.hpp>
#include <hwnas/core/rng.hpp>
#include <hwnas/ops/conv2d.hpp>

namespace test_conv2d {

using namespace hwnas;

namespace {

struct reference {
    tensor y, gx, gw, gb;
};

// The convolution written out as its definition, in double: y, and the
// gradients of <y, gy> with respect to x, w and the bias.
reference naive_conv(const tensor& x, const tensor& w, const tensor& b, const tensor& gy, const conv2d_params& p) {
    const index_t n = x.dim(0), h = x.dim(1), wd = x.dim(2), cin = x.dim(3);
    const index_t kh = w.dim(0), kw = w.dim(1), cig = w.dim(2), cout = w.dim(3), cog = cout / p.groups;
    const index_t oh = gy.dim(1), ow = gy.dim(2);
    std::vector<double> y(static_cast<std::size_t>(gy.numel())), gx(static_cast<std::size_t>(x.numel())),
        gw(static_cast<std::size_t>(w.numel())), gb(static_cast<std::size_t>(cout));
    for (index_t i = 0; i < n; ++i)
        for (index_t oy = 0; oy < oh; ++oy)
            for (index_t ox = 0; ox < ow; ++ox)
                for (index_t co = 0; co < cout; ++co) {
                    const index_t yi = ((i * oh + oy) * ow + ox) * cout + co, grp = co / cog;
                    double acc = b.defined() ? b[co] : 0.0;
                    gb[static_cast<std::size_t>(co)] += gy[yi];
                    for (index_t a = 0; a < kh; ++a)
                        for (index_t bb = 0; bb < kw; ++bb) {
                            const index_t iy = oy * p.stride - p.padding + a * p.dilation;
                            const index_t ix = ox * p.stride - p.padding + bb * p.dilation;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                            for (index_t ci = 0; ci < cig; ++ci) {
                                const index_t xi = ((i * h + iy) * wd + ix) * cin + grp * cig + ci;
                                const index_t wi = ((a * kw + bb) * cig + ci) * cout + co;
                                acc += static_cast<double>(x[xi]) * w[wi];
                                gx[static_cast<std::size_t>(xi)] += static_cast<double>(gy[yi]) * w[wi];
                                gw[static_cast<std::size_t>(wi)] += static_cast<double>(gy[yi]) * x[xi];
                            }
                        }
                    y[static_cast<std::size_t>(yi)] = acc;
                }
    auto to_tensor = [](const shape& s, const std::vector<double>& v) {
        tensor t = tensor::uninitialized(s);
        for (index_t k = 0; k < t.numel(); ++k) t[k] = static_cast<float>(v[static_cast<std::size_t>(k)]);
        return t;
    };
    return {to_tensor(gy.shape(), y), to_tensor(x.shape(), gx), to_tensor(w.shape(), gw), to_tensor({cout}, gb)};
}

tensor random(rng& g, const shape& s) {
    tensor t = tensor::uninitialized(s);
    for (float& v : t) v = g.uniform(-1.0f, 1.0f);
    return t;
}

// Largest |a - b| relative to the largest |b| (at least 1).
double max_error(const tensor& a, const tensor& b) {
    REQUIRE(a.shape() == b.shape());
    double err = 0, scale = 1;
    for (index_t k = 0; k < a.numel(); ++k) {
        err = std::max(err, static_cast<double>(std::abs(a[k] - b[k])));
        scale = std::max(scale, static_cast<double>(std::abs(b[k])));
    }
    return err / scale;
}

struct config {
    std::string name;
    shape x, w;
    conv2d_params p;
    bool bias;
};

}  // namespace

TEST_CASE("conv2d matches a naive convolution in forward and backward") {
    const std::vector<config> configs{
        {"dense 3x3 pad 1", {2, 7, 9, 5}, {3, 3, 5, 6}, {.padding = 1}, true},
        {"dense 3x3 stride 2 odd sizes", {1, 9, 7, 3}, {3, 3, 3, 8}, {.stride = 2, .padding = 1}, false},
        {"dense 5x5 stride 3", {1, 11, 10, 2}, {5, 5, 2, 3}, {.stride = 3, .padding = 2}, true},
        {"dense 3x3 dilation 2", {2, 8, 8, 4}, {3, 3, 4, 5}, {.padding = 2, .dilation = 2}, true},
        {"dense 1x3 kernel", {1, 5, 6, 4}, {1, 3, 4, 3}, {.padding = 1}, false},
        {"groups 2", {2, 6, 6, 6}, {3, 3, 3, 8}, {.padding = 1, .groups = 2}, true},
        {"groups 3 stride 2", {1, 7, 7, 9}, {3, 3, 3, 6}, {.stride = 2, .padding = 1, .groups = 3}, false},
        {"channel multiplier 2", {1, 6, 5, 4}, {3, 3, 1, 8}, {.padding = 1, .groups = 4}, true},
        {"pointwise", {2, 5, 5, 16}, {1, 1, 16, 24}, {}, true},
        {"grouped pointwise", {2, 4, 5, 16}, {1, 1, 8, 24}, {.groups = 2}, false},
        {"1x1 stride 2", {1, 7, 7, 8}, {1, 1, 8, 4}, {.stride = 2}, true},
        {"1x1 padding 1", {1, 3, 3, 2}, {1, 1, 2, 3}, {.padding = 1}, false},
        {"depthwise k3 s1", {2, 9, 11, 24}, {3, 3, 1, 24}, {.padding = 1, .groups = 24}, true},
        {"depthwise k3 s2 channel tail", {1, 10, 9, 19}, {3, 3, 1, 19}, {.stride = 2, .padding = 1, .groups = 19},
         true},
        {"depthwise k5 s1", {2, 8, 8, 16}, {5, 5, 1, 16}, {.padding = 2, .groups = 16}, false},
        {"depthwise k5 s2", {1, 11, 11, 8}, {5, 5, 1, 8}, {.stride = 2, .padding = 2, .groups = 8}, true},
        {"depthwise k7 s1", {1, 12, 12, 16}, {7, 7, 1, 16}, {.padding = 3, .groups = 16}, true},
        {"depthwise k7 s2", {1, 13, 13, 9}, {7, 7, 1, 9}, {.stride = 2, .padding = 3, .groups = 9}, false},
        {"depthwise k3 no padding", {1, 6, 7, 8}, {3, 3, 1, 8}, {.groups = 8}, true},
        {"depthwise padding beyond the kernel", {1, 4, 4, 8}, {3, 3, 1, 8}, {.padding = 3, .groups = 8}, false},
        {"depthwise dilation 2", {1, 8, 8, 16}, {3, 3, 1, 16}, {.padding = 2, .dilation = 2, .groups = 16}, true},
        {"depthwise k4", {1, 7, 7, 8}, {4, 4, 1, 8}, {.padding = 1, .groups = 8}, false},
        {"depthwise 3x5 kernel", {1, 6, 7, 8}, {3, 5, 1, 8}, {.padding = 2, .groups = 8}, true},
        {"depthwise stride 3", {1, 10, 10, 8}, {3, 3, 1, 8}, {.stride = 3, .padding = 1, .groups = 8}, false},
        {"depthwise 1x1", {2, 3, 3, 5}, {1, 1, 1, 5}, {.groups = 5}, true},
        {"depthwise image narrower than the kernel", {1, 9, 2, 8}, {5, 5, 1, 8}, {.padding = 2, .groups = 8}, true},
        // Inputs above kernels::depthwise_prefetch_bytes (8 MB) take the prefetching path.
        {"depthwise k3 s1, 9 MB input", {2, 100, 100, 112}, {3, 3, 1, 112}, {.padding = 1, .groups = 112}, true},
        {"depthwise k3 s2, 8.6 MB input", {1, 150, 150, 96}, {3, 3, 1, 96}, {.stride = 2, .padding = 1, .groups = 96},
         false},
    };
    static_assert(index_t{150} * 150 * 96 * 4 > kernels::depthwise_prefetch_bytes,
                  "the two large depthwise cases must take the prefetching path");
    rng g(3);
    for (const auto& c : configs) {
        CAPTURE(c.name);
        var x(random(g, c.x), true), w(random(g, c.w), true);
        var b = c.bias ? var(random(g, {c.w[3]}), true) : var();
        var y = conv2d(x, w, b, c.p);
        const tensor gy = random(g, y.shape());
        const reference r = naive_conv(x.value(), w.value(), c.bias ? b.value() : tensor(), gy, c.p);
        CHECK(y.shape() == conv2d_output_shape(c.x, c.w, c.p));
        CHECK(max_error(y.value(), r.y) < 1e-5);
        backward(y, gy);
        CHECK(max_error(x.grad(), r.gx) < 1e-5);
        CHECK(max_error(w.grad(), r.gw) < 1e-5);
        if (c.bias) CHECK(max_error(b.grad(), r.gb) < 1e-5);
    }
}

TEST_CASE("conv2d on known values") {
    // 1 image 3x3, 1 channel, 2x2 kernel of ones plus bias 1: sums of 2x2 windows.
    var x(tensor::from({1, 3, 3, 1}, {1, 2, 3, 4, 5, 6, 7, 8, 9}));
    var w(tensor::ones({2, 2, 1, 1}));
    var b(tensor::from({1}, {1}));
    var y = conv2d(x, w, b, {});
    CHECK(y.shape() == shape{1, 2, 2, 1});
    CHECK(y.value()[0] == 13.0f);
    CHECK(y.value()[1] == 17.0f);
    CHECK(y.value()[2] == 25.0f);
    CHECK(y.value()[3] == 29.0f);
    // Padding 1 and stride 2 on the same input: corners see one 2x2 quarter each.
    var z = conv2d(x, w, var(), {.stride = 2, .padding = 1});
    CHECK(z.shape() == shape{1, 2, 2, 1});
    CHECK(z.value()[0] == 1.0f);
    CHECK(z.value()[1] == 5.0f);
    CHECK(z.value()[2] == 11.0f);
    CHECK(z.value()[3] == 28.0f);
}

TEST_CASE("conv2d im2col chunks split images and rows anywhere") {
    // Budgets of a few column (or output) rows force chunks that end mid-row
    // and mid-image. Output rows bound the chunks only on one thread.
    const int threads = num_threads();
    set_num_threads(1);
    rng g(5);
    const shape xs{3, 7, 6, 4}, ws3{3, 3, 2, 6}, ws1{1, 1, 2, 6};
    struct chunked {
        shape ws;
        conv2d_params p;
    };
    for (const auto& [ws, p] : {chunked{ws3, {.stride = 2, .padding = 1, .groups = 2}},
                                chunked{ws3, {.padding = 1, .dilation = 2, .groups = 2}},
                                chunked{ws1, {.groups = 2}}}) {
        const tensor x = random(g, xs), w = random(g, ws), b = random(g, {6});
        const shape ys = conv2d_output_shape(xs, ws, p);
        const tensor gy = random(g, ys);
        const reference r = naive_conv(x, w, b, gy, p);
        const kernels::conv_geometry geo = detail::conv2d_geometry(xs, ws, ys, p);
        for (index_t budget : {1, 5 * 36, 7 * 36, 16 * 7 * 6, 1000 * 36}) {
            CAPTURE(ws.str());
            CAPTURE(p.stride);
            CAPTURE(budget);
            tensor y = tensor::uninitialized(ys), gx = tensor::uninitialized(xs), gw = tensor::uninitialized(ws);
            kernels::conv_gemm_forward(geo, x.data(), w.data(), b.data(), y.data(), budget);
            kernels::conv_gemm_backward_input(geo, gy.data(), w.data(), gx.data(), budget);
            kernels::conv_gemm_backward_weight(geo, x.data(), gy.data(), gw.data(), budget);
            CHECK(max_error(y, r.y) < 1e-5);
            CHECK(max_error(gx, r.gx) < 1e-5);
            CHECK(max_error(gw, r.gw) < 1e-5);
        }
    }
    set_num_threads(threads);
}

TEST_CASE("Winograd F(4x4, 3x3) matches a naive convolution on tile and channel remainders") {
    // Sizes that are not multiples of the 4x4 tile, channel counts with and
    // without remainders of the 8-wide vectors and 32-wide register tiles,
    // padding 0-2, one and two threads (the weight gradient's partial sums).
    const int threads = num_threads();
    rng g(11);
    struct sizes {
        index_t h, w, cin, cout;
    };
    for (int t : {1, 2})
        for (const auto& [h, wd, cin, cout] : {sizes{5, 7, 3, 5}, sizes{8, 8, 16, 16}, sizes{9, 13, 19, 41}})
            for (index_t pad : {0, 1, 2}) {
                set_num_threads(t);
                CAPTURE(t);
                CAPTURE(h);
                CAPTURE(cin);
                CAPTURE(pad);
                const conv2d_params p{.padding = pad};
                const shape xs{2, h, wd, cin}, ws{3, 3, cin, cout}, ys = conv2d_output_shape(xs, ws, p);
                const tensor x = random(g, xs), w = random(g, ws), b = random(g, {cout}), gy = random(g, ys);
                const reference r = naive_conv(x, w, b, gy, p);
                const kernels::conv_geometry geo = detail::conv2d_geometry(xs, ws, ys, p);
                REQUIRE(kernels::winograd_applies(geo));
                tensor y = tensor::uninitialized(ys), gx = tensor::uninitialized(xs), gw = tensor::uninitialized(ws);
                kernels::winograd_forward(geo, x.data(), w.data(), b.data(), y.data());
                kernels::winograd_backward_weight(geo, x.data(), gy.data(), gw.data());
                // The input gradient: the forward Winograd conv of gy with the flipped kernel.
                std::vector<float> flipped(static_cast<std::size_t>(ws.numel()));
                kernels::flip_weight(geo, w.data(), flipped.data());
                kernels::winograd_forward(kernels::input_gradient_geometry(geo), gy.data(), flipped.data(), nullptr,
                                          gx.data());
                // F(4x4, 3x3) in float loses a few bits more than direct summation.
                CHECK(max_error(y, r.y) < 2e-5);
                CHECK(max_error(gx, r.gx) < 2e-5);
                CHECK(max_error(gw, r.gw) < 2e-5);
            }
    set_num_threads(threads);
}

TEST_CASE("conv2d gradients are bit-identical run to run") {
    rng g(9);
    const tensor xt = random(g, {4, 9, 9, 16}), wt = random(g, {3, 3, 1, 16}), bt = random(g, {16});
    auto grads = [&] {
        var x(xt, true), w(wt, true), b(bt, true);
        var y = conv2d(x, w, b, {.stride = 2, .padding = 1, .groups = 16});
        backward(y, tensor::full(y.shape(), 0.5f));
        return std::vector{x.grad(), w.grad(), b.grad()};
    };
    const auto first = grads(), second = grads();
    for (std::size_t i = 0; i < first.size(); ++i)
        CHECK(std::equal(first[i].begin(), first[i].end(), second[i].begin()));
}

TEST_CASE("conv2d needs no gradient work for inputs that do not require grad") {
    rng g(11);
    var x(random(g, {1, 5, 5, 4})), w(random(g, {3, 3, 4, 2}), true);
    var y = conv2d(x, w, var(), {.padding = 1});
    backward(y, tensor::ones(y.shape()));
    CHECK(w.grad().defined());
    CHECK_FALSE(x.grad().defined());
}

TEST_CASE("conv2d cost") {
    CHECK(conv2d_macs({8, 28, 28, 16}, {3, 3, 16, 32}, {.padding = 1}) == 8.0 * 28 * 28 * 32 * 9 * 16);
    CHECK(conv2d_macs({1, 28, 28, 16}, {3, 3, 1, 16}, {.stride = 2, .padding = 1, .groups = 16}) ==
          14.0 * 14 * 16 * 9);
    CHECK(conv2d_output_shape({2, 9, 9, 4}, {3, 3, 2, 6}, {.stride = 2, .padding = 2, .dilation = 2, .groups = 2}) ==
          shape{2, 5, 5, 6});
}

TEST_CASE("conv2d rejects bad inputs with clear messages") {
    const var x(tensor::zeros({8, 28, 28, 3})), w(tensor::zeros({3, 3, 16, 32}));
    CHECK_THROWS_WITH_AS(conv2d(x, w, var(), {}),
                         "conv2d: input has 3 channels, weight expects 16 (input [8,28,28,3], weight [3,3,16,32])",
                         shape_error);
    const var x8(tensor::zeros({1, 5, 5, 8}));
    CHECK_THROWS_WITH_AS(conv2d(x8, var(tensor::zeros({3, 3, 3, 8})), var(), {.groups = 4}),
                         "conv2d: input has 8 channels, weight expects 12 (3 per group x 4 groups) (input [1,5,5,8], "
                         "weight [3,3,3,8])",
                         shape_error);
    CHECK_THROWS_WITH_AS(conv2d(x8, var(tensor::zeros({3, 3, 2, 6})), var(), {.groups = 4}),
                         "conv2d: weight has 6 output channels, not divisible by 4 groups (weight [3,3,2,6])",
                         shape_error);
    CHECK_THROWS_WITH_AS(conv2d(x8, var(tensor::zeros({3, 3, 2, 6})), var(), {.groups = 3}),
                         "conv2d: input has 8 channels, not divisible by 3 groups (input [1,5,5,8])", shape_error);
    const var w8(tensor::zeros({3, 3, 8, 4}));
    CHECK_THROWS_WITH_AS(conv2d(x8, w8, var(), {.stride = 0}), "conv2d: stride is 0, expected >= 1", config_error);
    CHECK_THROWS_WITH_AS(conv2d(x8, w8, var(), {.dilation = -1}), "conv2d: dilation is -1, expected >= 1",
                         config_error);
    CHECK_THROWS_WITH_AS(conv2d(x8, w8, var(), {.groups = 0}), "conv2d: groups is 0, expected >= 1", config_error);
    CHECK_THROWS_WITH_AS(conv2d(x8, w8, var(), {.padding = -1}), "conv2d: padding is -1, expected >= 0",
                         config_error);
    CHECK_THROWS_WITH_AS(conv2d(var(tensor::zeros({5, 5, 8})), w8, var(), {}),
                         "conv2d: input has rank 3 (shape [5,5,8]), expected rank 4 [N, H, W, C]", shape_error);
    CHECK_THROWS_WITH_AS(conv2d(x8, var(tensor::zeros({8, 4})), var(), {}),
                         "conv2d: weight has rank 2 (shape [8,4]), expected rank 4 [KH, KW, Cin/groups, Cout]",
                         shape_error);
    CHECK_THROWS_WITH_AS(conv2d(x8, var(tensor::zeros({7, 3, 8, 4})), var(), {}),
                         "conv2d: the kernel 7x3 with dilation 1 spans 7x3, more than the padded input 5x5, so the "
                         "output would be empty (input [1,5,5,8], padding 0)",
                         shape_error);
    CHECK_THROWS_WITH_AS(conv2d(x8, w8, var(), {.padding = 1, .dilation = 4}),
                         "conv2d: the kernel 3x3 with dilation 4 spans 9x9, more than the padded input 7x7, so the "
                         "output would be empty (input [1,5,5,8], padding 1)",
                         shape_error);
    CHECK_THROWS_WITH_AS(conv2d(x8, w8, var(tensor::zeros({5})), {}), "conv2d: bias has shape [5], expected [4]",
                         shape_error);
    CHECK_THROWS_WITH_AS(conv2d(var(tensor::zeros({0, 5, 5, 8})), w8, var(), {}),
                         "conv2d: input is empty (shape [0,5,5,8])", shape_error);
    CHECK_THROWS_WITH_AS(conv2d(x8, var(tensor::zeros({3, 3, 8, 0})), var(), {}),
                         "conv2d: weight is empty (shape [3,3,8,0])", shape_error);
    CHECK_THROWS_WITH_AS(conv2d(var(), w8, var(), {}), "conv2d: input is an empty var", config_error);
    CHECK_THROWS_WITH_AS(conv2d_output_shape({0, 5, 5, 8}, {3, 3, 8, 4}, {}),
                         "conv2d: input is empty (shape [0,5,5,8])", shape_error);
    CHECK_THROWS_WITH_AS(conv2d_macs({1, 5, 5, 8}, {3, 3, 8, 4}, {.stride = -2}),
                         "conv2d: stride is -2, expected >= 1", config_error);
}

}  // namespace test_conv2d
