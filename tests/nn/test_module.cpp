#include <doctest/doctest.h>

#include <memory>

#include <hwnas/autograd/backward.hpp>
#include <hwnas/nn/layers.hpp>
#include <hwnas/nn/sequential.hpp>
#include <hwnas/ops/activation.hpp>
#include <hwnas/ops/reduce.hpp>

namespace test_module {

using namespace hwnas;

namespace {

struct relu_module : module {
    var forward(const var& x) override { return relu(x); }
    std::string type_name() const override { return "relu_module"; }
    shape output_shape(const shape& in) const override { return in; }
    double macs(const shape&) const override { return 0; }
};

// A two-layer MLP in a sequential "blocks", an architecture parameter and a buffer.
struct toy : module {
    std::shared_ptr<sequential> blocks;
    var alpha;
    tensor* seen;
    explicit toy(rng& g) {
        blocks = register_module("blocks", std::make_shared<sequential>());
        blocks->add(std::make_shared<linear_layer>(4, 8, g));
        blocks->add(std::make_shared<relu_module>());
        blocks->add(std::make_unique<linear_layer>(8, 2, g, false));
        alpha = register_parameter("alpha", tensor::zeros({3}), std::string(arch_group));
        seen = &register_buffer("seen", tensor::zeros({1}));
    }
    var forward(const var& x) override {
        seen->at({0}) += 1;
        return blocks->forward(x);
    }
    std::string type_name() const override { return "toy"; }
};

std::vector<std::string> names_of(const std::vector<named_parameter>& ps) {
    std::vector<std::string> out;
    for (const auto& p : ps) out.push_back(p.name);
    return out;
}

}  // namespace

TEST_CASE("linear_layer forward shapes macs and init") {
    rng g(1);
    linear_layer fc(3, 2, g);
    var x(tensor::from({1, 3}, {1, 2, 3}));
    var y = fc(x);
    CHECK(y.shape() == shape{1, 2});
    const auto& w = fc.weight().value();
    const auto& b = fc.bias().value();
    CHECK(y.value()[1] == doctest::Approx(w[1] + 2 * w[3] + 3 * w[5] + b[1]));
    for (float v : w) CHECK(std::abs(v) < 1 / std::sqrt(3.0f));
    CHECK(fc.num_parameters() == 8);
    CHECK(fc.macs({5, 3}) == 30);
    CHECK(fc.output_shape({5, 3}) == shape{5, 2});
    CHECK_THROWS_WITH_AS(fc.output_shape({5, 4}), "linear_layer: input has shape [5,4], expected [N,3]", shape_error);
    CHECK_THROWS_WITH_AS(linear_layer(0, 2, g),
                         "linear_layer: got 0 input and 2 output features, expected at least 1 each", config_error);
    linear_layer no_bias(3, 2, g, false);
    CHECK(no_bias.num_parameters() == 6);
    CHECK_FALSE(no_bias.bias().defined());
}

TEST_CASE("hierarchical parameter and buffer names") {
    rng g(2);
    toy m(g);
    const auto ps = m.named_parameters();
    CHECK(names_of(ps) ==
          std::vector<std::string>{"alpha", "blocks.0.weight", "blocks.0.bias", "blocks.2.weight"});
    // var names carry the full path too (autograd messages use them)
    CHECK(ps[1].param.name() == "blocks.0.weight");
    CHECK(ps[1].param.requires_grad());
    CHECK(ps[1].group == "weights");
    CHECK(ps[0].group == "arch");
    CHECK(m.num_parameters() == 3 + 4 * 8 + 8 + 8 * 2);
    CHECK(m.parameters().size() == 4);
    const auto bs = m.named_buffers();
    REQUIRE(bs.size() == 1);
    CHECK(bs[0].name == "seen");
    m.forward(var(tensor::zeros({1, 4})));
    CHECK(bs[0].value[0] == 1.0f);  // the listed handle shares the buffer
    CHECK(m.children().size() == 1);
    CHECK((*m.blocks)[1].type_name() == "relu_module");
    CHECK_THROWS_WITH_AS((*m.blocks)[3], "sequential: index 3 is out of range for 3 modules", config_error);
}

TEST_CASE("parameter groups can be listed and frozen") {
    rng g(3);
    toy m(g);
    CHECK(m.parameter_groups() == std::vector<std::string>{"arch", "weights"});
    CHECK(m.parameters("arch").size() == 1);
    CHECK(m.num_parameters("arch") == 3);
    CHECK(m.num_parameters("weights") == 56);
    m.set_requires_grad("weights", false);
    for (const auto& p : m.parameters("weights")) CHECK_FALSE(p.requires_grad());
    CHECK(m.alpha.requires_grad());
    m.set_requires_grad("weights", true);
    CHECK(m.parameters("weights")[0].requires_grad());
    m.set_parameter_group("blocks.2.weight", "arch");
    CHECK(m.num_parameters("arch") == 3 + 16);
    CHECK_THROWS_WITH_AS(m.set_requires_grad("archs", false),
                         "toy: no parameter is in group \"archs\" (groups: arch, weights)", config_error);
    CHECK_THROWS_WITH_AS(m.set_parameter_group("blocks.7.weight", "arch"),
                         "toy: there is no parameter named \"blocks.7.weight\"", config_error);
}

TEST_CASE("train and eval propagate to descendants") {
    rng g(4);
    toy m(g);
    CHECK(m.is_training());
    m.eval();
    CHECK_FALSE(m.blocks->is_training());
    CHECK_FALSE((*m.blocks)[0].is_training());
    m.train();
    CHECK((*m.blocks)[2].is_training());
    // a child registered into an evaluating parent follows its mode
    m.eval();
    m.blocks->add(std::make_shared<relu_module>());
    CHECK_FALSE((*m.blocks)[3].is_training());
}

TEST_CASE("zero_grad clears every gradient") {
    rng g(5);
    toy m(g);
    sum(m.forward(var(tensor::ones({2, 4})))).backward();
    CHECK(m.parameters("weights")[0].grad().defined());
    m.zero_grad();
    for (const auto& p : m.parameters()) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("sequential macs and output shape fold through the children") {
    rng g(6);
    toy m(g);
    CHECK(m.blocks->output_shape({10, 4}) == shape{10, 2});
    CHECK(m.blocks->macs({10, 4}) == 10 * (4 * 8 + 8 * 2));
    CHECK_THROWS_WITH_AS(m.macs({10, 4}), "toy: macs are not provided for this module (input [10,4])", config_error);
    CHECK_THROWS_WITH_AS(m.output_shape({10, 4}), "toy: output_shape is not provided for this module (input [10,4])",
                         config_error);
}

TEST_CASE("registration rejects bad and duplicate names") {
    rng g(7);
    toy m(g);
    CHECK_THROWS_WITH_AS(m.register_parameter("alpha", tensor::zeros({1})),
                         "toy: the name \"alpha\" is already registered", config_error);
    CHECK_THROWS_WITH_AS(m.register_buffer("blocks", tensor::zeros({1})),
                         "toy: the name \"blocks\" is already registered", config_error);
    CHECK_THROWS_WITH_AS(m.register_parameter("a.b", tensor::zeros({1})),
                         "toy: the name \"a.b\" contains '.', which separates hierarchy levels", config_error);
    CHECK_THROWS_WITH_AS(m.register_buffer("", tensor::zeros({1})),
                         "toy: a parameter, buffer or module name is empty", config_error);
    CHECK_THROWS_WITH_AS(m.register_module("x", std::shared_ptr<module>()), "toy: module \"x\" is null", config_error);
}

TEST_CASE("a shared parameter is listed once") {
    rng g(8);
    auto fc = std::make_shared<linear_layer>(2, 2, g);
    sequential s;
    s.add(fc).add(fc);  // the same module twice: weight tying
    CHECK(s.parameters().size() == 2);
    CHECK(s.num_parameters() == 6);
    CHECK(names_of(s.named_parameters()) == std::vector<std::string>{"0.weight", "0.bias"});
}

}  // namespace test_module
