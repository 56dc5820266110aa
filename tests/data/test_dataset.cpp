#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <vector>

#include <hwnas/data/dataset.hpp>

namespace test_dataset {

using namespace hwnas;

namespace {

// n 2x2x1 images, image i filled with the value i (so a sample identifies
// itself), label i % classes.
dataset numbered(index_t n, int classes = 3) {
    tensor x({n, 2, 2, 1});
    std::vector<std::int32_t> y;
    for (index_t i = 0; i < n; ++i) {
        std::fill(x.data() + i * 4, x.data() + (i + 1) * 4, static_cast<float>(i));
        y.push_back(static_cast<std::int32_t>(i % classes));
    }
    return dataset(x, y, classes);
}

std::vector<index_t> ids(const dataset& d) {
    std::vector<index_t> v;
    for (index_t i = 0; i < d.size(); ++i) v.push_back(static_cast<index_t>(d.image(i)[0]));
    return v;
}

}  // namespace

TEST_CASE("dataset validates images and labels") {
    const dataset d = numbered(5);
    CHECK(d.size() == 5);
    CHECK(d.height() == 2);
    CHECK(d.width() == 2);
    CHECK(d.channels() == 1);
    CHECK(d.class_counts() == std::vector<index_t>{2, 2, 1});
    CHECK(dataset().empty());
    CHECK_THROWS_WITH_AS(dataset(tensor({2, 4}), {0, 0}, 2), "dataset: images have shape [2,4], expected rank 4 [N,H,W,C]",
                         shape_error);
    CHECK_THROWS_WITH_AS(dataset(tensor(), {}, 2), "dataset: images have shape (undefined), expected rank 4 [N,H,W,C]",
                         shape_error);
    CHECK_THROWS_WITH_AS(dataset(tensor({2, 1, 1, 1}), {0}, 2),
                         "dataset: 1 labels for 2 images (shape [2,1,1,1]), expected one label per image", shape_error);
    CHECK_THROWS_WITH_AS(dataset(tensor({2, 1, 1, 1}), {0, 0}, 0), "dataset: num_classes is 0, expected >= 1",
                         config_error);
    CHECK_THROWS_WITH_AS(dataset(tensor({2, 1, 1, 1}), {0, -1}, 2),
                         "dataset: label -1 at index 1 is out of range for 2 classes", config_error);
}

TEST_CASE("subset copies the chosen samples in order") {
    const dataset d = numbered(6);
    const std::vector<index_t> pick{4, 1, 1};
    const dataset s = d.subset(pick);
    CHECK(ids(s) == pick);
    CHECK(s.labels() == std::vector<std::int32_t>{1, 1, 1});
    CHECK(!s.images().shares_storage(d.images()));
    CHECK(d.subset(std::vector<index_t>{}).size() == 0);
    CHECK_THROWS_WITH_AS(d.subset(std::vector<index_t>{0, 6}),
                         "dataset::subset: index 6 at position 1 is out of range for a dataset of 6 samples",
                         config_error);
}

TEST_CASE("split is disjoint and complete and deterministic by seed") {
    const dataset d = numbered(50);
    const auto [a, b] = d.split(0.2, 7);
    CHECK(a.size() == 10);
    CHECK(b.size() == 40);
    std::vector<index_t> all = ids(a), rest = ids(b);
    CHECK(std::is_sorted(all.begin(), all.end()));
    CHECK(std::is_sorted(rest.begin(), rest.end()));
    all.insert(all.end(), rest.begin(), rest.end());
    CHECK(std::set<index_t>(all.begin(), all.end()).size() == 50);
    for (index_t i = 0; i < a.size(); ++i) CHECK(a.labels()[static_cast<std::size_t>(i)] == ids(a)[static_cast<std::size_t>(i)] % 3);

    const auto [a2, b2] = d.split(0.2, 7);
    CHECK(ids(a2) == ids(a));
    CHECK(ids(b2) == ids(b));
    CHECK(ids(d.split(0.2, 8).first) != ids(a));
    CHECK(d.split(0.0, 1).first.size() == 0);
    CHECK(d.split(1.0, 1).second.size() == 0);
    CHECK(d.split(0.5, 1).first.size() == 25);
    CHECK_THROWS_WITH_AS(d.split(1.5, 0), "dataset::split: fraction 1.5 is outside [0, 1]", config_error);
    CHECK_THROWS_WITH_AS(d.split(-0.1, 0), "dataset::split: fraction -0.1 is outside [0, 1]", config_error);
}

TEST_CASE("channel stats and normalization give known values") {
    // Two 1x2 images with 2 channels: channel 0 takes 0, 1, 2, 3 and channel 1 is 5, 5, 7, 7.
    const dataset d(tensor::from({2, 1, 2, 2}, {0, 5, 1, 5, 2, 7, 3, 7}), {0, 1}, 2);
    const channel_stats s = compute_channel_stats(d);
    CHECK(s.mean == std::vector<float>{1.5f, 6.0f});
    CHECK(s.stddev[0] == doctest::Approx(std::sqrt(1.25)));
    CHECK(s.stddev[1] == doctest::Approx(1.0));

    const dataset n = normalize(d, s);
    const float z = static_cast<float>(1.5 / std::sqrt(1.25));
    const std::vector<float> expected{-z, -1, -z / 3, -1, z / 3, 1, z, 1};
    for (std::size_t i = 0; i < expected.size(); ++i) CHECK(n.images()[static_cast<index_t>(i)] == doctest::Approx(expected[i]));
    CHECK(d.images()[0] == 0.0f);  // the source is untouched
    CHECK(compute_channel_stats(n).mean[0] == doctest::Approx(0.0));
    CHECK(compute_channel_stats(n).stddev[1] == doctest::Approx(1.0));

    const dataset given = normalize(d, {{1, 2}, {0.5f, 4}});
    CHECK(given.images()[1] == doctest::Approx(0.75));
    CHECK(given.images()[2] == doctest::Approx(0.0));

    CHECK_THROWS_WITH_AS(normalize(d, {{0.5f}, {1}}), "normalize: stats have 1 means and 1 stddevs, the images have 2 channels",
                         config_error);
    CHECK_THROWS_WITH_AS(normalize(d, {{0, 0}, {1, 0}}),
                         "normalize: channel 1 has mean 0 and stddev 0, expected finite values, stddev > 0", config_error);
    CHECK_THROWS_WITH_AS(compute_channel_stats(dataset()), "compute_channel_stats: the dataset is empty", config_error);
}

TEST_CASE("channel stats do not depend on the thread count") {
    const dataset d = numbered(700);  // several blocks of 256 samples
    set_num_threads(1);
    const channel_stats one = compute_channel_stats(d);
    set_num_threads(2);
    const channel_stats two = compute_channel_stats(d);
    CHECK(one.mean == two.mean);
    CHECK(one.stddev == two.stddev);
    CHECK(one.mean[0] == doctest::Approx(349.5));
}

}  // namespace test_dataset
