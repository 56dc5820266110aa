#include <doctest/doctest.h>

#include <memory>

#include <hwnas/autograd/backward.hpp>
#include <hwnas/nn/mbconv.hpp>
#include <hwnas/nn/optimizer.hpp>
#include <hwnas/nn/sequential.hpp>
#include <hwnas/ops/softmax.hpp>

namespace test_learning {

using namespace hwnas;

namespace {

// 8x8 images of horizontal (class 0) or vertical (class 1) stripes with a
// random phase and noise: separable by orientation, not by brightness.
struct stripes {
    static constexpr index_t n = 64, side = 8;
    tensor x = tensor::uninitialized({n, side, side, 1});
    std::vector<std::int32_t> labels;
    stripes() {
        rng g(21);
        for (index_t i = 0; i < n; ++i) {
            const auto label = static_cast<std::int32_t>(i % 2);
            const auto phase = static_cast<index_t>(g.below(2));
            labels.push_back(label);
            for (index_t r = 0; r < side; ++r)
                for (index_t c = 0; c < side; ++c) {
                    const index_t k = (label == 0 ? r : c) + phase;
                    x[(i * side + r) * side + c] = (k % 2 == 0 ? 1.0f : -1.0f) + g.normal(0.0f, 0.3f);
                }
        }
    }
};

double accuracy(const tensor& logits, const std::vector<std::int32_t>& labels) {
    index_t right = 0;
    for (index_t i = 0; i < logits.dim(0); ++i)
        right += (logits[i * 2 + 1] > logits[i * 2] ? 1 : 0) == labels[static_cast<std::size_t>(i)];
    return static_cast<double>(right) / static_cast<double>(logits.dim(0));
}

}  // namespace

TEST_CASE("a small conv net learns a separable two-class task") {
    const stripes data;
    rng g(3);
    sequential net(std::vector<std::shared_ptr<module>>{
        std::make_shared<conv_bn_act>(1, 8, 3, g), std::make_shared<mbconv>(8, 8, g, mbconv_options{.expansion = 2}),
        std::make_shared<classifier_head>(8, 2, g)});
    adam opt(net.parameters(), {.lr = 0.02f});
    const var x(data.x);
    {
        no_grad guard;
        net.eval();
        const double before = accuracy(net.forward(x).value(), data.labels);
        MESSAGE("accuracy before training: " << before);
        net.train();
    }
    double loss0 = 0, loss = 0;
    for (int step = 0; step < 30; ++step) {
        opt.zero_grad();
        var l = cross_entropy(net.forward(x), data.labels);
        l.backward();
        opt.step();
        loss = l.value().item();
        if (step == 0) loss0 = loss;
    }
    net.eval();
    no_grad guard;
    const double acc = accuracy(net.forward(x).value(), data.labels);
    MESSAGE("loss " << loss0 << " -> " << loss << ", training accuracy (eval mode) " << acc);
    CHECK(loss < 0.5 * loss0);
    CHECK(acc > 0.9);
}

}  // namespace test_learning
