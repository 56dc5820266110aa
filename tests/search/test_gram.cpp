#include <doctest/doctest.h>

#include <filesystem>

#include "stripes.hpp"
#include <hwnas/search/gram.hpp>
#include <hwnas/space/dag_space.hpp>

namespace test_gram {

using namespace hwnas;

const dataset& weight_split() {
    static const dataset d = test_support::stripes(256, 1);
    return d;
}
const dataset& arch_split() {
    static const dataset d = test_support::stripes(256, 2);
    return d;
}

// One stage of `nodes` DAG nodes at width 4 choosing conv1x1 (0) or dw3x3 (1).
search_space tiny_dag(int nodes) {
    const op_spec conv1x1{"conv1x1", "conv_bn_relu", {1}};
    return dag_space({"gram_tiny", {8, 8, 1}, {conv1x1, 4, 1}, {{nodes, 4, 1, conv1x1}},
                      {conv1x1, {"dw3x3", "dw", {3}}}, {std::nullopt, 0, 2}});
}

// conv1x1 is cheap, dw3x3 dear (ms, say).
cost_table tiny_cost(const search_space& s, double cheap = 1.0, double dear = 4.0) {
    return cost_table(std::vector<std::vector<double>>(s.choice_points().size(), {cheap, dear}), 1.0, "ms",
                      std::make_shared<const search_space>(s));
}

gram_options quick(std::int64_t epochs, float lambda = 0) {
    gram_options o = gram_defaults();
    o.epochs = epochs;
    o.batch_size = 32;
    o.seed = 5;
    o.w_lr = 0.05f;
    o.a_lr = 0.03f;
    o.latency_weight = lambda;
    return o;
}

// The op of every node the architecture keeps.
std::vector<int> live_ops(const search_space& s, const architecture& a) {
    const auto live = live_choice_points(s, a);
    std::vector<int> ops;
    for (std::size_t p = 0; p < live.size(); ++p)
        if (live[p]) ops.push_back(a.choices[p]);
    return ops;
}


TEST_CASE("gram derives dw3x3 at every live node when only dw3x3 can fit") {
    const search_space s = tiny_dag(2);
    supernet net(s, {.seed = 11});
    const cost_table cost = tiny_cost(s);
    gram_searcher g(net, weight_split(), arch_split(), &cost, quick(12));
    g.run();
    const architecture a = g.derived_architecture();
    CHECK(is_valid(s, a));
    const auto ops = live_ops(s, a);
    INFO("derived choices ", fmt::format("{}", fmt::join(a.choices, " ")), " edges ",
         fmt::format("{}", fmt::join(a.edges, "")), " p(dw3x3) ", net.probabilities(0)[1], " ",
         net.probabilities(1)[1]);
    REQUIRE(!ops.empty());
    for (int op : ops) CHECK(op == 1);
    CHECK(g.history().back().val_accuracy > 0.8);
    CHECK(g.gram_history().back().derived_cost == doctest::Approx(cost.of(a)));
    CHECK(g.log_csv().rfind("epoch,train_loss,train_accuracy,val_loss,val_accuracy,expected_cost,derived_cost,", 0) ==
          0);
}

TEST_CASE("a growing latency weight lowers the derived architecture's cost") {
    const search_space s = tiny_dag(2);
    const cost_table cost = tiny_cost(s);
    auto derived_cost = [&](float lambda) {
        supernet net(s, {.seed = 11});
        gram_searcher g(net, weight_split(), arch_split(), &cost, quick(8, lambda));
        g.run();
        return std::pair{cost.of(g.derived_architecture()), g.expected_cost()};
    };
    const auto [free_cost, free_expected] = derived_cost(0.0f);
    const auto [heavy_cost, heavy_expected] = derived_cost(1.0f);
    INFO("derived cost without latency term ", free_cost, ", with ", heavy_cost, "; E[LAT] ", free_expected, " vs ",
         heavy_expected);
    CHECK(heavy_cost < free_cost);
    CHECK(heavy_cost == doctest::Approx(2.0));  // one node running conv1x1
    CHECK(heavy_expected < free_expected);
}

TEST_CASE("with a budget the hinged latency term stops pushing at the budget") {
    const search_space s = tiny_dag(3);
    const cost_table cost = tiny_cost(s);
    // E[LAT] starts above it: 1 + (1/2 + 3/4 + 7/8) x 2.5 = 6.3 ms (p_uv = 1/2, uniform ops)
    const double budget = 5.0;
    auto expected_after = [&](bool hinge) {
        supernet net(s, {.seed = 11});
        gram_options o = quick(8, 1.0f);
        o.budget = budget;
        o.latency_hinge = hinge;
        gram_searcher g(net, weight_split(), arch_split(), &cost, o);
        const double start = g.expected_cost();
        double lowest = start;
        g.run({.stop_after = [&](std::int64_t) {
            lowest = std::min(lowest, g.expected_cost());
            return false;
        }});
        return std::tuple{start, lowest, g.expected_cost()};
    };
    const auto [start, plain_lowest, plain_end] = expected_after(false);
    const auto [hinge_start, hinge_lowest, hinge_end] = expected_after(true);
    INFO("E[LAT] from ", start, ": plain term ends at ", plain_end, " (lowest ", plain_lowest, "), hinged at ",
         hinge_end, " (lowest ", hinge_lowest, "), budget ", budget);
    REQUIRE(start > budget);
    CHECK(hinge_start == start);
    CHECK(plain_end < 0.7 * budget);  // the plain term goes on below the budget
    CHECK(hinge_lowest > 0.9 * budget);  // the hinge stops within about one Adam step of it
    CHECK(hinge_end < 1.1 * budget);     // and pushes back down from above it
    CHECK(hinge_end > plain_end);
}

TEST_CASE("with a budget every gibbs sample stays within it once inside") {
    const search_space s = tiny_dag(3);
    const cost_table cost = tiny_cost(s);
    supernet net(s, {.seed = 3});
    gram_options o = quick(3);
    o.budget = 3.0;  // inside: one or two live conv1x1 nodes; all three live cost at least 4 ms
    gram_searcher g(net, weight_split(), arch_split(), &cost, o);
    const double limit = (1 + o.slack) * o.budget;
    bool inside = false;
    int over_after_inside = 0, steps = 0;
    double first = 0;
    g.run({.stop_after = [&](std::int64_t step) {
        const double c = cost.of(g.sample());
        if (step == 1) first = c;
        if (c <= limit) inside = true;
        else if (inside) ++over_after_inside;
        ++steps;
        return false;
    }});
    INFO("first sample cost ", first, ", last ", cost.of(g.sample()));
    CHECK(first > limit);  // the test starts outside the budget
    CHECK(inside);
    CHECK(over_after_inside == 0);
    CHECK(steps == 24);
}

TEST_CASE("draw_samples continues the chain within the budget and leaves the search untouched") {
    const search_space s = tiny_dag(3);
    const cost_table cost = tiny_cost(s);
    supernet net(s, {.seed = 3});
    gram_options o = quick(1);
    o.budget = 3.0;
    gram_searcher g(net, weight_split(), arch_split(), &cost, o);
    g.run();
    REQUIRE(cost.of(g.sample()) <= (1 + o.slack) * o.budget);
    const architecture before = g.sample();
    rng a(9), b(9);
    const std::vector<architecture> first = g.draw_samples(40, a), again = g.draw_samples(40, b);
    CHECK(first == again);  // same generator state, same samples: nothing of the search moved
    CHECK(g.sample() == before);
    REQUIRE(first.size() > 1);
    for (std::size_t i = 0; i < first.size(); ++i) {
        CHECK(is_valid(s, first[i]));
        CHECK(without_dead_edges(s, first[i]) == first[i]);
        CHECK(cost.of(first[i]) <= (1 + o.slack) * o.budget);
        for (std::size_t k = 0; k < i; ++k) CHECK(first[k] != first[i]);
    }
    // Held to a lower budget, the chain walks into it and keeps only what lies within.
    double lowest = cost.of(first[0]);
    for (const architecture& x : first) lowest = std::min(lowest, cost.of(x));
    const double tighter = 0.5 * (lowest + o.budget);
    rng c(9);
    const std::vector<architecture> held = g.draw_samples(40, c, tighter);
    REQUIRE(!held.empty());
    for (const architecture& x : held) CHECK(cost.of(x) <= (1 + o.slack) * tighter);
    CHECK(g.sample() == before);
}

TEST_CASE("log_probability sums the edge terms and the ops of the live nodes") {
    const search_space s = tiny_dag(3);
    supernet net(s, {.seed = 3});
    gram_options o = quick(1);
    o.edge_logit_init = 1.0f;  // p_uv = sigmoid(1) on every edge
    gram_searcher g(net, weight_split(), arch_split(), nullptr, o);
    const double p = 1 / (1 + std::exp(-1.0));
    // Expected by hand: the edge terms, then log q_v[op] of the nodes x keeps live only.
    const auto expected = [&](const architecture& x, int want_live) {
        const auto on = static_cast<double>(std::count(x.edges.begin(), x.edges.end(), 1));
        double lp = on * std::log(p) + (static_cast<double>(x.edges.size()) - on) * std::log(1 - p);
        const std::vector<bool> live = live_choice_points(s, x);
        if (want_live >= 0) CHECK(std::count(live.begin(), live.end(), true) == want_live);
        for (std::size_t v = 0; v < live.size(); ++v)
            if (live[v]) lp += std::log(static_cast<double>(net.probabilities(v)[x.choices[v]]));
        return lp;
    };
    architecture all = net.argmax();
    all.edges.assign(s.gates().size(), 1);
    CHECK(g.log_probability(all) == doctest::Approx(expected(all, 3)).epsilon(1e-9));
    rng gen(4);
    int partly_dead = 0;
    for (const architecture& x : g.draw_samples(30, gen)) {
        const std::vector<bool> live = live_choice_points(s, x);
        partly_dead += std::count(live.begin(), live.end(), true) < 3;
        CHECK(g.log_probability(x) == doctest::Approx(expected(x, -1)).epsilon(1e-9));
    }
    CHECK(partly_dead > 0);  // the dead-node rule was exercised
    CHECK_THROWS_WITH_AS(g.log_probability(architecture{{0}, {}}), doctest::Contains("log_probability"), error);
}

TEST_CASE("importances equal the first-order saliency of one step with rho 1") {
    const search_space s = tiny_dag(3);
    supernet net(s, {.seed = 7});
    gram_options o = quick(1);
    o.importance_rho = 1;
    gram_searcher g(net, weight_split(), arch_split(), nullptr, o);
    loader wl(weight_split(), {.batch_size = 16, .shuffle = false});
    loader al(arch_split(), {.batch_size = 16, .shuffle = false});
    const data_batch wb = wl.batch(0), ab = al.batch(0);
    g.step(wb, ab);
    const architecture a = g.sample();
    const structure_importance m = g.importance();
    // dL/d eps at eps = 0 by central differences, eps scaling the tapped value
    // (a node's output h_v) or adding eps h_u to a node's input sum.
    auto saliency = [&](int scaled, int target, int source) {
        auto loss_at = [&](float eps) {
            std::vector<var> seen(s.nodes().size());
            net.set_node_hook([&](int i, var& v) {
                seen[static_cast<std::size_t>(i)] = v;
                if (i == scaled) v = scale(v, 1 + eps);
                if (i == target) v = add(v, scale(seen[static_cast<std::size_t>(source)], eps));
            });
            no_grad off;
            const double l = cross_entropy(net.forward(var(ab.images)), ab.labels).value().item();
            net.set_node_hook({});
            return l;
        };
        const float eps = 1e-2f;
        return std::abs(loss_at(eps) - loss_at(-eps)) / (2 * eps);
    };
    const auto live = live_choice_points(s, a);
    int checked_nodes = 0, checked_edges = 0;
    for (int v = 1; v <= 3; ++v) {
        const auto p = static_cast<std::size_t>(v - 1);
        if (!live[p]) {
            CHECK(m.nodes[p] == 0);
            continue;
        }
        const double fd = saliency(s.find_node(fmt::format("stage 1 node {}", v)), -1, -1);
        INFO("node ", v, ": importance ", m.nodes[p], ", finite differences ", fd);
        CHECK(m.nodes[p] == doctest::Approx(fd).epsilon(0.03).scale(1e-3));
        ++checked_nodes;
    }
    for (std::size_t e = 0; e < s.gates().size(); ++e) {
        const std::string& name = s.gates()[e].name;  // "stage 1 edge u->v"
        if (!a.edges[e]) {
            CHECK(m.edges[e] == 0);
            continue;
        }
        const int u = name[name.size() - 4] - '0', v = name.back() - '0';
        const double fd = saliency(-1, s.find_node(fmt::format("stage 1 node {} input", v)),
                                   s.find_node(fmt::format("stage 1 node {}", u)));
        INFO(name, ": importance ", m.edges[e], ", finite differences ", fd);
        CHECK(m.edges[e] == doctest::Approx(fd).epsilon(0.03).scale(1e-3));
        ++checked_edges;
    }
    CHECK(checked_nodes >= 1);
    CHECK(checked_edges >= 2);
    double total = 0;
    for (double x : m.nodes) total += x;
    CHECK(total > 1e-4);  // the comparison is not between zeros
}

TEST_CASE("a resumed gram search ends bit-identical to an uninterrupted one") {
    const search_space s = tiny_dag(3);
    const cost_table cost = tiny_cost(s);
    const auto path = std::filesystem::temp_directory_path() / "hwnas_test_gram_resume.ckpt";
    gram_options o = quick(3, 0.1f);
    o.budget = 7.0;
    supernet full(s, {.seed = 11});
    gram_searcher a(full, weight_split(), arch_split(), &cost, o);
    a.run();
    {
        supernet part(s, {.seed = 11});
        gram_searcher b(part, weight_split(), arch_split(), &cost, o);
        b.run({.stop_after = [](std::int64_t step) { return step == 11; }, .checkpoint = path});
        CHECK(!b.finished());
    }
    supernet resumed(s, {.seed = 99});  // a different init, overwritten by the checkpoint
    gram_searcher c(resumed, weight_split(), arch_split(), &cost, o);
    c.load_checkpoint(path);
    c.run();
    CHECK(c.finished());
    const auto pa = full.named_parameters(), pc = resumed.named_parameters();
    REQUIRE(pa.size() == pc.size());
    for (std::size_t i = 0; i < pa.size(); ++i) {
        INFO(pa[i].name);
        CHECK(std::equal(pa[i].param.value().begin(), pa[i].param.value().end(), pc[i].param.value().begin()));
    }
    CHECK(std::equal(a.edge_logits().value().begin(), a.edge_logits().value().end(), c.edge_logits().value().begin()));
    CHECK(a.importance().nodes == c.importance().nodes);
    CHECK(a.importance().edges == c.importance().edges);
    CHECK(a.sample() == c.sample());
    REQUIRE(a.gram_history().size() == c.gram_history().size());
    for (std::size_t e = 0; e < a.gram_history().size(); ++e) {
        CHECK(a.gram_history()[e].train_loss == c.gram_history()[e].train_loss);
        CHECK(a.gram_history()[e].val_accuracy == c.gram_history()[e].val_accuracy);
        CHECK(a.gram_history()[e].edges == c.gram_history()[e].edges);
        CHECK(a.gram_history()[e].derived_cost == c.gram_history()[e].derived_cost);
    }
    std::filesystem::remove(path);
}

TEST_CASE("the most probable architecture keeps a stage's best input edge when no edge is likely") {
    const op_spec conv1x1{"conv1x1", "conv_bn_relu", {1}};
    const search_space s = dag_space({"gram_two_stages", {8, 8, 1}, {conv1x1, 4, 1},
                                      {{2, 4, 1, conv1x1}, {2, 4, 2, conv1x1}}, {conv1x1, {"dw3x3", "dw", {3}}},
                                      {std::nullopt, 0, 2}});
    supernet net(s, {.seed = 1});
    gram_searcher g(net, weight_split(), arch_split());
    // Edge variables: stage 1 0->1, 0->2, 1->2, then stage 2 the same.
    var beta = g.edge_logits();
    const std::vector<float> logits{-3, -1, 2, 2, 2, -2};
    std::copy(logits.begin(), logits.end(), beta.value().begin());
    // Stage 1: only 1->2 is likely, but node 1 has no input: its best input edge 0->2 is kept instead.
    const architecture a = g.derived_architecture();
    CHECK(a.edges == std::vector<std::uint8_t>{0, 1, 0, 1, 1, 0});
    CHECK(a.choices == net.argmax().choices);
    CHECK(is_valid(s, a));
}

TEST_CASE("gram_searcher rejects non-dag spaces and bad options") {
    const search_space dag = tiny_dag(2);
    const cost_table cost = tiny_cost(dag);
    {
        search_space s("chain", {8, 8, 1});
        const int p = s.add_choice_point("p", {{"conv1x1", "conv_bn_relu", {1}}});
        add_head(s, s.add_node("a", merge_mode::sum, {choice_edge(0, p, 4)}), {std::nullopt, 0, 2});
        supernet net(s);
        CHECK_THROWS_WITH_AS(gram_searcher(net, weight_split(), arch_split()),
                             "gram_searcher: the space chain has no edge variables, expected a node-wise DAG space "
                             "(dag_space)",
                             config_error);
    }
    {
        search_space s("gated_choice", {8, 8, 1});
        const int p = s.add_choice_point("p", {{"conv1x1", "conv_bn_relu", {1}}});
        space_edge e = choice_edge(0, p, 4);
        e.gate = std::string("g");  // not from a literal: GCC 12 + ASan warn falsely (-Wstringop-overflow)
        add_head(s, s.add_node("a", merge_mode::sum, {e}), {std::nullopt, 0, 2});
        supernet net(s);
        CHECK_THROWS_WITH_AS(gram_searcher(net, weight_split(), arch_split()),
                             "gram_searcher: choice point 'p' of the space gated_choice is not a DAG node "
                             "(expected one site whose input sums edge variables only)",
                             config_error);
    }
    supernet net(dag);
    gram_options o = quick(1);
    o.importance_rho = 0;
    CHECK_THROWS_WITH_AS(gram_searcher(net, weight_split(), arch_split(), &cost, o),
                         "gram_searcher: importance_rho 0 is out of range, expected (0, 1]", config_error);
    o = quick(1, 0.5f);
    CHECK_THROWS_WITH_AS(gram_searcher(net, weight_split(), arch_split(), nullptr, o),
                         "gram_searcher: latency_weight 0.5 and budget 0 need a cost table", config_error);
    o = quick(1, -1.0f);
    CHECK_THROWS_WITH_AS(gram_searcher(net, weight_split(), arch_split(), &cost, o),
                         "gram_searcher: latency_weight -1 is invalid, expected a finite value >= 0", config_error);
    o = quick(1);
    o.slack = -0.1;
    CHECK_THROWS_WITH_AS(gram_searcher(net, weight_split(), arch_split(), &cost, o),
                         "gram_searcher: slack -0.1 is invalid, expected >= 0", config_error);
    const cost_table short_table({{1.0, 4.0}}, 1.0, "ms");
    CHECK_THROWS_WITH_AS(gram_searcher(net, weight_split(), arch_split(), &short_table, quick(1)),
                         "gram_searcher: the cost table has 1 rows for the 2 choice points of the space gram_tiny",
                         config_error);
    CHECK_THROWS_WITH_AS(gram_searcher(net, weight_split(), arch_split(), &cost, quick(0)),
                         "searcher: 0 epochs and 0 warm-up epochs are invalid", config_error);
}

}  // namespace test_gram
