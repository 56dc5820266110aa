#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <vector>

#include <hwnas/data/augment.hpp>
#include <hwnas/data/loader.hpp>

namespace test_loader {

using namespace hwnas;

namespace {

// n images h x w x c whose pixel values are all distinct (sample i starts at i * 1000 + 1).
dataset distinct(index_t n, index_t h = 2, index_t w = 2, index_t c = 1) {
    tensor x = tensor::uninitialized({n, h, w, c});
    std::vector<std::int32_t> y;
    for (index_t i = 0; i < n; ++i) {
        for (index_t j = 0; j < h * w * c; ++j) x[i * h * w * c + j] = static_cast<float>(i * 1000 + j + 1);
        y.push_back(static_cast<std::int32_t>(i % 10));
    }
    return dataset(x, y, 10);
}

std::vector<float> values(const tensor& t) { return {t.begin(), t.end()}; }

std::vector<float> augmented(const std::vector<float>& src, index_t h, index_t w, index_t c, augment_params p) {
    std::vector<float> out(src.size(), -1.0f);
    augment_image(src.data(), out.data(), h, w, c, p);
    return out;
}

}  // namespace

TEST_CASE("augment_image shifts with zero padding and flips a known image") {
    const std::vector<float> img{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};  // 3 x 4
    CHECK(augmented(img, 3, 4, 1, {0, 0, false}) == img);
    CHECK(augmented(img, 3, 4, 1, {0, 0, true}) == std::vector<float>{4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9});
    CHECK(augmented(img, 3, 4, 1, {1, -1, false}) == std::vector<float>{0, 5, 6, 7, 0, 9, 10, 11, 0, 0, 0, 0});
    CHECK(augmented(img, 3, 4, 1, {1, -1, true}) == std::vector<float>{7, 6, 5, 0, 11, 10, 9, 0, 0, 0, 0, 0});
    CHECK(augmented(img, 3, 4, 1, {-2, 2, false}) == std::vector<float>{0, 0, 0, 0, 0, 0, 0, 0, 3, 4, 0, 0});
    CHECK(augmented(img, 3, 4, 1, {-2, 2, true}) == std::vector<float>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 3});
    CHECK(augmented(img, 3, 4, 1, {0, 5, true}) == std::vector<float>(12, 0.0f));
    // Channels move together: a 1 x 2 image with 3 channels.
    const std::vector<float> rgb{1, 2, 3, 4, 5, 6};
    CHECK(augmented(rgb, 1, 2, 3, {0, 0, true}) == std::vector<float>{4, 5, 6, 1, 2, 3});
    CHECK(augmented(rgb, 1, 2, 3, {0, 1, false}) == std::vector<float>{4, 5, 6, 0, 0, 0});
}

TEST_CASE("draw_augment stays within the padding and flips about half the time") {
    const augment_options o{2, true};
    rng g(3);
    std::map<index_t, int> shifts;
    int flips = 0;
    for (int i = 0; i < 2000; ++i) {
        const augment_params p = draw_augment(o, g);
        ++shifts[p.shift_y];
        ++shifts[p.shift_x];
        flips += p.flip;
    }
    CHECK(shifts.size() == 5);
    CHECK(shifts.begin()->first == -2);
    CHECK(shifts.rbegin()->first == 2);
    CHECK(flips > 900);
    CHECK(flips < 1100);
    const augment_params none = draw_augment(augment_options{}, g);
    CHECK((none.shift_y == 0 && none.shift_x == 0 && !none.flip));
}

