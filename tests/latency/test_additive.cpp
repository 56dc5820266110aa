#include <doctest/doctest.h>

#include <vector>

#include <hwnas/core/rng.hpp>
#include <hwnas/latency/additive.hpp>
#include <hwnas/latency/metrics.hpp>
#include <hwnas/ops/reduce.hpp>

namespace test_additive {

using namespace hwnas;

namespace {

std::vector<std::vector<int>> random_archs(rng& gen, std::size_t n, std::size_t positions, int ops) {
    std::vector<std::vector<int>> archs(n, std::vector<int>(positions));
    for (auto& a : archs)
        for (auto& op : a) op = static_cast<int>(gen.below(static_cast<std::uint64_t>(ops)));
    return archs;
}

double table_cost(const std::vector<std::vector<double>>& table, double constant, const std::vector<int>& arch) {
    double c = constant;
    for (std::size_t p = 0; p < arch.size(); ++p) c += table[p][static_cast<std::size_t>(arch[p])];
    return c;
}

}  // namespace

TEST_CASE("one_hot_layout encodes op indices and rejects bad ones") {
    const one_hot_layout layout({3, 2});
    CHECK(layout.width() == 5);
    CHECK(layout.offset(1) == 3);
    const std::vector<std::vector<int>> archs{{2, 0}, {0, 1}};
    const tensor x = layout.encode(archs);
    CHECK(x.shape() == shape{2, 5});
    CHECK(std::vector<float>(x.begin(), x.end()) == std::vector<float>{0, 0, 1, 1, 0, 1, 0, 0, 0, 1});
    float row[5];
    CHECK_THROWS_WITH_AS(layout.encode_into(std::vector<int>{0, 2}, row),
                         "one_hot_layout::encode: op index 2 at position 1, expected 0..1", config_error);
    CHECK_THROWS_WITH_AS(layout.encode_into(std::vector<int>{0}, row),
                         "one_hot_layout::encode: architecture has 1 positions, expected 2", config_error);
    CHECK_THROWS_WITH_AS(one_hot_layout({3, 0}), "one_hot_layout: position 1 has 0 ops, expected at least 1",
                         config_error);
}

TEST_CASE("additive predictor recovers an exactly additive table") {
    rng gen(11);
    const std::size_t positions = 6;
    const int ops = 4;
    std::vector<std::vector<double>> table(positions, std::vector<double>(ops));
    for (auto& row : table)
        for (auto& c : row) c = 0.5 + 2.0 * gen.uniform();
    const double constant = 3.0;
    const one_hot_layout layout(std::vector<int>(positions, ops));

    const auto train = random_archs(gen, 120, positions, ops), test = random_archs(gen, 50, positions, ops);
    std::vector<double> y;
    for (const auto& a : train) y.push_back(table_cost(table, constant, a));
    additive_predictor fitted;
    fitted.fit(layout.encode(train), y);
    const additive_predictor given(table, constant);
    const auto p_fit = fitted.predict(layout.encode(test)), p_given = given.predict(layout.encode(test));
    for (std::size_t i = 0; i < test.size(); ++i) {
        const double truth = table_cost(table, constant, test[i]);
        CHECK(p_given[i] == doctest::Approx(truth).epsilon(1e-12));
        CHECK(p_fit[i] == doctest::Approx(truth).epsilon(1e-5));
    }
    // Costs are identified up to a shift per position: differences within a position are recovered.
    for (std::size_t p = 0; p < positions; ++p)
        for (int k = 1; k < ops; ++k) {
            const auto at = [&](int op) { return fitted.costs()[p * ops + static_cast<std::size_t>(op)]; };
            CHECK(at(k) - at(0) == doctest::Approx(table[p][static_cast<std::size_t>(k)] - table[p][0]).epsilon(1e-4));
        }
}

TEST_CASE("robust relative additive fit is not pulled by outlying measurements") {
    rng gen(12);
    const std::size_t positions = 5;
    const int ops = 4;
    std::vector<std::vector<double>> table(positions, std::vector<double>(ops));
    for (auto& row : table)
        for (auto& c : row) c = 0.5 + 2.0 * gen.uniform();
    const one_hot_layout layout(std::vector<int>(positions, ops));
    const auto train = random_archs(gen, 200, positions, ops), test = random_archs(gen, 50, positions, ops);
    std::vector<double> y;
    for (std::size_t i = 0; i < train.size(); ++i)  // every 10th measurement 60% too slow
        y.push_back(table_cost(table, 1.0, train[i]) * (i % 10 == 0 ? 1.6 : 1.0));
    additive_predictor ls, robust({.huber_delta = 0.02});
    ls.fit(layout.encode(train), y);
    robust.fit(layout.encode(train), y);
    std::vector<double> truth;
    for (const auto& a : test) truth.push_back(table_cost(table, 1.0, a));
    CHECK(mape(truth, ls.predict(layout.encode(test))) > 3.0);
    CHECK(mape(truth, robust.predict(layout.encode(test))) < 0.5);
}

TEST_CASE("additive predictor on a soft encoding is the expected cost and differentiable") {
    const std::vector<std::vector<double>> table{{1, 2, 4}, {10, 20, 30}};
    const additive_predictor lut(table, 0.5);
    CHECK(lut.predict(std::vector<float>{0, 0, 1, 0, 1, 0}) == doctest::Approx(24.5));
    var enc(tensor::from({1, 6}, {0.5f, 0.25f, 0.25f, 0.1f, 0.2f, 0.7f}), true);
    var lat = lut.predict(enc);
    CHECK(lat.shape() == shape{1, 1});
    CHECK(lat.value()[0] == doctest::Approx(0.5 + (0.5 + 0.5 + 1) + (1 + 4 + 21)));
    sum(lat).backward();
    for (index_t j = 0; j < 6; ++j)
        CHECK(enc.grad()[j] == doctest::Approx(table[static_cast<std::size_t>(j / 3)][static_cast<std::size_t>(j % 3)]));
}

TEST_CASE("predictor input errors") {
    additive_predictor p;
    const tensor x = tensor::zeros({3, 4});
    CHECK_THROWS_WITH_AS(p.predict(x), "additive::predict: the predictor is not fitted", config_error);
    CHECK_THROWS_WITH_AS(p.fit(x, std::vector<double>{1, 2}),
                         "additive::fit: 3 encodings and 2 targets, expected one target per encoding", shape_error);
    CHECK_THROWS_WITH_AS(p.fit(x, std::vector<double>{1, -2, 3}),
                         "additive::fit: target 1 is -2, expected a finite value > 0", config_error);
    CHECK_THROWS_WITH_AS(p.fit(tensor::zeros({3}), std::vector<double>{1, 2, 3}),
                         "additive::fit: encodings have shape [3], expected [N, D] with N, D >= 1", shape_error);
    p.fit(x, std::vector<double>{1, 2, 3});
    CHECK_THROWS_WITH_AS(p.predict(tensor::zeros({2, 5})), "additive::predict: encodings have shape [2,5], expected [N, 4]",
                         shape_error);
    CHECK_THROWS_WITH_AS(additive_predictor(additive_options{.ridge = 0}),
                         "additive_predictor: ridge 0, expected a finite value > 0", config_error);
    CHECK_THROWS_WITH_AS(additive_predictor(additive_options{.huber_delta = -1}),
                         "additive_predictor: huber delta -1 with 20 iterations, expected delta >= 0 and iterations >= 1",
                         config_error);
}

}  // namespace test_additive
