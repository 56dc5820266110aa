#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>

#include <hwnas/data/dataset.hpp>
#include <hwnas/nn/batch_norm_calibration.hpp>
#include <hwnas/nn/layers.hpp>
#include <hwnas/nn/sequential.hpp>
#include <hwnas/nn/train.hpp>
#include <hwnas/ops/conv2d.hpp>
#include <hwnas/supernet/modules.hpp>

namespace test_batch_norm_calibration {

using namespace hwnas;

namespace {

dataset noise_images(index_t n, index_t side, index_t channels, std::uint64_t seed) {
    rng g(seed);
    tensor images = tensor::uninitialized({n, side, side, channels});
    for (auto& v : images) v = 2.0f * g.uniform() + 0.5f;  // away from mean 0 / variance 1, the initial statistics
    std::vector<std::int32_t> labels;
    for (index_t i = 0; i < n; ++i) labels.push_back(static_cast<std::int32_t>(g.below(2)));
    return dataset(std::move(images), std::move(labels), 2);
}

bool same_values(const tensor& a, const tensor& b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }

}  // namespace

TEST_CASE("recalibrate_batch_norm sets the running statistics to the mean of the batch statistics") {
    rng g(1);
    auto first = std::make_shared<conv_bn_act>(2, 3, 1, g, conv_bn_act_options{.act = activation::none,
                                                                                 .bn_momentum = 0.3f});
    auto second = std::make_shared<bn_layer>(3, activation::relu);
    sequential net({first, second});
    net.eval();
    const dataset d = noise_images(10, 4, 2, 2);  // batches of 4: two full ones, the last 2 images dropped

    CHECK(recalibrate_batch_norm(net, d, 4, std::nullopt) == 2);

    // Expected: per batch, the channel mean and unbiased variance of the conv output; averaged over the batches.
    std::vector<double> mean(3, 0.0), variance(3, 0.0);
    for (index_t b = 0; b < 2; ++b) {
        std::vector<index_t> idx{4 * b, 4 * b + 1, 4 * b + 2, 4 * b + 3};
        const tensor y = conv2d(var(d.subset(idx).images()), first->weight(), var(), first->conv_params()).value();
        const index_t n = y.numel() / 3;
        for (index_t c = 0; c < 3; ++c) {
            double m = 0, v = 0;
            for (index_t i = 0; i < n; ++i) m += y[i * 3 + c];
            m /= static_cast<double>(n);
            for (index_t i = 0; i < n; ++i) v += std::pow(y[i * 3 + c] - m, 2);
            mean[static_cast<std::size_t>(c)] += m / 2;
            variance[static_cast<std::size_t>(c)] += v / static_cast<double>(n - 1) / 2;
        }
    }
    for (index_t c = 0; c < 3; ++c) {
        CHECK(first->running_mean()[c] == doctest::Approx(mean[static_cast<std::size_t>(c)]).epsilon(1e-4));
        CHECK(first->running_var()[c] == doctest::Approx(variance[static_cast<std::size_t>(c)]).epsilon(1e-4));
    }
    // The second layer normalizes the first's batch-normalized output: mean ~0, variance ~1 (unbiased: n / (n - 1)).
    const auto stats = net.named_buffers();
    REQUIRE(stats.size() == 4);
    CHECK(stats[2].name == "1.running_mean");
    for (index_t c = 0; c < 3; ++c) {
        CHECK(std::abs(stats[2].value[c]) < 1e-4);
        CHECK(stats[3].value[c] == doctest::Approx(64.0 / 63.0).epsilon(1e-3));
    }
    // Mode and momenta as they were.
    CHECK_FALSE(net.is_training());
    CHECK(first->running_momentum() == 0.3f);
    CHECK(second->running_momentum() == 0.1f);
}

TEST_CASE("after recalibrating on one batch, evaluation mode reproduces training mode on it") {
    rng g(3);
    sequential net({std::make_shared<conv_bn_act>(1, 4, 3, g, conv_bn_act_options{.act = activation::relu6}),
                    std::make_shared<conv_bn_act>(4, 4, 3, g, conv_bn_act_options{.stride = 2})});
    const dataset d = noise_images(8, 6, 1, 4);
    const var x(d.images());
    net.train();
    const tensor trained = net.forward(x).value().clone();
    net.eval();
    const tensor before = net.forward(x).value().clone();
    recalibrate_batch_norm(net, d, 8, std::nullopt);
    const tensor after = net.forward(x).value().clone();

    // Only the variance's n / (n - 1) (n = 288 and 72 values per channel) separates them now.
    double worst_before = 0, worst_after = 0;
    for (index_t i = 0; i < trained.numel(); ++i) {
        worst_before = std::max(worst_before, static_cast<double>(std::abs(before[i] - trained[i])));
        worst_after = std::max(worst_after, static_cast<double>(std::abs(after[i] - trained[i])));
    }
    CHECK(worst_before > 0.5);
    CHECK(worst_after < 0.03);
}

TEST_CASE("running_stats_layers lists a shared layer once") {
    rng g(5);
    auto shared = std::make_shared<conv_bn_act>(2, 2, 1, g);
    sequential net({shared, shared, std::make_shared<bn_layer>(2)});
    CHECK(running_stats_layers(net).size() == 2);
}

TEST_CASE("train_classifier evaluates with statistics recalibrated on the first training images") {
    rng g(6);
    sequential net({std::make_shared<conv_bn_act>(1, 4, 3, g), std::make_shared<classifier_head>(4, 2, g)});
    const dataset train = noise_images(48, 6, 1, 7), test = noise_images(16, 6, 1, 8);
    train_recipe r;
    r.epochs = 2;
    r.batch_size = 8;
    r.warmup_steps = 1;
    r.augment = {};
    r.normalize = false;
    r.bn_calibration_images = 16;
    train_hooks quiet;
    quiet.progress = false;
    const train_result res = train_classifier(net, train, test, r, quiet);
    REQUIRE(res.finished);
    // The last epoch's evaluation used these statistics: recalibrating again on those images changes nothing.
    const tensor mean = net.named_buffers()[0].value.clone(), variance = net.named_buffers()[1].value.clone();
    recalibrate_batch_norm(net, train.first(16), 8, std::nullopt);
    CHECK(same_values(mean, net.named_buffers()[0].value));
    CHECK(same_values(variance, net.named_buffers()[1].value));
    CHECK(evaluate(net, test, 16, std::nullopt).accuracy == doctest::Approx(res.test_accuracy));

    r.bn_calibration_images = 5;  // not a full batch
    CHECK_THROWS_WITH_AS(train_classifier(net, train, test, r, quiet),
                         doctest::Contains("bn_calibration_images is 5"), hwnas::error);
}

TEST_CASE("recalibrate_batch_norm rejects batches it cannot estimate a variance from") {
    rng g(9);
    sequential net({std::make_shared<conv_bn_act>(1, 2, 1, g)});
    const dataset d = noise_images(3, 4, 1, 10);
    CHECK_THROWS_WITH_AS(recalibrate_batch_norm(net, d, 1, std::nullopt), doctest::Contains("batch_size is 1"),
                         hwnas::error);
    CHECK_THROWS_WITH_AS(recalibrate_batch_norm(net, d, 4, std::nullopt),
                         doctest::Contains("3 images make no full batch of 4"), hwnas::error);
}

}  // namespace test_batch_norm_calibration