TEST_CASE("loader batches cover the epoch and drop_last drops the short batch") {
    const dataset d = distinct(10);
    loader keep(d, {.batch_size = 4, .shuffle = false});
    CHECK(keep.num_batches() == 3);
    CHECK(keep.order() == std::vector<index_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    const data_batch last = keep.batch(2);
    CHECK(last.images.shape() == shape{2, 2, 2, 1});
    CHECK(last.labels == std::vector<std::int32_t>{8, 9});
    CHECK(values(last.images) == std::vector<float>(d.image(8), d.image(8) + 8));

    loader drop(d, {.batch_size = 4, .drop_last = true});
    CHECK(drop.num_batches() == 2);
    CHECK(drop.batch(1).images.dim(0) == 4);
    CHECK(loader(d, {.batch_size = 10, .drop_last = true}).num_batches() == 1);
    CHECK(loader(d, {.batch_size = 11, .drop_last = true}).num_batches() == 0);

    CHECK_THROWS_WITH_AS(drop.batch(2), "loader::batch: batch 2 is out of range, the epoch has 2 batches", config_error);
    CHECK_THROWS_WITH_AS(loader(d, {.batch_size = 0}), "loader: batch_size is 0, expected >= 1", config_error);
    CHECK_THROWS_WITH_AS(loader(d, {.augment = {.crop_padding = -1}}), "augment_options: crop_padding is -1, expected >= 0",
                         config_error);
    CHECK_THROWS_WITH_AS(loader(d, {.normalize = channel_stats{{0, 0}, {1, 1}}}),
                         "loader: stats have 2 means and 2 stddevs, the images have 1 channels", config_error);
    CHECK_THROWS_WITH_AS(drop.set_epoch(-1), "loader::set_epoch: epoch -1 is negative, expected >= 0", config_error);
}

TEST_CASE("loader shuffles by seed and epoch and a resumed run gets the same batches") {
    const dataset d = distinct(40);
    const loader_options o{.batch_size = 8, .seed = 11, .augment = {.crop_padding = 1, .horizontal_flip = true}};
    loader a(d, o), b(d, o);
    const std::vector<index_t> e0 = a.order();
    std::vector<index_t> sorted = e0;
    std::sort(sorted.begin(), sorted.end());
    std::vector<index_t> identity(40);
    std::iota(identity.begin(), identity.end(), index_t{0});
    CHECK(sorted == identity);
    CHECK(e0 != identity);
    a.set_epoch(1);
    CHECK(a.order() != e0);
    a.set_epoch(0);
    CHECK(a.order() == e0);
    loader other_seed(d, {.batch_size = 8, .seed = 12});
    CHECK(other_seed.order() != e0);

    // Run a through epochs 0..2; b resumes directly at epoch 2, batch 3.
    data_batch from_run;
    for (std::int64_t e = 0; e <= 2; ++e) {
        a.set_epoch(e);
        for (index_t i = 0; i < a.num_batches(); ++i) {
            data_batch x = a.batch(i);
            if (e == 2 && i == 3) from_run = x;
        }
    }
    b.set_epoch(2);
    const data_batch resumed = b.batch(3);
    CHECK(values(resumed.images) == values(from_run.images));
    CHECK(resumed.labels == from_run.labels);

    // Augmentation differs between epochs for the same sample.
    loader fixed(d, {.batch_size = 40, .shuffle = false, .seed = 11, .augment = o.augment});
    const auto first = values(fixed.batch(0).images);
    fixed.set_epoch(1);
    CHECK(values(fixed.batch(0).images) != first);
}

TEST_CASE("loader batches do not depend on the thread count") {
    const dataset d = distinct(37, 5, 5, 2);
    const loader_options o{.batch_size = 16, .seed = 5, .augment = {.crop_padding = 2, .horizontal_flip = true}};
    std::vector<std::vector<float>> runs[2];
    for (int threads : {1, 2}) {
        set_num_threads(threads);
        loader l(d, o);
        l.set_epoch(3);
        for (index_t i = 0; i < l.num_batches(); ++i) runs[threads - 1].push_back(values(l.batch(i).images));
    }
    CHECK(runs[0] == runs[1]);
}

TEST_CASE("loader augments each sample by a crop and flip of its own image then normalizes") {
    const index_t h = 3, w = 4;
    const dataset d = distinct(60, h, w, 1);
    loader l(d, {.batch_size = 60, .shuffle = false, .seed = 2, .augment = {.crop_padding = 1, .horizontal_flip = true}});
    const data_batch b = l.batch(0);
    int flips = 0, shifted = 0;
    for (index_t i = 0; i < d.size(); ++i) {
        const std::vector<float> src(d.image(i), d.image(i) + h * w);
        const std::vector<float> got(b.images.data() + i * h * w, b.images.data() + (i + 1) * h * w);
        bool found = false;
        for (index_t sy = -1; sy <= 1 && !found; ++sy)
            for (index_t sx = -1; sx <= 1 && !found; ++sx)
                for (bool flip : {false, true})
                    if (!found && augmented(src, h, w, 1, {sy, sx, flip}) == got) {
                        found = true;
                        flips += flip;
                        shifted += sy != 0 || sx != 0;
                    }
        CHECK_MESSAGE(found, "sample " << i << " is not a crop/flip of its image");
    }
    CHECK(flips > 15);
    CHECK(flips < 45);
    CHECK(shifted > 30);

    // Normalization comes after augmentation: padding zeros become (0 - mean) / stddev.
    loader n(d, {.batch_size = 60, .shuffle = false, .seed = 2, .augment = {.crop_padding = 1, .horizontal_flip = true},
                 .normalize = channel_stats{{1.0f}, {4.0f}}});
    const data_batch nb = n.batch(0);
    for (index_t j = 0; j < b.images.numel(); ++j) CHECK(nb.images[j] == (b.images[j] - 1.0f) / 4.0f);
    CHECK(std::count(nb.images.begin(), nb.images.end(), -0.25f) == std::count(b.images.begin(), b.images.end(), 0.0f));
}

}  // namespace test_loader
