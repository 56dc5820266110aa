#include <doctest/doctest.h>

#include <limits>

#include <hwnas/autograd/backward.hpp>
#include <hwnas/nn/optimizer.hpp>
#include <hwnas/ops/elementwise.hpp>
#include <hwnas/ops/reduce.hpp>

namespace test_optimizer {

using namespace hwnas;

namespace {
var param(std::initializer_list<float> v) { return var(tensor::from({static_cast<index_t>(v.size())}, v), true); }
void set_grad(var& p, std::initializer_list<float> g) { p.grad() = tensor::from(p.shape(), g); }
}  // namespace

TEST_CASE("sgd with momentum and weight decay matches hand-computed updates") {
    var p = param({1.0f, -2.0f});
    sgd opt({p}, {.lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f});
    set_grad(p, {0.5f, 0.0f});
    opt.step();
    // d = 0.5 + 0.01 * 1 = 0.51, buffer = 0.51, p = 1 - 0.1 * 0.51
    CHECK(p.value()[0] == doctest::Approx(0.949));
    CHECK(p.value()[1] == doctest::Approx(-2.0 + 0.1 * 0.02));  // decay alone pulls toward 0
    opt.step();  // same gradient: d = 0.5 + 0.01 * 0.949, buffer = 0.9 * 0.51 + d
    CHECK(p.value()[0] == doctest::Approx(0.949 - 0.1 * (0.9 * 0.51 + 0.50949)));
    CHECK(opt.update_counts()[0] == 2);
    CHECK(opt.state_tensors().size() == 1);
    CHECK(opt.state_tensors()[0].name == "momentum.0");
    CHECK(opt.state_tensors()[0].value[0] == doctest::Approx(0.9 * 0.51 + 0.50949));
}

TEST_CASE("sgd plain and Nesterov") {
    var p = param({1.0f});
    sgd plain({p}, {.lr = 0.5f});
    set_grad(p, {0.2f});
    plain.step();
    CHECK(p.value()[0] == doctest::Approx(0.9));
    CHECK(plain.state_tensors().empty());

    var q = param({1.0f});
    sgd nesterov({q}, {.lr = 0.1f, .momentum = 0.9f, .nesterov = true});
    set_grad(q, {0.5f});
    nesterov.step();  // buffer = 0.5, step = 0.5 + 0.9 * 0.5
    CHECK(q.value()[0] == doctest::Approx(1.0 - 0.1 * 0.95));
    nesterov.step();  // buffer = 0.95, step = 0.5 + 0.9 * 0.95
    CHECK(q.value()[0] == doctest::Approx(1.0 - 0.095 - 0.1 * 1.355));
}

TEST_CASE("adam matches hand-computed updates") {
    var p = param({1.0f});
    adam opt({p}, {.lr = 0.1f});
    set_grad(p, {0.5f});
    opt.step();
    CHECK(p.value()[0] == doctest::Approx(0.9).epsilon(1e-6));
    set_grad(p, {-0.25f});
    opt.step();
    CHECK(p.value()[0] == doctest::Approx(0.8733662987).epsilon(1e-6));
    const auto st = opt.state_tensors();
    REQUIRE(st.size() == 2);
    CHECK(st[0].name == "exp_avg.0");
    CHECK(st[1].name == "exp_avg_sq.0");
    CHECK(st[0].value[0] == doctest::Approx(0.02));
    CHECK(st[1].value[0] == doctest::Approx(0.00031225));
}

TEST_CASE("adam couples weight decay into the gradient and adamw decouples it") {
    var a = param({1.0f}), w = param({1.0f});
    adam l2({a}, {.lr = 0.1f, .weight_decay = 0.1f});
    adamw decoupled({w}, {.lr = 0.1f, .weight_decay = 0.1f});
    for (float g : {0.5f, -0.25f}) {
        set_grad(a, {g});
        set_grad(w, {g});
        l2.step();
        decoupled.step();
    }
    CHECK(a.value()[0] == doctest::Approx(0.8544413675).epsilon(1e-6));
    CHECK(w.value()[0] == doctest::Approx(0.8544662987).epsilon(1e-6));
}

TEST_CASE("parameters without a gradient or frozen are skipped") {
    var used = param({1.0f}), unused = param({2.0f}), frozen = param({3.0f});
    adam opt({used, unused, frozen}, {.lr = 0.1f});
    set_grad(used, {1.0f});
    set_grad(frozen, {1.0f});  // a stale gradient from before it was frozen
    frozen.set_requires_grad(false);
    opt.step();
    CHECK(used.value()[0] == doctest::Approx(0.9));
    CHECK(unused.value()[0] == 2.0f);
    CHECK(frozen.value()[0] == 3.0f);
    CHECK(opt.update_counts() == std::vector<std::int64_t>{1, 0, 0});
    opt.zero_grad();
    CHECK_FALSE(used.grad().defined());
}

TEST_CASE("updates record no graph and train through autograd") {
    var p = param({3.0f});
    sgd opt({p}, {.lr = 0.25f});
    for (int i = 0; i < 20; ++i) {  // minimize p^2
        opt.zero_grad();
        sum(mul(p, p)).backward();
        opt.step();
        CHECK(p.is_leaf());
    }
    CHECK(std::abs(p.value()[0]) < 1e-5f);  // each step halves p
}

TEST_CASE("optimizer arguments are validated") {
    var p = param({1.0f});
    p.set_name("fc.weight");
    CHECK_THROWS_WITH_AS(sgd({}, {}), "sgd: the parameter list is empty", config_error);
    CHECK_THROWS_WITH_AS(sgd({p, var()}, {}), "sgd: parameter 1 is an empty var", config_error);
    CHECK_THROWS_WITH_AS(sgd({p, p}, {}), "sgd: parameter 1 (fc.weight) appears twice in the parameter list",
                         config_error);
    var h = mul(p, p);
    CHECK_THROWS_WITH_AS(adam({h}, {}),
                         "adam: parameter 0 is not a leaf (it is an op result); optimizers update leaves only",
                         config_error);
    CHECK_THROWS_WITH_AS(sgd({p}, {.momentum = 1.0f}), "sgd: momentum 1 is out of range, expected [0, 1)",
                         config_error);
    CHECK_THROWS_WITH_AS(sgd({p}, {.weight_decay = -1.0f}), "sgd: weight decay -1 is negative", config_error);
    CHECK_THROWS_WITH_AS(sgd({p}, {.nesterov = true}), "sgd: Nesterov momentum needs momentum > 0", config_error);
    CHECK_THROWS_WITH_AS(sgd({p}, {.lr = -0.1f}), "sgd: learning rate -0.1 is invalid, expected a finite value >= 0",
                         config_error);
    CHECK_THROWS_WITH_AS(adam({p}, {.beta1 = 1.0f}), "adam: betas (1, 0.999) are out of range, expected [0, 1)",
                         config_error);
    CHECK_THROWS_WITH_AS(adamw({p}, {.eps = 0.0f}), "adamw: eps 0 must be positive", config_error);
    CHECK_THROWS_WITH_AS(adamw({p}, {.weight_decay = -0.5f}), "adamw: weight decay -0.5 is negative", config_error);
    adam opt({p}, {});
    CHECK_THROWS_WITH_AS(opt.set_update_counts({1, 2}), "adam: 2 update counts given for 1 parameters", config_error);
    CHECK_THROWS_WITH_AS(opt.set_update_counts({-1}), "adam: update count -1 is negative", config_error);
    opt.set_lr(0.5f);
    CHECK(opt.lr() == 0.5f);
}

TEST_CASE("clip_grad_norm scales gradients to the maximum norm") {
    var a = param({3.0f}), b = param({0.0f}), none = param({1.0f});
    set_grad(a, {3.0f});
    set_grad(b, {4.0f});
    const std::vector<var> ps{a, b, none};
    CHECK(clip_grad_norm(ps, 10.0) == doctest::Approx(5.0));
    CHECK(a.grad()[0] == 3.0f);  // below the maximum: unchanged
    CHECK(clip_grad_norm(ps, 1.0) == doctest::Approx(5.0));
    CHECK(a.grad()[0] == doctest::Approx(0.6));
    CHECK(b.grad()[0] == doctest::Approx(0.8));
    CHECK(clip_grad_norm(ps, 1.0) == doctest::Approx(1.0));
    CHECK_THROWS_WITH_AS(clip_grad_norm(ps, 0.0), "clip_grad_norm: max_norm 0 must be positive", config_error);
}

TEST_CASE("clip_grad_norm rejects a non-finite norm") {
    var a = param({1.0f}), b = param({1.0f, 2.0f});
    b.set_name("head.bias");
    set_grad(a, {1.0f});
    set_grad(b, {1.0f, std::numeric_limits<float>::quiet_NaN()});
    CHECK_THROWS_WITH_AS(clip_grad_norm({a, b}, 1.0),
                         "clip_grad_norm: the gradient norm is nan (not finite); the first non-finite gradient is "
                         "that of parameter 1 (head.bias)",
                         numeric_error);
    set_grad(a, {std::numeric_limits<float>::infinity()});
    set_grad(b, {1.0f, 2.0f});
    CHECK_THROWS_WITH_AS(clip_grad_norm({a, b}, 1.0),
                         "clip_grad_norm: the gradient norm is inf (not finite); the first non-finite gradient is "
                         "that of parameter 0",
                         numeric_error);
}

}  // namespace test_optimizer
