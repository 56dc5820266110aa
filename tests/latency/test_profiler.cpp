#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include <hwnas/latency/lut.hpp>
#include <hwnas/latency/profiler.hpp>
#include <hwnas/nn/layers.hpp>
#include <hwnas/space/encoding.hpp>
#include <hwnas/space/presets.hpp>

namespace test_profiler {

using namespace hwnas;

namespace {

// Two layers of three candidates (one of them skip) on 8x8 inputs.
search_space tiny_space() {
    return layerwise_space({"tiny",
                            {8, 8, 3},
                            conv3x3_stem(8, 1),
                            {{1, 8, 1}, {1, 16, 2}},
                            {{"k3_e1", "mbconv", {3, 1, 1}}, {"k3_e3", "mbconv", {3, 3, 1}}, {"skip", "skip", {}}},
                            {op_spec{"conv1x1", "conv_bn_relu", {1}}, 32, 10}});
}

const profile_options quick{.batch = 1, .warmup = 1, .runs = 3, .seed = 0};

std::filesystem::path temp_dir(const std::string& name) {
    auto d = std::filesystem::temp_directory_path() / ("hwnas_test_profiler_" + name);
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    return d;
}

void check_sane(const profile_result& r, int runs) {
    CHECK(r.t.runs == runs);
    CHECK(r.t.threads == num_threads());
    CHECK(r.t.min_ms >= 0);
    CHECK(r.t.min_ms <= r.t.p10_ms);
    CHECK(r.t.p10_ms <= r.t.median_ms);
    CHECK(r.t.median_ms <= r.t.p90_ms);
    CHECK(r.t.p90_ms <= r.t.max_ms);
    CHECK(!r.machine.cpu_model.empty());
    CHECK(r.machine.threads == num_threads());
}

}  // namespace

TEST_CASE("profiler statistics are ordered and carry the machine") {
    const search_space s = tiny_space();
    const profile_result c = profile_choice(s, 1, 1, quick);
    check_sane(c, 3);
    CHECK(c.t.median_ms > 0);
    CHECK(c.what == "layer 1 k3_e3");
    const profile_result n = profile_network(s, architecture{{0, 2}, {}}, quick);
    check_sane(n, 3);
    CHECK(n.t.median_ms > 0);
    CHECK_THROWS_WITH_AS(profile_choice(s, 2, 0, quick),
                         "profile_choice: choice point 2 out of range, the space tiny has 2", config_error);
    CHECK_THROWS_WITH_AS(profile_choice(s, 0, 3, quick), "profile_choice: candidate 3 out of range, layer 0 has 3 candidates",
                         config_error);
    CHECK_THROWS_WITH_AS(profile_network(s, architecture{{0, 0}, {}}, {.batch = 0}),
                         "profile: batch 0, expected >= 1", config_error);
}

TEST_CASE("modules measured interleaved keep their order and their size ranking") {
    rng gen(1);
    conv_bn_act small(8, 8, 1, gen), big(8, 256, 3, gen);
    const std::vector<profile_result> r =
        profile_modules_interleaved({&small, &big}, {16, 16, 8}, {.batch = 1, .warmup = 1, .runs = 3}, 4);
    REQUIRE(r.size() == 2);
    check_sane(r[0], 12);
    check_sane(r[1], 12);
    CHECK(r[0].what == "conv_bn_act at [16,16,8]");
    // 288x the MACs: no machine noise reverses that ranking.
    CHECK(r[0].t.median_ms < r[1].t.median_ms);
    CHECK_THROWS_WITH_AS(profile_modules_interleaved({&small, nullptr}, {16, 16, 8}),
                         "profile_modules_interleaved: module 1 of 2 is null", config_error);
}

TEST_CASE("timing statistics are picked by name") {
    timing t;
    t.median_ms = 3;
    t.p10_ms = 2;
    t.min_ms = 1;
    CHECK(pick(t, parse_timing_stat("median")) == 3);
    CHECK(pick(t, parse_timing_stat("p10")) == 2);
    CHECK(pick(t, parse_timing_stat("min")) == 1);
    CHECK_THROWS_WITH_AS(parse_timing_stat("mean"), "timing statistic 'mean', expected median, p10 or min",
                         config_error);
}

TEST_CASE("lut of a tiny space has positive entries and survives a save and load") {
    const search_space s = tiny_space();
    std::size_t calls = 0;
    const latency_lut l = build_lut(s, {.profile = quick, .fixed_samples = 3, .stat = timing_stat::min}, [&](std::size_t, std::size_t) { ++calls; });
    CHECK(calls == 2 * 3 + 3);
    REQUIRE(l.ms.size() == 2);
    for (const auto& row : l.ms) {
        REQUIRE(row.size() == 3);
        CHECK(row[0] > 0);
        CHECK(row[1] > 0);
        CHECK(row[2] >= 0);
    }
    CHECK(l.ms[1][2] > 0);  // layer 1's skip changes shape: conv1x1 + BN + ReLU
    CHECK(std::isfinite(l.fixed_ms));
    CHECK(l.runs == 3);

    const auto dir = temp_dir("roundtrip");
    const std::string path = (dir / "lut.csv").string();
    save_lut(l, path);
    const latency_lut back = load_lut(path, s);
    CHECK(back.ms == l.ms);
    CHECK(back.fixed_ms == l.fixed_ms);
    CHECK(back.machine.cpu_model == l.machine.cpu_model);
    CHECK(back.runs == 3);
    CHECK(back.stat == "min");

    const architecture a{{1, 0}, {}};
    CHECK(to_cost_table(l).of(a) == doctest::Approx(l.of(a)));
    CHECK(lut_predictor(l)->predict(one_hot(s, a)) == doctest::Approx(l.of(a)));

    CHECK_THROWS_WITH_AS(load_lut(path, fbnet_fmnist()),
                         (path + ":4: 'layer 0' 'k3_e3', the space fbnet_fmnist has 'layer 0' 'k3_e1_g2' there").c_str(),
                         io_error);
    {
        std::ofstream out(path);
        out << "part,point,point_name,candidate,op,ms\nfixed,,,,,1\nchoice,0,layer 0,0,k3_e1,0.5\n";
    }
    CHECK_THROWS_WITH_AS(load_lut(path, s), (path + ": no entry for choice point 0 (layer 0) candidate 1 (k3_e3)").c_str(),
                         io_error);
    std::filesystem::remove_all(dir);
}

TEST_CASE("fbnet_block_lut loader maps rows to the fbnet presets") {
    const std::string path = std::string(HWNAS_SOURCE_DIR) + "/../shared/data/latency/fbnet_block_lut.csv";
    CHECK_THROWS_WITH_AS(load_fbnet_block_lut("/nonexistent/lut.csv", fbnet_cifar(), "cifar100", "raspi4_latency_ms"),
                         "read_csv: cannot open '/nonexistent/lut.csv' (No such file or directory)", io_error);
    if (!std::filesystem::exists(path)) return;
    const search_space s = fbnet_cifar();
    const latency_lut l = load_fbnet_block_lut(path, s, "cifar100", "raspi4_latency_ms");
    REQUIRE(l.ms.size() == 22);
    CHECK(l.ms[0][0] == doctest::Approx(0.6089088500011712));
    CHECK(l.fixed_ms == doctest::Approx(0.3023152320238296 + 5.996384236990707 + 0.02766140500898473 +
                                        0.14042508899001405));
    const latency_lut im = load_fbnet_block_lut(path, fbnet_imagenet(), "imagenet", "fpga_latency_ms");
    CHECK(im.ms.size() == 22);
    CHECK_THROWS_WITH_AS(load_fbnet_block_lut(path, s, "cifar100", "tpu_ms"),
                         doctest::Contains("fbnet_block_lut.csv: no column 'tpu_ms' (columns: dataset"), io_error);
    CHECK_THROWS_WITH_AS(load_fbnet_block_lut(path, s, "cifar10", "fpga_latency_ms"),
                         (path + ": no rows of dataset 'cifar10'").c_str(), io_error);
    // The CIFAR rows do not fit the ImageNet preset's shapes.
    CHECK_THROWS_WITH_AS(load_fbnet_block_lut(path, fbnet_imagenet(), "cifar100", "fpga_latency_ms"),
                         doctest::Contains("layer 0 of the space fbnet_imagenet has 112, 16, 16, 1"), io_error);
    // Rows missing, or for a layer the space does not have.
    const auto dir = temp_dir("fbnet");
    const std::string part = (dir / "part.csv").string();
    std::ifstream in(path);
    std::ofstream out(part);
    std::string line;
    for (int i = 0; i < 11 && std::getline(in, line); ++i) out << line << "\n";  // header, stem, layer 0
    out.close();
    CHECK_THROWS_WITH_AS(load_fbnet_block_lut(part, s, "cifar100", "fpga_latency_ms"),
                         (part + " (cifar100): no entry for choice point 1 (layer 1) candidate 0 (k3_e1)").c_str(),
                         io_error);
    out.open(part, std::ios::app);
    out << "cifar100,block,30,0,k3_e1,x,32,32,16,16,1,3,1,1,1,1,1,1,1,1,1,1\n";
    out.close();
    CHECK_THROWS_WITH_AS(load_fbnet_block_lut(part, s, "cifar100", "fpga_latency_ms"),
                         (part + ":12: layer 30 is not in the space fbnet_cifar (22 choice points)").c_str(), io_error);
    std::filesystem::remove_all(dir);
}

}  // namespace test_profiler
