// Smoke test on the real FBNet-space tables in ../shared/data/latency (next
// to the source tree); skipped when they are not there.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include <hwnas/io/csv.hpp>
#include <hwnas/latency/additive.hpp>
#include <hwnas/latency/metrics.hpp>

namespace test_real_tables {

using namespace hwnas;

namespace {
const std::string latency_dir = std::string(HWNAS_SOURCE_DIR) + "/../shared/data/latency";
}

TEST_CASE("real FBNet tables: the block LUT sums to the additive device columns") {
    const std::string space = latency_dir + "/fbnet_space_latency.csv", lut = latency_dir + "/fbnet_block_lut.csv";
    if (!std::filesystem::exists(space) || !std::filesystem::exists(lut)) {
        MESSAGE("skipped: no tables under " << latency_dir);
        return;
    }
    const csv_table archs = read_csv(space);
    CHECK(archs.rows() == 5000);
    std::vector<std::size_t> layer_cols;
    for (int l = 0; l < 22; ++l) layer_cols.push_back(archs.column("layer" + std::to_string(l)));

    const csv_table blocks = read_csv(lut);
    const std::size_t set = blocks.column("dataset"), part = blocks.column("part"), layer = blocks.column("layer"),
                      op = blocks.column("op_index");
    for (const std::string device : {"fpga", "raspi4", "pixel3"}) {
        CAPTURE(device);
        const std::size_t cost = blocks.column(device + "_latency_ms");
        std::vector<std::vector<double>> table(22, std::vector<double>(9));
        double fixed = 0;  // stem, head conv, pooling, classifier
        for (std::size_t r = 0; r < blocks.rows(); ++r) {
            if (blocks.cell(r, set) != "cifar100") continue;
            if (blocks.cell(r, part) == "block")
                table[static_cast<std::size_t>(blocks.number(r, layer))][static_cast<std::size_t>(blocks.number(r, op))] =
                    blocks.number(r, cost);
            else
                fixed += blocks.number(r, cost);
        }
        const additive_predictor predictor(table, fixed);
        const one_hot_layout layout(std::vector<int>(22, 9));
        std::vector<std::vector<int>> encoded;
        for (std::size_t r = 0; r < 200; ++r) {
            std::vector<int> a;
            for (auto c : layer_cols) a.push_back(static_cast<int>(archs.number(r, c)));
            encoded.push_back(a);
        }
        const std::vector<double> all = archs.numbers(device + "_ms");
        const std::vector<double> measured(all.begin(), all.begin() + 200);
        const auto predicted = predictor.predict(layout.encode(encoded));
        CHECK(mape(measured, predicted) < 1e-6);
    }
}

}  // namespace test_real_tables
