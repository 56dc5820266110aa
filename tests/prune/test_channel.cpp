#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <vector>

#include <hwnas/prune/channel.hpp>
#include <hwnas/space/cost.hpp>
#include <hwnas/space/dag_space.hpp>

using namespace hwnas;

namespace test_prune_channel {

// Stem 8, stage 1: 2 nodes at width 8, stage 2: 2 nodes at width 12 (stride 2), head 16, 3 classes.
inline search_space tiny_channel_space() {
    const op_spec t{"mbconv_k3_e2", "mbconv", {3, 2, 1}};
    return dag_space({"tiny_dag", {8, 8, 1}, conv3x3_stem(8, 1), {{2, 8, 1, t}, {2, 12, 2, t}},
                      {{"dw3x3", "dw", {3}}, {"conv1x1", "conv_bn_relu", {1}}, {"mbconv_k3_e3", "mbconv", {3, 3, 1}}},
                      {op_spec{"conv1x1", "conv_bn_relu", {1}}, 16, 3}});
}

// Stage 1: node 1 mbconv -> node 2 dw3x3 plus 0->2; stage 2: nodes 1 (mbconv) and 2 (conv1x1) in parallel.
inline architecture tiny_channel_arch() { return {{2, 0, 2, 1}, {1, 1, 1, 1, 1, 0}}; }

// A "trained" network: random BN scales, shifts and running statistics, so every channel differs.
inline std::shared_ptr<derived_network> pc_trained_net(std::uint64_t seed) {
    rng gen(seed);
    auto net = derive_network(tiny_channel_space(), tiny_channel_arch(), gen);
    for (auto& p : net->named_parameters()) {
        if (p.name.ends_with("gamma"))
            for (float& v : p.param.value()) v = gen.uniform(-1.5f, 1.5f);
        if (p.name.ends_with("beta"))
            for (float& v : p.param.value()) v = gen.normal(0.0f, 0.1f);
    }
    for (auto& b : net->named_buffers()) {
        if (b.name.ends_with("running_mean"))
            for (float& v : b.value) v = gen.normal(0.0f, 0.2f);
        if (b.name.ends_with("running_var"))
            for (float& v : b.value) v = gen.uniform(0.5f, 1.5f);
    }
    net->eval();
    return net;
}

inline var pc_input(std::uint64_t seed) {
    rng gen(seed);
    tensor x = tensor::uninitialized({2, 8, 8, 1});
    for (float& v : x) v = gen.normal();
    return var(std::move(x));
}

inline int pc_node(const search_space& s, const char* name) {
    const int i = s.find_node(name);
    REQUIRE(i >= 0);
    return i;
}

}  // namespace test_prune_channel
using namespace test_prune_channel;

TEST_CASE("largest_channels keeps the largest magnitudes in channel order") {
    const std::vector<float> m{0.1f, 3.0f, 2.0f, 3.0f, 0.5f};
    CHECK(largest_channels(m, 3) == std::vector<index_t>{1, 2, 3});
    CHECK(largest_channels(m, 1) == std::vector<index_t>{1});  // tie: the lower index
    CHECK(largest_channels(m, 5) == std::vector<index_t>{0, 1, 2, 3, 4});
    CHECK_THROWS_WITH_AS(largest_channels(m, 0), "largest_channels: keep 0 of 5 channels, expected 1..5", config_error);
    CHECK(kept_channel_count(24, 0.5) == 12);
    CHECK(kept_channel_count(3, 0.1) == 1);
    CHECK(kept_channel_count(5, 0.5) == 3);
    CHECK_THROWS_WITH_AS(kept_channel_count(5, 0.0), "kept_channel_count: keep ratio 0, expected in (0, 1]",
                         config_error);

    rng gen(1);
    conv_bn_act c(2, 3, 1, gen);
    const tensor g = tensor::from({3}, {-2.0f, 0.5f, 1.0f}), w = tensor::from({1, 1, 2, 3}, {1, -2, 3, -4, 5, -6});
    std::copy(g.begin(), g.end(), var(c.gamma()).value().begin());
    std::copy(w.begin(), w.end(), var(c.weight()).value().begin());
    CHECK(channel_magnitudes(c, channel_score::bn_gamma) == std::vector<float>{2.0f, 0.5f, 1.0f});
    CHECK(channel_magnitudes(c, channel_score::l1) == std::vector<float>{5.0f, 7.0f, 9.0f});
}

