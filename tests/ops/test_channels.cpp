// concat_channels, slice_channels, channel_shuffle: known values and errors.
// Gradients are checked through the op registry (ops/cases/misc.hpp).
#include <doctest/doctest.h>

#include <vector>

#include <hwnas/autograd/backward.hpp>
#include <hwnas/core/rng.hpp>
#include <hwnas/ops/channels.hpp>

namespace test_channels {

using namespace hwnas;

namespace {
std::vector<float> values(const tensor& t) { return {t.begin(), t.end()}; }
}  // namespace

TEST_CASE("concat_channels joins the last dimension and routes gradients back") {
    var a(tensor::from({2, 2}, {1, 2, 3, 4}), true);
    var b(tensor::from({2, 1}, {5, 6}), true);
    var c(tensor::from({2, 3}, {7, 8, 9, 10, 11, 12}), true);
    var y = concat_channels({a, b, c});
    CHECK(y.shape() == shape{2, 6});
    CHECK(values(y.value()) == std::vector<float>{1, 2, 5, 7, 8, 9, 3, 4, 6, 10, 11, 12});
    tensor gy = tensor::uninitialized({2, 6});
    for (index_t i = 0; i < 12; ++i) gy[i] = static_cast<float>(i);
    backward(y, gy);
    CHECK(values(a.grad()) == std::vector<float>{0, 1, 6, 7});
    CHECK(values(b.grad()) == std::vector<float>{2, 8});
    CHECK(values(c.grad()) == std::vector<float>{3, 4, 5, 9, 10, 11});
}

TEST_CASE("slice_channels takes a channel range and scatters its gradient") {
    var x(tensor::from({2, 4}, {0, 1, 2, 3, 4, 5, 6, 7}), true);
    var y = slice_channels(x, 1, 3);
    CHECK(y.shape() == shape{2, 2});
    CHECK(values(y.value()) == std::vector<float>{1, 2, 5, 6});
    backward(y, tensor::from({2, 2}, {10, 20, 30, 40}));
    CHECK(values(x.grad()) == std::vector<float>{0, 10, 20, 0, 0, 30, 40, 0});
}

TEST_CASE("channel_shuffle permutes channels as ShuffleNet does") {
    var x(tensor::from({1, 6}, {0, 1, 2, 3, 4, 5}), true);
    // groups 2: [[0,1,2],[3,4,5]] transposed
    CHECK(values(channel_shuffle(x, 2).value()) == std::vector<float>{0, 3, 1, 4, 2, 5});
    // groups 3: [[0,1],[2,3],[4,5]] transposed
    CHECK(values(channel_shuffle(x, 3).value()) == std::vector<float>{0, 2, 4, 1, 3, 5});
    CHECK(values(channel_shuffle(x, 1).value()) == values(x.value()));
    // Shuffling by k = C / groups undoes it; the gradient is that inverse.
    CHECK(values(channel_shuffle(channel_shuffle(x, 2), 3).value()) == values(x.value()));
    backward(channel_shuffle(x, 2), tensor::from({1, 6}, {0, 3, 1, 4, 2, 5}));
    CHECK(values(x.grad()) == std::vector<float>{0, 1, 2, 3, 4, 5});
}

TEST_CASE("channel ops on a rank-4 activation match the index formulas") {
    const index_t rows = 2 * 5 * 5, c = 48;
    rng g(2);
    tensor t = tensor::uninitialized({2, 5, 5, c});
    for (float& v : t) v = g.uniform();
    var x(t);
    const tensor sliced = slice_channels(x, 5, 29).value();
    const tensor shuffled = channel_shuffle(x, 4).value();
    const tensor joined = concat_channels({x, x}).value();
    CHECK(sliced.shape() == shape{2, 5, 5, 24});
    CHECK(joined.shape() == shape{2, 5, 5, 96});
    bool ok = true;
    for (index_t r = 0; r < rows; ++r)
        for (index_t j = 0; j < c; ++j) {
            const float v = t[r * c + j];
            if (j >= 5 && j < 29) ok = ok && sliced[r * 24 + j - 5] == v;
            ok = ok && shuffled[r * c + (j % 12) * 4 + j / 12] == v;
            ok = ok && joined[r * 2 * c + j] == v && joined[r * 2 * c + c + j] == v;
        }
    CHECK(ok);
}

TEST_CASE("concat_channels rejects mismatched or missing inputs") {
    var a(tensor::zeros({2, 3, 4})), b(tensor::zeros({2, 2, 4})), flat(tensor::zeros({24}));
    CHECK_THROWS_WITH_AS(concat_channels(std::span<const var>()), "concat_channels: no inputs, expected at least one",
                         config_error);
    CHECK_THROWS_WITH_AS(concat_channels({a, var()}), "concat_channels: input 1 is an empty var", config_error);
    CHECK_THROWS_WITH_AS(concat_channels({a, var(tensor::scalar(1))}),
                         "concat_channels: input 1 has rank 0 (shape []), expected rank >= 1 [..., channels]",
                         shape_error);
    CHECK_THROWS_WITH_AS(concat_channels({a, b}),
                         "concat_channels: input 1 has shape [2,2,4], input 0 has shape [2,3,4], expected equal "
                         "shapes except the last dimension",
                         shape_error);
    CHECK_THROWS_WITH_AS(concat_channels({a, flat}),
                         "concat_channels: input 1 has shape [24], input 0 has shape [2,3,4], expected equal shapes "
                         "except the last dimension",
                         shape_error);
}

TEST_CASE("slice_channels and channel_shuffle reject bad ranges and groups") {
    var x(tensor::zeros({2, 6}));
    CHECK_THROWS_WITH_AS(slice_channels(x, 3, 3),
                         "slice_channels: range [3, 3) does not fit 6 channels, expected 0 <= begin < end <= 6 "
                         "(input [2,6])",
                         config_error);
    CHECK_THROWS_WITH_AS(slice_channels(x, 4, 7),
                         "slice_channels: range [4, 7) does not fit 6 channels, expected 0 <= begin < end <= 6 "
                         "(input [2,6])",
                         config_error);
    CHECK_THROWS_WITH_AS(slice_channels(x, -1, 2),
                         "slice_channels: range [-1, 2) does not fit 6 channels, expected 0 <= begin < end <= 6 "
                         "(input [2,6])",
                         config_error);
    CHECK_THROWS_WITH_AS(slice_channels(var(), 0, 1), "slice_channels: input is an empty var", config_error);
    CHECK_THROWS_WITH_AS(channel_shuffle(x, 0), "channel_shuffle: groups is 0, expected groups >= 1", config_error);
    CHECK_THROWS_WITH_AS(channel_shuffle(x, 4), "channel_shuffle: 6 channels do not split into 4 groups (input [2,6])",
                         shape_error);
    CHECK_THROWS_WITH_AS(channel_shuffle(var(tensor::scalar(1)), 1),
                         "channel_shuffle: input has rank 0 (shape []), expected rank >= 1 [..., channels]",
                         shape_error);
}

}  // namespace test_channels
