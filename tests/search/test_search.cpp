#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "stripes.hpp"
#include <hwnas/search/report.hpp>
#include <hwnas/search/searcher.hpp>
#include <hwnas/space/cell_space.hpp>

namespace test_search {

using namespace hwnas;

namespace {

search_space one_choice(std::vector<op_spec> candidates) {
    search_space s("one_choice", {8, 8, 1});
    const int p = s.add_choice_point("p", std::move(candidates));
    const int a = s.add_node("a", merge_mode::sum, {choice_edge(0, p, 4)});
    add_head(s, a, {std::nullopt, 0, 2});
    return s;
}

std::vector<op_spec> skip_zero_conv() {
    return {{"skip", "skip", {}}, {"none", "zero", {}}, {"conv", "conv_bn_relu", {3}}};
}
std::vector<op_spec> big_small() { return {{"big", "conv_bn_relu", {5}}, {"small", "conv_bn_relu", {3}}}; }

// Costs (ms, say) of the candidates; above 1 everywhere for FBNet's log(LAT).
// The fit test's table is flat: only the fit decides (FBNet's loss still runs through it).
const cost_table skip_zero_conv_cost({{2.0, 2.0, 2.0}}, 2.0, "ms");
const cost_table big_small_cost({{4.0, 2.0}}, 1.0, "ms");

search_options quick(search_options o, std::int64_t epochs) {
    o.epochs = epochs;
    o.batch_size = 32;
    o.seed = 5;
    o.w_lr = 0.05f;
    return o;
}

enum class method { darts1, darts2, fbnet, proxyless };
std::string name_of(method m) {
    return m == method::darts1 ? "darts1" : m == method::darts2 ? "darts2" : m == method::fbnet ? "fbnet" : "proxyless";
}

// A searcher of method m on the stripes task, with the tests' learning rates
// (alpha lr 0.03 for DARTS and ProxylessNAS, so a few hundred steps suffice).
// cost_weight: lambda (DARTS, ProxylessNAS) or beta (FBNet).
std::unique_ptr<searcher> make_searcher(supernet& net, method m, const cost_table& cost, float cost_weight,
                                        std::int64_t epochs) {
    static const dataset w = test_support::stripes(256, 1), a = test_support::stripes(256, 2);
    switch (m) {
        case method::darts1:
        case method::darts2: {
            search_options o = quick(darts_defaults(), epochs);
            o.a_lr = 0.03f;
            // w alone first: before the classifier fits, shrinking every path (`none`) lowers the loss.
            o.warmup_epochs = epochs / 4;
            o.second_order = m == method::darts2;
            o.cost_weight = cost_weight;
            return std::make_unique<darts_searcher>(net, w, a, &cost, o);
        }
        case method::fbnet: {
            search_options o = quick(fbnet_defaults(), epochs);
            o.warmup_epochs = epochs / 4;
            o.fbnet_beta = cost_weight;
            return std::make_unique<fbnet_searcher>(net, w, a, cost, o);
        }
        case method::proxyless: break;
    }
    search_options o = quick(proxyless_defaults(), epochs);
    o.a_lr = 0.03f;
    o.cost_weight = cost_weight;
    return std::make_unique<proxyless_searcher>(net, w, a, cost, o);
}

// softmax(alpha) of the one choice point after a search.
tensor search(const search_space& s, method m, const cost_table& cost, float cost_weight, std::int64_t epochs = 16) {
    supernet net(s, {.seed = 11});
    make_searcher(net, m, cost, cost_weight, epochs)->run();
    return net.probabilities(0);
}

}  // namespace

TEST_CASE("each method puts the highest probability on the only candidate that fits") {
    const search_space s = one_choice(skip_zero_conv());
    for (method m : {method::darts1, method::darts2, method::fbnet, method::proxyless}) {
        const tensor p = search(s, m, skip_zero_conv_cost, m == method::fbnet ? 0.6f : 0.0f);
        INFO(name_of(m), " p = ", p[0], " ", p[1], " ", p[2]);
        CHECK(p[2] > p[0]);
        CHECK(p[2] > p[1]);
    }
}

TEST_CASE("a growing cost weight flips the choice to the cheaper candidate") {
    const search_space s = one_choice(big_small());
    for (method m : {method::darts1, method::fbnet, method::proxyless}) {
        const float heavy = m == method::fbnet ? 12.0f : 1.0f;
        const tensor p0 = search(s, m, big_small_cost, 0.0f), p1 = search(s, m, big_small_cost, heavy);
        INFO(name_of(m), " p(small) without cost ", p0[1], ", with cost ", p1[1]);
        CHECK(p1[1] > p0[1]);
        CHECK(p1[1] > 0.5f);
    }
}

TEST_CASE("second-order hypergradient matches finite differences of the unrolled validation loss") {
    const search_space s = one_choice(skip_zero_conv());
    supernet net(s, {.seed = 4, .alpha_init_std = 0.5f});
    const dataset d = test_support::stripes(16, 3);
    loader ld(d, {.batch_size = 8, .shuffle = false});
    const data_batch train = ld.batch(0), val = ld.batch(1);
    const search_loss ce = [](const var& logits, std::span<const std::int32_t> y) { return cross_entropy(logits, y); };
    const float xi = 0.5f;
    const auto h = darts_hypergradient(net, ce, train, val, xi);
    // F(alpha) = L_val(w - xi grad_w L_train(w, alpha), alpha), by central differences.
    var alpha = net.alphas()[0];
    const auto& w = net.weights();
    auto unrolled = [&]() {
        std::vector<tensor> backup;
        for (const auto& p : w) backup.push_back(p.value().clone());
        const auto g = grad(ce(net.forward(var(train.images)), train.labels), w);
        for (std::size_t i = 0; i < w.size(); ++i) {
            var p = w[i];
            for (index_t j = 0; j < p.numel(); ++j) p.value()[j] -= xi * g[i][j];
        }
        no_grad off;
        const double l = ce(net.forward(var(val.images)), val.labels).value().item();
        for (std::size_t i = 0; i < w.size(); ++i) {
            var p = w[i];
            std::copy(backup[i].begin(), backup[i].end(), p.value().begin());
        }
        return l;
    };
    const float step = 1e-2f;
    double first_order_gap = 0;
    const auto first = grad(ce(net.forward(var(val.images)), val.labels), {alpha});
    for (index_t j = 0; j < alpha.numel(); ++j) {
        const float keep = alpha.value()[j];
        alpha.value()[j] = keep + step;
        const double up = unrolled();
        alpha.value()[j] = keep - step;
        const double down = unrolled();
        alpha.value()[j] = keep;
        const double fd = (up - down) / (2 * step);
        INFO("alpha ", j, ": hypergradient ", h[0][j], ", finite differences ", fd, ", first order ", first[0][j]);
        CHECK(h[0][j] == doctest::Approx(fd).epsilon(0.05).scale(1e-3));
        first_order_gap = std::max(first_order_gap, std::abs(static_cast<double>(first[0][j]) - fd));
    }
    CHECK(first_order_gap > 1e-3);  // the second-order term matters here
}

TEST_CASE("a resumed search ends bit-identical to an uninterrupted one") {
    const search_space s = one_choice(skip_zero_conv());
    const auto path = std::filesystem::temp_directory_path() / "hwnas_test_search_resume.ckpt";
    for (method m : {method::fbnet, method::proxyless, method::darts2}) {
        INFO(name_of(m));
        supernet full(s, {.seed = 11});
        auto a = make_searcher(full, m, skip_zero_conv_cost, 0.6f, 3);
        a->run();
        {
            supernet part(s, {.seed = 11});
            auto b = make_searcher(part, m, skip_zero_conv_cost, 0.6f, 3);
            b->run({.stop_after = [](std::int64_t step) { return step == 11; }, .checkpoint = path});
            CHECK(!b->finished());
        }
        supernet resumed(s, {.seed = 99});  // a different init, overwritten by the checkpoint
        auto c = make_searcher(resumed, m, skip_zero_conv_cost, 0.6f, 3);
        c->load_checkpoint(path);
        c->run();
        CHECK(c->finished());
        const auto pa = full.named_parameters(), pc = resumed.named_parameters();
        REQUIRE(pa.size() == pc.size());
        for (std::size_t i = 0; i < pa.size(); ++i) {
            INFO(pa[i].name);
            CHECK(std::equal(pa[i].param.value().begin(), pa[i].param.value().end(), pc[i].param.value().begin()));
        }
        REQUIRE(a->history().size() == c->history().size());
        for (std::size_t e = 0; e < a->history().size(); ++e) {
            CHECK(a->history()[e].train_loss == c->history()[e].train_loss);
            CHECK(a->history()[e].val_accuracy == c->history()[e].val_accuracy);
            CHECK(a->history()[e].argmax == c->history()[e].argmax);
        }
    }
    std::filesystem::remove(path);
}

TEST_CASE("darts cell derivation keeps the two strongest non-none edges per node and caps skips") {
    const search_space s = darts_space({.input = {8, 8, 1}, .channels = 2, .cells = 3, .nodes = 2});
    // Choice points: normal 0->2, 1->2, 0->3, 1->3, 2->3, then the reduce edges.
    std::vector<tensor> probs;
    auto row = [](std::initializer_list<float> v) { return tensor::from({8}, v); };
    probs.push_back(row({0.9f, 0.02f, 0, 0, 0.08f, 0, 0, 0}));  // strongest non-none: sep3 0.08
    probs.push_back(row({0.1f, 0.6f, 0, 0, 0.3f, 0, 0, 0}));    // skip 0.6
    probs.push_back(row({0.1f, 0.7f, 0, 0, 0.2f, 0, 0, 0}));    // skip 0.7
    probs.push_back(row({0.5f, 0, 0.1f, 0, 0, 0.4f, 0, 0}));    // sep5 0.4
    probs.push_back(row({0.0f, 0.05f, 0, 0, 0, 0, 0.95f, 0}));  // dil3 0.95
    for (std::size_t p = 5; p < s.choice_points().size(); ++p) probs.push_back(row({0, 0, 0, 0, 0, 0, 0, 1}));
    const architecture a = darts_cell_architecture(s, probs);
    CHECK(std::vector<int>(a.choices.begin(), a.choices.begin() + 5) == std::vector<int>{4, 1, 1, 0, 6});
    const architecture capped = darts_cell_architecture(s, probs, 2, 1);
    CHECK(std::vector<int>(capped.choices.begin(), capped.choices.begin() + 5) == std::vector<int>{4, 4, 1, 0, 6});
}

TEST_CASE("costliest_within_score_error takes the costliest candidate within a standard error of the best") {
    // Best 0.9 on 100 examples: standard error 0.03, so 0.87 and above tie with it.
    const std::vector<double> acc{0.90, 0.88, 0.87, 0.86, 0.70}, cost{1.0, 3.0, 2.0, 9.0, 8.0};
    CHECK(costliest_within_score_error(acc, cost, 100) == 1);
    CHECK(costliest_within_score_error(acc, cost, 1000000) == 0);  // error ~0: the best score alone
    CHECK(costliest_within_score_error(acc, cost, 4) == 3);        // error 0.15: all but the last
    const std::vector<double> one{0.5}, free{0.0};
    CHECK(costliest_within_score_error(one, free, 10) == 0);
    CHECK_THROWS_WITH_AS(costliest_within_score_error(acc, one, 100),
                         "costliest_within_score_error: 5 scores, 1 costs, 100 examples; expected as many costs as "
                         "scores (at least one) and n > 0",
                         config_error);
    const std::vector<double> bad{0.5, 1.5};
    CHECK_THROWS_WITH_AS(costliest_within_score_error(bad, std::vector<double>{1.0, 2.0}, 100),
                         "costliest_within_score_error: candidate 1 has accuracy 1.5 and cost 2, expected an accuracy "
                         "in [0, 1] and a finite cost",
                         config_error);
}

TEST_CASE("most_probable_within finds the most probable architecture that fits, as exhaustive search does") {
    const search_space s = nb201_space({.input = {8, 8, 1}, .channels = 2, .cells_per_stage = 1});
    const std::size_t points = s.choice_points().size(), ops = s.choice_points()[0].candidates.size();
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(0.05f, 1.0f);
    std::uniform_int_distribution<int> cost64(0, 48);  // costs in 1/64ths
    std::vector<tensor> probs;
    std::vector<std::vector<double>> table(points);
    for (std::size_t p = 0; p < points; ++p) {
        tensor t = tensor::uninitialized({static_cast<index_t>(ops)});
        float total = 0;
        for (auto& v : t) total += v = u(rng);
        for (auto& v : t) v /= total;
        probs.push_back(t);
        for (std::size_t c = 0; c < ops; ++c) table[p].push_back(cost64(rng) / 64.0);
    }
    const cost_table cost(table, 0.5, "ms");
    int cheapest = 0;  // in 1/64ths above the fixed part
    for (const auto& row : table) cheapest += static_cast<int>(64 * *std::min_element(row.begin(), row.end()));
    CHECK(cost.cheapest() == doctest::Approx(cost.fixed() + cheapest / 64.0));
    for (int above : {0, 3, 30, 80, 150}) {
        const double budget = cost.fixed() + (cheapest + above) / 64.0;
        // Exhaustive: every one of ops^points architectures.
        double best = -1;
        std::vector<int> best_choices, c(points, 0);
        for (std::size_t n = 0; n < static_cast<std::size_t>(std::pow(ops, points)); ++n) {
            std::size_t k = n;
            double pr = 1, total = cost.fixed();
            for (std::size_t p = 0; p < points; ++p, k /= ops) {
                c[p] = static_cast<int>(k % ops);
                pr *= probs[p][c[p]];
                total += table[p][static_cast<std::size_t>(c[p])];
            }
            if (total <= budget + 1e-12 && pr > best) best = pr, best_choices = c;
        }
        CAPTURE(budget);
        // One DP step per 1/64th of room: no rounding.
        const architecture a = most_probable_within(s, probs, cost, budget, std::max(above, 1));
        CHECK(a.choices == best_choices);
        CHECK(cost.of(a) <= budget + 1e-12);
    }
    // A budget the argmax fits returns the argmax; one below the cheapest architecture is an error.
    CHECK(most_probable_within(s, probs, cost, 100.0).choices == argmax_architecture(s, probs).choices);
    CHECK_THROWS_AS(most_probable_within(s, probs, cost, 0.49), hwnas::error);
    CHECK_NOTHROW(most_probable_within(s, probs, cost, cost.cheapest()));
}

TEST_CASE("compare_with_random ranks the searched network and counts faster, more accurate random ones") {
    const auto row = [](double acc, double ms) { return nlohmann::json{{"test_accuracy", acc}, {"latency_ms", ms}}; };
    const nlohmann::json searched = row(0.90, 0.10);
    // Faster and more accurate; slower and more accurate; as fast and less accurate; faster and as accurate.
    const std::vector<nlohmann::json> randoms{row(0.92, 0.08), row(0.95, 0.20), row(0.80, 0.10), row(0.90, 0.05)};
    const nlohmann::json v = compare_with_random(searched, randoms);
    CHECK(v["count"] == 4);
    CHECK(v["mean_accuracy"].get<double>() == doctest::Approx(0.8925));
    CHECK(v["searched_minus_mean"].get<double>() == doctest::Approx(0.0075));
    CHECK(v["rank"] == 3);
    CHECK(v["at_lower_latency"] == 3);
    CHECK(v["more_accurate_at_lower_latency"] == 1);
    const nlohmann::json none = compare_with_random(searched, {});
    CHECK(none["rank"] == 1);
    CHECK(none["mean_accuracy"].get<double>() == 0.0);
    CHECK_THROWS(compare_with_random(nlohmann::json{{"latency_ms", 0.1}}, randoms));

    // By the means of repeated trainings: the first random network's mean falls below the searched one's.
    const auto rep = [](double first, double mean, double ms) {
        return nlohmann::json{{"test_accuracy", first}, {"accuracy_mean", mean}, {"latency_ms", ms}};
    };
    const nlohmann::json searched_rep = rep(0.90, 0.91, 0.10);
    const std::vector<nlohmann::json> randoms_rep{rep(0.92, 0.905, 0.08), rep(0.95, 0.93, 0.20)};
    CHECK(compare_with_random(searched_rep, randoms_rep)["more_accurate_at_lower_latency"] == 1);
    const nlohmann::json m = compare_with_random(searched_rep, randoms_rep, "accuracy_mean");
    CHECK(m["by"] == "accuracy_mean");
    CHECK(m["more_accurate_at_lower_latency"] == 0);
    CHECK(m["rank"] == 2);
    CHECK(m["mean_accuracy"].get<double>() == doctest::Approx(0.9175));
    CHECK_THROWS(compare_with_random(searched_rep, randoms, "accuracy_mean"));  // rows without accuracy_mean
}

}  // namespace test_search
