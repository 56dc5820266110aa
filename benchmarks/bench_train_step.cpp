// One full training step (zero grad, forward, loss, backward, optimizer step)
// at batch 64 for exactly the four workloads of shared/bench/torch_reference.py,
// at 1 and 2 threads. Counters: images/s, and GFLOP/s with the reference's
// FLOP convention (2 per MAC of convolutions and linear layers, training =
// 3x forward, minus the stem's input gradient in (d)).
#include <algorithm>
#include <chrono>
#include <vector>

#include <benchmark/benchmark.h>

#include <hwnas/gram.hpp>
#include <hwnas/nn/layers.hpp>
#include <hwnas/nn/mbconv.hpp>
#include <hwnas/nn/optimizer.hpp>
#include <hwnas/nn/sequential.hpp>

namespace {

using namespace hwnas;
constexpr index_t batch = 64;

tensor random_tensor(const shape& s, rng& g) {
    tensor t = tensor::uninitialized(s);
    for (float& v : t) v = g.normal();
    return t;
}

// (c) one application of a depthwise-separable conv: relu, dw kxk, pw 1x1, BN.
class sep_conv : public module {
public:
    sep_conv(index_t c, index_t k, rng& g) {
        dw_ = register_parameter("dw", random_tensor({k, k, 1, c}, g));
        pw_ = register_module("pw", std::make_shared<conv_bn_act>(c, c, 1, g, conv_bn_act_options{.act = activation::none}));
        k_ = k;
        c_ = c;
    }
    var forward(const var& x) override {
        return pw_->forward(conv2d(relu(x), dw_, var(), {.padding = k_ / 2, .groups = c_}));
    }
    std::string type_name() const override { return "sep_conv"; }
    double macs(const shape& in) const override {
        return static_cast<double>(in[0] * in[1] * in[2] * c_ * k_ * k_) + pw_->macs(in);
    }

private:
    var dw_;
    std::shared_ptr<conv_bn_act> pw_;
    index_t k_, c_;
};

class relu_conv_bn : public module {
public:
    relu_conv_bn(index_t c, rng& g)
        : conv_(register_module("conv", std::make_shared<conv_bn_act>(c, c, 3, g,
                                                                      conv_bn_act_options{.act = activation::none}))) {}
    var forward(const var& x) override { return conv_->forward(relu(x)); }
    std::string type_name() const override { return "relu_conv_bn"; }
    double macs(const shape& in) const override { return conv_->macs(in); }

private:
    std::shared_ptr<conv_bn_act> conv_;
};

// (c) softmax(alpha)-weighted sum of five candidates.
class darts_mixed_op : public module {
public:
    darts_mixed_op(index_t c, rng& g) {
        conv_ = register_module("conv", std::make_shared<relu_conv_bn>(c, g));
        sep_ = register_module("sep", std::make_shared<sep_conv>(c, 5, g));
        tensor a = random_tensor({5}, g);
        for (float& v : a) v *= 1e-3f;
        alpha_ = register_parameter("alpha", a, std::string(arch_group));
    }
    var forward(const var& x) override {
        return weighted_sum({conv_->forward(x), sep_->forward(x), max_pool2d(x, 3, 1, 1), avg_pool2d(x, 3, 1, 1, false), x},
                            softmax(alpha_));
    }
    std::string type_name() const override { return "darts_mixed_op"; }
    double macs(const shape& in) const override { return conv_->macs(in) + sep_->macs(in); }

private:
    std::shared_ptr<relu_conv_bn> conv_;
    std::shared_ptr<sep_conv> sep_;
    var alpha_;
};

// (d) FBNet skip: identity, or 1x1 conv (stride s) + BN when the shape changes.
std::shared_ptr<module> fbnet_skip(index_t cin, index_t cout, index_t stride, rng& g) {
    auto s = std::make_shared<sequential>();
    if (cin != cout || stride != 1)
        s->add(std::make_shared<conv_bn_act>(cin, cout, 1, g,
                                             conv_bn_act_options{.stride = stride, .act = activation::none}));
    return s;
}

class fbnet_supernet : public module {
public:
    explicit fbnet_supernet(rng& g) {
        stem_ = register_module("stem", std::make_shared<conv_bn_act>(1, 16, 3, g));
        const index_t chans[] = {16, 16, 24, 24, 32, 32}, strides[] = {1, 1, 2, 1, 2, 1};
        const index_t cands[8][3] = {{3, 1, 1}, {3, 1, 2}, {3, 3, 1}, {3, 6, 1},
                                     {5, 1, 1}, {5, 1, 2}, {5, 3, 1}, {5, 6, 1}};
        index_t cin = 16;
        for (int l = 0; l < 6; ++l) {
            std::vector<std::shared_ptr<module>> ops;
            for (const auto& c : cands)
                ops.push_back(register_module(
                    fmt::format("layer{}_op{}", l, ops.size()),
                    std::make_shared<mbconv>(cin, chans[l], g,
                                             mbconv_options{.kernel = c[0], .expansion = c[1], .stride = strides[l],
                                                            .groups = c[2], .act = activation::relu6})));
            ops.push_back(register_module(fmt::format("layer{}_skip", l), fbnet_skip(cin, chans[l], strides[l], g)));
            layers_.push_back(std::move(ops));
            tensor a = random_tensor({9}, g);
            for (float& v : a) v *= 1e-3f;
            alphas_.push_back(register_parameter(fmt::format("alpha{}", l), a, std::string(arch_group)));
            cin = chans[l];
        }
        fc_ = register_module("fc", std::make_shared<linear_layer>(cin, 10, g));
    }
    var forward(const var& x) override {
        var h = stem_->forward(x);
        for (std::size_t l = 0; l < layers_.size(); ++l) {
            std::vector<var> outs;
            for (auto& op : layers_[l]) outs.push_back(op->forward(h));
            h = weighted_sum(outs, softmax(alphas_[l]));
        }
        return fc_->forward(global_avg_pool(h));
    }
    std::string type_name() const override { return "fbnet_supernet"; }
    double macs(const shape& in) const override {
        double m = stem_->macs(in);
        shape s = stem_->output_shape(in);
        for (auto& ops : layers_) {
            for (auto& op : ops) m += op->macs(s);
            s = ops.front()->output_shape(s);
        }
        return m + static_cast<double>(in[0] * s[3] * 10);
    }
    double stem_macs(const shape& in) const { return stem_->macs(in); }

private:
    std::shared_ptr<conv_bn_act> stem_;
    std::vector<std::vector<std::shared_ptr<module>>> layers_;
    std::vector<var> alphas_;
    std::shared_ptr<linear_layer> fc_;
};

class conv_only : public module {
public:
    explicit conv_only(rng& g) {
        w_ = register_parameter("weight", random_tensor({3, 3, 32, 32}, g));
        b_ = register_parameter("bias", tensor::zeros({32}));
    }
    var forward(const var& x) override { return conv2d(x, w_, b_, {.padding = 1}); }
    std::string type_name() const override { return "conv_only"; }
    double macs(const shape& in) const override { return static_cast<double>(in[0] * in[1] * in[2]) * 9 * 32 * 32; }

private:
    var w_, b_;
};

// Times training steps of model on x; loss = mean(output) or cross-entropy on labels.
void run_steps(benchmark::State& state, module& model, const tensor& x, bool input_grad, bool classify,
               double train_flops) {
    set_num_threads(static_cast<int>(state.range(0)));
    // As the reference: (a)-(c) SGD on every parameter; (d) SGD on weights, Adam on the alphas.
    std::vector<std::unique_ptr<optimizer>> opts;
    if (classify) {
        opts.push_back(std::make_unique<sgd>(model.parameters(weights_group), sgd_options{.lr = 0.01f, .momentum = 0.9f}));
        opts.push_back(std::make_unique<adam>(model.parameters(arch_group), adam_options{.lr = 3e-4f}));
    } else {
        opts.push_back(std::make_unique<sgd>(model.parameters(), sgd_options{.lr = 0.01f, .momentum = 0.9f}));
    }
    std::vector<std::int32_t> labels(static_cast<std::size_t>(batch));
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int32_t>(i % 10);
    model.train();
    auto step = [&] {
        var in(x, input_grad);
        model.zero_grad();
        var out = model.forward(in);
        var loss = classify ? cross_entropy(out, labels) : mean(out);
        loss.backward();
        for (auto& o : opts) o->step();
        benchmark::DoNotOptimize(loss.value().data());
    };
    // As the reference: 5 untimed steps (the first one pays for every
    // allocation and page fault), then the median of the timed steps.
    for (int i = 0; i < 5; ++i) step();
    std::vector<double> ms;
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        step();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    state.counters["step_median_ms"] = ms[ms.size() / 2];
    state.counters["img/s"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["GFLOP/s"] =
        benchmark::Counter(train_flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void train_step_a_conv3x3(benchmark::State& state) {
    rng g(0);
    conv_only m(g);
    const tensor x = random_tensor({batch, 28, 28, 32}, g);
    run_steps(state, m, x, true, false, 3 * 2 * m.macs(x.shape()));
}
void train_step_b_mbv2_block(benchmark::State& state) {
    rng g(0);
    mbconv m(16, 16, g, {.kernel = 3, .expansion = 6, .act = activation::relu6});
    const tensor x = random_tensor({batch, 28, 28, 16}, g);
    run_steps(state, m, x, true, false, 3 * 2 * m.macs(x.shape()));
}
void train_step_c_darts_mixed_op(benchmark::State& state) {
    rng g(0);
    darts_mixed_op m(16, g);
    const tensor x = random_tensor({batch, 28, 28, 16}, g);
    run_steps(state, m, x, true, false, 3 * 2 * m.macs(x.shape()));
}
void train_step_d_fbnet_supernet(benchmark::State& state) {
    rng g(0);
    fbnet_supernet m(g);
    const tensor x = random_tensor({batch, 28, 28, 1}, g);
    run_steps(state, m, x, false, true, 2 * (3 * m.macs(x.shape()) - m.stem_macs(x.shape())));
}

}  // namespace

BENCHMARK(train_step_a_conv3x3)->Arg(1)->Arg(2)->ArgName("threads")->Iterations(25)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(train_step_b_mbv2_block)->Arg(1)->Arg(2)->ArgName("threads")->Iterations(25)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(train_step_c_darts_mixed_op)->Arg(1)->Arg(2)->ArgName("threads")->Iterations(25)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(train_step_d_fbnet_supernet)->Arg(1)->Arg(2)->ArgName("threads")->Iterations(25)->Unit(benchmark::kMillisecond)->UseRealTime();