TEST_CASE("a derived network counts the MACs and parameters of its space's cost") {
    const auto net = pc_trained_net(3);
    const op_cost c = network_cost(net->space(), net->arch());
    CHECK(net->macs({1, 8, 8, 1}) == static_cast<double>(c.macs));
    CHECK(net->num_parameters() == c.params);
    CHECK(net->output_shape({2, 8, 8, 1}) == shape{2, 3});
    CHECK_THROWS_WITH_AS(net->edge_module(0, 0), "derived_network: node 0 input 0 is not an edge of this network",
                         config_error);
    // stage 2 edge 1->2 is off
    const int off = pc_node(net->space(), "stage 2 node 2 input");
    CHECK(net->space().node_at(off).inputs[1].gate == "stage 2 edge 1->2");
    CHECK_THROWS_WITH_AS(net->edge_module(off, 1),
                         fmt::format("derived_network: node {} input 1 is not an edge of this network", off).c_str(),
                         config_error);
}

TEST_CASE("prune_channels with keep ratio 1 computes exactly what the network computes") {
    const auto net = pc_trained_net(4);
    const auto same = prune_channels(*net, 1.0);
    CHECK_FALSE(same->is_training());
    const var x = pc_input(5);
    no_grad guard;
    const tensor a = net->forward(x).value(), b = same->forward(x).value();
    REQUIRE(a.shape() == b.shape());
    for (index_t i = 0; i < a.numel(); ++i) CHECK(a[i] == b[i]);
    CHECK(same->num_parameters() == net->num_parameters());
    // a copy, not shared weights
    CHECK_FALSE(same->parameters()[0].value().shares_storage(net->parameters()[0].value()));
}

TEST_CASE("prune_channels keeps the largest-magnitude hidden and head channels with their weights") {
    const auto net = pc_trained_net(6);
    const search_space& s = net->space();
    const int n1 = pc_node(s, "stage 1 node 1"), head = pc_node(s, "head"), cls = pc_node(s, "classifier");
    const auto& src = dynamic_cast<const mbconv&>(net->edge_module(n1, 0));
    const auto& src_head = dynamic_cast<const conv_bn_act&>(net->edge_module(head, 0));
    const auto& src_fc = dynamic_cast<const linear_layer&>(net->edge_module(cls, 0));
    for (const channel_score score : {channel_score::bn_gamma, channel_score::l1}) {
        const auto small = prune_channels(*net, 0.5, score);
        // stage 1 node 1: an mbconv_k3_e3 on 8 channels, 24 hidden -> 12
        const auto& dst = dynamic_cast<const mbconv&>(small->edge_module(n1, 0));
        const std::vector<float> mag = channel_magnitudes(src.expand(), score);
        const std::vector<index_t> kept = largest_channels(mag, 12);
        REQUIRE(dst.expand().gamma().shape() == shape{12});
        float smallest_kept = 1e30f, largest_dropped = 0;
        for (index_t c = 0; c < 24; ++c) {
            const bool k = std::find(kept.begin(), kept.end(), c) != kept.end();
            (k ? smallest_kept : largest_dropped) =
                k ? std::min(smallest_kept, mag[static_cast<std::size_t>(c)]) : std::max(largest_dropped, mag[static_cast<std::size_t>(c)]);
        }
        CHECK(smallest_kept >= largest_dropped);
        for (index_t j = 0; j < 12; ++j) {
            const index_t c = kept[static_cast<std::size_t>(j)];
            CHECK(dst.expand().gamma().value()[j] == src.expand().gamma().value()[c]);
            CHECK(dst.expand().running_var()[j] == src.expand().running_var()[c]);
            CHECK(dst.expand().weight().value().at({0, 0, 5, j}) == src.expand().weight().value().at({0, 0, 5, c}));
            CHECK(dst.dw().weight().value().at({2, 1, 0, j}) == src.dw().weight().value().at({2, 1, 0, c}));
            CHECK(dst.dw().beta().value()[j] == src.dw().beta().value()[c]);
            CHECK(dst.project().weight().value().at({0, 0, j, 7}) == src.project().weight().value().at({0, 0, c, 7}));
        }
        CHECK(dst.project().gamma().value()[3] == src.project().gamma().value()[3]);
        // the head keeps 8 of 16 channels; the classifier's rows follow
        const auto& dh = dynamic_cast<const conv_bn_act&>(small->edge_module(head, 0));
        const auto& dfc = dynamic_cast<const linear_layer&>(small->edge_module(cls, 0));
        const std::vector<index_t> hk = largest_channels(channel_magnitudes(src_head, score), 8);
        REQUIRE(dfc.weight().shape() == shape{8, 3});
        for (index_t j = 0; j < 8; ++j) {
            const index_t c = hk[static_cast<std::size_t>(j)];
            CHECK(dh.gamma().value()[j] == src_head.gamma().value()[c]);
            CHECK(dfc.weight().value().at({j, 2}) == src_fc.weight().value().at({c, 2}));
        }
        CHECK(dfc.bias().value()[1] == src_fc.bias().value()[1]);
    }
}

