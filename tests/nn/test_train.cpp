#include <doctest/doctest.h>

#include <filesystem>

#include <hwnas/data/dataset.hpp>
#include <hwnas/io/json.hpp>
#include <hwnas/nn/layers.hpp>
#include <hwnas/nn/sequential.hpp>
#include <hwnas/nn/train.hpp>
#include <hwnas/search/report.hpp>

namespace test_train {

using namespace hwnas;

namespace {

// Two classes: horizontal or vertical stripes (with noise) on a 6x6 image.
dataset halves(index_t n, std::uint64_t seed) {
    rng g(seed);
    tensor images = tensor::uninitialized({n, 6, 6, 1});
    std::vector<std::int32_t> labels;
    for (index_t i = 0; i < n; ++i) {
        const int label = static_cast<int>(g.below(2));
        labels.push_back(label);
        for (index_t y = 0; y < 6; ++y)
            for (index_t x = 0; x < 6; ++x)
                images[(i * 6 + y) * 6 + x] = 0.3f * g.uniform() + ((label == 0 ? y : x) % 2 == 0 ? 0.6f : 0.0f);
    }
    return dataset(std::move(images), std::move(labels), 2);
}

std::shared_ptr<module> small_net(std::uint64_t seed) {
    rng g(seed);
    auto net = std::make_shared<sequential>();
    net->add(std::make_shared<conv_bn_act>(1, 4, 3, g, conv_bn_act_options{.padding = 1}));
    net->add(std::make_shared<classifier_head>(4, 2, g));
    return net;
}

train_recipe quick_recipe() {
    train_recipe r;
    r.epochs = 3;
    r.batch_size = 16;
    r.lr = 0.05f;
    r.warmup_steps = 2;
    r.augment = {};
    return r;
}

}  // namespace

TEST_CASE("train_classifier learns a separable task and records every epoch") {
    auto net = small_net(1);
    train_hooks hooks;
    hooks.progress = false;
    int calls = 0;
    hooks.on_epoch = [&](const epoch_record&) { ++calls; };
    const auto res = train_classifier(*net, halves(128, 2), halves(64, 3), quick_recipe(), hooks);
    CHECK(res.finished);
    CHECK(calls == 3);
    REQUIRE(res.history.size() == 3);
    CHECK(res.history[2].epoch == 3);
    CHECK(res.test_accuracy > 0.9);
    CHECK(res.history[2].train_loss < res.history[0].train_loss);
}

TEST_CASE("a killed training run resumes from its checkpoint and ends bit-identical") {
    const auto dir = std::filesystem::temp_directory_path() / "hwnas_test_train_resume";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const dataset train = halves(96, 4), test = halves(32, 5);

    auto straight = small_net(7);
    train_hooks quiet;
    quiet.progress = false;
    const auto full = train_classifier(*straight, train, test, quick_recipe(), quiet);

    train_hooks h = quiet;
    h.checkpoint = dir / "run.ckpt";
    h.checkpoint_every = 4;
    h.stop_after = [](std::int64_t step) { return step == 9; };  // "killed" mid-epoch 2, after the step-8 checkpoint
    auto first = small_net(7);
    CHECK_FALSE(train_classifier(*first, train, test, quick_recipe(), h).finished);

    h.stop_after = nullptr;
    auto resumed = small_net(99);  // fresh weights: everything must come from the checkpoint
    const auto res = train_classifier(*resumed, train, test, quick_recipe(), h);
    CHECK(res.resumed);
    CHECK(res.finished);
    CHECK(res.history.size() == full.history.size());
    CHECK(res.test_accuracy == full.test_accuracy);
    CHECK(res.history[1].train_loss == full.history[1].train_loss);
    const auto a = straight->parameters(), b = resumed->parameters();
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i)
        for (index_t j = 0; j < a[i].numel(); ++j) REQUIRE(a[i].value()[j] == b[i].value()[j]);
    std::filesystem::remove_all(dir);
}

TEST_CASE("evaluate with batch statistics normalizes by each batch and keeps the model's mode") {
    const dataset d = halves(64, 4);
    auto net = small_net(2);  // fresh running statistics (mean 0, var 1): not those of the data
    net->eval();
    const eval_result running = evaluate(*net, d, 32, std::nullopt);
    CHECK_FALSE(net->is_training());
    const eval_result batch = evaluate(*net, d, 32, std::nullopt, true);
    CHECK_FALSE(net->is_training());
    CHECK(batch.loss != doctest::Approx(running.loss));
    // The same as a forward pass in training mode on each batch.
    net->train();
    double loss = 0;
    {
        no_grad off;
        loader ld(d, {.batch_size = 32, .shuffle = false});
        for (index_t b = 0; b < ld.num_batches(); ++b) {
            const data_batch x = ld.batch(b);
            loss += cross_entropy(net->forward(var(x.images)), x.labels).value().item() * 32;
        }
    }
    CHECK(batch.loss == doctest::Approx(loss / 64));
    CHECK(net->is_training());
}

TEST_CASE("count_correct and recipe errors") {
    tensor logits = tensor::from({2, 3}, {0.1f, 0.9f, 0.0f, 2.0f, 1.0f, 0.0f});
    std::vector<std::int32_t> labels{1, 2};
    CHECK(count_correct(logits, labels) == 1);
    CHECK_THROWS_WITH_AS(count_correct(logits, std::vector<std::int32_t>{1}),
                         "count_correct: logits have shape [2,3], expected [1, classes]", shape_error);
    auto net = small_net(1);
    train_recipe r = quick_recipe();
    r.epochs = 0;
    CHECK_THROWS_WITH_AS(train_classifier(*net, halves(8, 1), halves(8, 2), r),
                         "train_classifier: epochs is 0, expected >= 1", config_error);
}

TEST_CASE("train_and_report writes the result files and gives the caller its thread count back") {
    const int before = num_threads();
    set_num_threads(2);
    auto net = small_net(4);
    const auto dir = std::filesystem::temp_directory_path() / "hwnas_test_train_and_report";
    std::filesystem::remove_all(dir);
    const nlohmann::json arch = {{"name", "small"}};
    const nlohmann::json r = train_and_report(*net, halves(64, 5), halves(32, 6), quick_recipe(), dir, 123.0, arch, 1);
    CHECK(num_threads() == 2);
    CHECK(r["latency"]["threads"] == 1);
    CHECK(r["latency_ms"].get<double>() > 0);
    CHECK(r["macs"].get<double>() == 123.0);
    CHECK(r["params"].get<long long>() == net->num_parameters());
    CHECK(r["epochs"] == 3);
    CHECK(r["architecture"] == arch);
    CHECK(r["test_accuracy"].get<double>() > 0.5);  // the task is separable
    CHECK(std::filesystem::exists(dir / "epochs.csv"));
    CHECK(read_json((dir / "architecture.json").string()) == arch);
    std::filesystem::remove_all(dir);
    set_num_threads(before);
}

}  // namespace test_train
