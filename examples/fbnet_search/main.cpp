// fbnet_search: searches the small FBNet-style space for 28x28 images
// (fbnet_fmnist) on Fashion-MNIST with FBNet (Gumbel-softmax, latency-weighted
// loss), ProxylessNAS (binary paths) or DARTS (softmax), or samples one
// architecture uniformly (random, the baseline); then retrains the result
// with the shared recipe and writes --out DIR: result.json, architecture.json,
// search_log.csv, epochs.csv. The cost is the MACs table of the space
// (millions of MACs per candidate), standing in for a measured latency table.
#include <cstdio>
#include <numeric>

#include <hwnas/data/fashion_mnist.hpp>
#include <hwnas/io/cli.hpp>
#include <hwnas/search/report.hpp>
#include <hwnas/search/searcher.hpp>
#include <hwnas/space/presets.hpp>
#include <hwnas/space/sample.hpp>

using namespace hwnas;

int run(int argc, char** argv) {
    cli args("fbnet_search", "differentiable search of the fbnet_fmnist space on Fashion-MNIST, then retraining");
    args.option("out", "", "output directory", true)
        .option("method", "fbnet", "fbnet | proxyless | darts | random")
        .option("search-epochs", "6", "search epochs (FBNet: the first --warmup train w alone)")
        .option("warmup", "2", "FBNet warm-up epochs")
        .option("search-samples", "10000", "training images used by the search (split 80/20 into w/theta)")
        .option("batch", "64", "search batch size")
        .option("cost-weight", "0.02", "ProxylessNAS lambda per MMAC (FBNet uses alpha 0.2, beta 0.6)")
        .option("epochs", "3", "retraining epochs")
        .option("train-samples", "0", "retraining images (0: all 60000)")
        .option("seed", "0", "seed")
        .option("threads", "2", "threads")
        .option("data", default_fashion_mnist_dir(), "Fashion-MNIST directory")
        .flag("quick", "smoke test: 1024 search images, 2 search epochs, 1 retraining epoch on 2000 images");
    if (!args.parse(argc, argv)) {
        std::fputs(args.usage().c_str(), stdout);
        return 0;
    }
    set_num_threads(static_cast<int>(args.integer("threads")));
    const bool quick = args.flag_set("quick");
    const std::string method = args.str("method");
    require(method == "fbnet" || method == "proxyless" || method == "darts" || method == "random",
            "fbnet_search: --method {} is unknown, expected fbnet, proxyless, darts or random", method);
    const auto seed = static_cast<std::uint64_t>(args.integer("seed"));
    const dataset train = load_fashion_mnist(args.str("data"), true);
    const dataset test = load_fashion_mnist(args.str("data"), false);
    const search_space space = fbnet_fmnist();
    const cost_table cost = macs_cost_table(space);

    search_outcome outcome{"fbnet_search", method, {}, 0, 0, "", nlohmann::json::object()};
    if (method == "random") {
        rng g(seed);
        outcome.arch = sample_architecture(space, g);
        outcome.search_peak_rss_mb = peak_rss_mb();
    } else {
        const auto [w_data, a_data] =
            train.first(quick ? 1024 : args.integer("search-samples")).split(method == "darts" ? 0.5 : 0.8, seed);
        search_options o = method == "fbnet" ? fbnet_defaults() : method == "proxyless" ? proxyless_defaults() : darts_defaults();
        o.epochs = quick ? 2 : args.integer("search-epochs");
        o.warmup_epochs = method == "fbnet" ? (quick ? 1 : args.integer("warmup")) : 0;
        o.batch_size = args.integer("batch");
        o.seed = seed;
        o.progress = true;
        if (method == "proxyless") o.cost_weight = static_cast<float>(args.real("cost-weight"));
        supernet net(space, {.seed = seed});
        std::unique_ptr<searcher> s;
        if (method == "fbnet") s = std::make_unique<fbnet_searcher>(net, w_data, a_data, cost, o);
        else if (method == "proxyless") s = std::make_unique<proxyless_searcher>(net, w_data, a_data, cost, o);
        else s = std::make_unique<darts_searcher>(net, w_data, a_data, &cost, o);
        fmt::print(stderr, "fbnet_search: {} on {} ({} w / {} arch images), supernet {} weights\n", method,
                   space.name(), w_data.size(), a_data.size(), net.num_parameters(weights_group));
        const auto t0 = std::chrono::steady_clock::now();
        s->run();
        outcome.search_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        outcome.search_peak_rss_mb = peak_rss_mb();
        outcome.arch = s->derived_architecture();
        outcome.search_log = s->log_csv();
        outcome.extra = {{"epochs", o.epochs}, {"warmup_epochs", o.warmup_epochs}, {"images", w_data.size() + a_data.size()},
                         {"expected_cost_mmacs", s->expected_cost()}, {"cost_weight", o.cost_weight}};
    }
    train_recipe recipe;
    recipe.epochs = quick ? 1 : args.integer("epochs");
    recipe.seed = seed;
    const dataset retrain = train.first(quick ? 2000 : args.integer("train-samples"));
    const auto result = retrain_and_report(space, outcome, retrain, test, recipe, args.str("out"));
    fmt::print(stderr, "fbnet_search: {} found {} ({:.2f} M MACs); test accuracy {:.4f}, {:.3f} ms (batch 1); search "
               "{:.0f}s, peak RSS {:.0f} MB\n",
               method, fmt::join(op_names(space, outcome.arch), " "), result["macs"].get<double>() / 1e6,
               result["test_accuracy"].get<double>(), result["latency_ms"].get<double>(), outcome.search_seconds,
               outcome.search_peak_rss_mb);
    return 0;
}

int main(int argc, char** argv) {
    return run_example("fbnet_search", [&] { return run(argc, argv); });
}