TEST_CASE("a channel-pruned network is smaller and its output stays finite") {
    const auto net = pc_trained_net(7);
    const auto small = prune_channels(*net, 0.4);
    const shape in{1, 8, 8, 1};
    CHECK(small->macs(in) < 0.7 * net->macs(in));
    CHECK(small->num_parameters() < net->num_parameters());
    // dw3x3 and conv1x1 node outputs and the stem are not pruned
    const int n2 = pc_node(net->space(), "stage 1 node 2");
    CHECK(small->edge_module(n2, 0).num_parameters() == net->edge_module(n2, 0).num_parameters());
    no_grad guard;
    const var y = small->forward(pc_input(8));
    CHECK(y.shape() == shape{2, 3});
    CHECK(y.value().all_finite());
    // the smallest keep ratio leaves one channel per pruned unit
    const auto tiny = prune_channels(*net, 0.01);
    CHECK(tiny->forward(pc_input(9)).value().all_finite());
    CHECK_THROWS_WITH_AS(prune_channels(*net, 1.5), "prune_channels: keep ratio 1.5, expected in (0, 1]", config_error);
}

TEST_CASE("prune_channels_to_budget picks the largest keep ratio meeting a MACs budget") {
    const auto net = pc_trained_net(10);
    const shape in{1, 8, 8, 1};
    const double full = net->macs(in);
    const auto macs = [&](derived_network& n) { return n.macs(in); };
    const channel_prune_result r = prune_channels_to_budget(*net, macs, 0.6 * full, {.min_keep = 0.1, .steps = 5});
    CHECK(r.search.met);
    CHECK(r.search.x < 1.0);
    CHECK(r.net->macs(in) == r.search.cost);
    CHECK(r.search.cost <= 0.6 * full);
    CHECK(r.search.trials.size() == 7);
    CHECK(prune_channels(*net, r.search.x + 0.9 / 32)->macs(in) > 0.6 * full);

    const channel_prune_result none = prune_channels_to_budget(*net, macs, 1.0);
    CHECK_FALSE(none.search.met);
    CHECK(none.search.x == 0.1);
    CHECK_THROWS_WITH_AS(prune_channels_to_budget(*net, macs, 1.0, {.min_keep = 0}),
                         "prune_channels_to_budget: min_keep 0, expected in (0, 1]", config_error);
}

TEST_CASE("mbconv takes an explicit hidden width") {
    rng gen(11);
    const mbconv m(8, 8, gen, {.kernel = 3, .expansion = 3, .hidden = 5});
    CHECK(m.expand().weight().shape() == shape{1, 1, 8, 5});
    CHECK(m.dw().weight().shape() == shape{3, 3, 1, 5});
    CHECK(m.project().weight().shape() == shape{1, 1, 5, 8});
    CHECK(m.has_residual());
    CHECK(mbconv(8, 8, gen, {.expansion = 3}).expand().weight().shape() == shape{1, 1, 8, 24});
    CHECK_THROWS_WITH_AS(mbconv(8, 8, gen, {.hidden = -1}),
                         "mbconv: hidden channels -1, expected >= 0 (0: expansion * input channels)", config_error);
}
