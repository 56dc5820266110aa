#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include <hwnas/autograd/grad_check.hpp>
#include <hwnas/core/rng.hpp>
#include <hwnas/latency/additive.hpp>
#include <hwnas/latency/metrics.hpp>
#include <hwnas/latency/mlp.hpp>
#include <hwnas/latency/residual.hpp>
#include <hwnas/ops/reduce.hpp>

namespace test_mlp {

using namespace hwnas;

namespace {

constexpr std::size_t positions = 6;
constexpr int ops = 4;

// An additive table plus an interaction: +3 (about a third of the mean cost) when
// positions 0 and 1 hold the same op (the kind of effect a table cannot hold).
struct synthetic_table {
    std::vector<std::vector<double>> table;
    one_hot_layout layout{std::vector<int>(positions, ops)};

    explicit synthetic_table(rng& gen) : table(positions, std::vector<double>(ops)) {
        for (auto& row : table)
            for (auto& c : row) c = 1.0 + gen.uniform();
    }
    double cost(const std::vector<int>& a) const {
        double c = 2.0;
        for (std::size_t p = 0; p < a.size(); ++p) c += table[p][static_cast<std::size_t>(a[p])];
        return c + (a[0] == a[1] ? 3.0 : 0.0);
    }
    void sample(rng& gen, std::size_t n, tensor& x, std::vector<double>& y) const {
        std::vector<std::vector<int>> archs(n, std::vector<int>(positions));
        y.clear();
        for (auto& a : archs) {
            for (auto& op : a) op = static_cast<int>(gen.below(ops));
            y.push_back(cost(a));
        }
        x = layout.encode(archs);
    }
};

mlp_options small_mlp(mlp_loss loss = mlp_loss::log_mse) {
    mlp_options o;
    o.hidden = {32, 32};
    o.epochs = 100;
    o.batch_size = 32;
    o.lr = 3e-3f;
    o.loss = loss;
    o.weight_decay = 0.1f;
    o.seed = 5;
    return o;
}

}  // namespace

TEST_CASE("mlp and residual predictors learn an interaction the additive table cannot") {
    rng gen(2);
    const synthetic_table t(gen);
    tensor x_train, x_test;
    std::vector<double> y_train, y_test;
    t.sample(gen, 300, x_train, y_train);
    t.sample(gen, 200, x_test, y_test);

    additive_predictor additive;
    additive.fit(x_train, y_train);
    const double additive_mape = mape(y_test, additive.predict(x_test));
    CHECK(additive_mape > 5.0);

    for (mlp_loss loss : {mlp_loss::log_mse, mlp_loss::relative_mse}) {
        CAPTURE(static_cast<int>(loss));
        mlp_predictor mlp(small_mlp(loss));
        mlp.fit(x_train, y_train);
        CHECK(mape(y_test, mlp.predict(x_test)) < 0.25 * additive_mape);
    }
    residual_options ro;
    ro.mlp = small_mlp(mlp_loss::relative_mse);
    residual_predictor residual(ro);
    residual.fit(x_train, y_train);
    CHECK(mape(y_test, residual.predict(x_test)) < 0.25 * additive_mape);
    CHECK_FALSE(std::isnan(residual.chosen_weight_decay()));  // the validation split chose a net
}

TEST_CASE("residual predictor keeps its table alone when there is nothing more to learn") {
    rng gen(3);
    const synthetic_table t(gen);
    tensor x, x_test;
    std::vector<double> y, y_test;
    t.sample(gen, 200, x, y);
    t.sample(gen, 100, x_test, y_test);
    // Remove the interaction: the table is the whole truth.
    additive_predictor exact;
    exact.fit(x, y);
    y = exact.predict(x);
    residual_options ro;
    ro.mlp = small_mlp(mlp_loss::relative_mse);
    residual_predictor residual(ro);
    residual.fit(x, y);
    CHECK(std::isnan(residual.chosen_weight_decay()));
    CHECK(mape(exact.predict(x_test), residual.predict(x_test)) < 1e-3);
}

TEST_CASE("mlp fits are deterministic for a seed") {
    rng gen(4);
    const synthetic_table t(gen);
    tensor x;
    std::vector<double> y;
    t.sample(gen, 64, x, y);
    mlp_options o = small_mlp();
    o.epochs = 3;
    mlp_predictor a(o), b(o);
    a.fit(x, y);
    b.fit(x, y);
    CHECK(a.predict(x) == b.predict(x));
    o.seed = 6;
    mlp_predictor c(o);
    c.fit(x, y);
    CHECK(c.predict(x) != a.predict(x));
}

TEST_CASE("learned predictors on a soft encoding: same value as on a one-hot row and a correct gradient") {
    rng gen(7);
    const synthetic_table t(gen);
    tensor x;
    std::vector<double> y;
    t.sample(gen, 64, x, y);
    mlp_options o = small_mlp();
    o.epochs = 5;
    mlp_predictor mlp(o);
    residual_options ro;
    ro.mlp = o;
    ro.weight_decays = {1.0f};  // a net even if the table alone validated better
    ro.table_only = false;
    residual_predictor residual(ro);
    for (latency_predictor* p : std::vector<latency_predictor*>{&mlp, &residual}) {
        CAPTURE(p->name());
        p->fit(x, y);
        const tensor row = tensor::from({1, x.dim(1)}, std::span<const float>(x.data(), static_cast<std::size_t>(x.dim(1))));
        CHECK(p->predict(var(row)).value()[0] == doctest::Approx(p->predict(row)[0]).epsilon(1e-5));

        // softmax-like rows: positive weights summing to one per position
        tensor soft = tensor::uninitialized({2, x.dim(1)});
        for (index_t r = 0; r < 2; ++r)
            for (std::size_t pos = 0; pos < positions; ++pos) {
                float s = 0;
                float w[ops];
                for (auto& v : w) s += (v = 0.2f + gen.uniform());
                for (int k = 0; k < ops; ++k) soft[r * x.dim(1) + static_cast<index_t>(pos) * ops + k] = w[k] / s;
            }
        const auto result = grad_check([&](std::span<const var> in) { return p->predict(in[0]); }, {soft});
        CHECK_MESSAGE(result.ok, result.message);
        var enc(soft, true);
        sum(p->predict(enc)).backward();
        CHECK(enc.grad().defined());
    }
}

TEST_CASE("mlp option errors") {
    mlp_options o;
    o.epochs = 0;
    CHECK_THROWS_WITH_AS(mlp_predictor{o}, "mlp: 0 epochs with batch size 64, expected both >= 1", config_error);
    o = {};
    o.hidden = {8, 0};
    CHECK_THROWS_WITH_AS(mlp_predictor{o}, "mlp: a hidden layer of width 0, expected >= 1", config_error);
    o = {};
    o.min_lr = 1.0f;
    CHECK_THROWS_WITH_AS(mlp_predictor{o},
                         "mlp: lr 0.001, min_lr 1, weight decay 3: expected 0 <= min_lr <= lr, lr > 0, weight "
                         "decay >= 0",
                         config_error);
    o = {};
    o.huber_delta = -1;
    CHECK_THROWS_WITH_AS(mlp_predictor{o}, "mlp: huber delta -1, expected >= 0", config_error);
    residual_options zero_scale;
    zero_scale.scale = 0;
    CHECK_THROWS_WITH_AS(residual_predictor{zero_scale}, "residual_predictor: scale 0, expected > 0", config_error);
    residual_options all_validation;
    all_validation.validation_share = 1;
    CHECK_THROWS_WITH_AS(residual_predictor{all_validation},
                         "residual_predictor: validation share 1, expected 0 < share < 1", config_error);
    residual_predictor tiny;
    CHECK_THROWS_WITH_AS(tiny.fit(tensor::ones({5, 2}), std::vector<double>(5, 1.0)),
                         "residual_predictor: 5 training rows are too few to hold out a validation share of 0.2",
                         config_error);
}

}  // namespace test_mlp
