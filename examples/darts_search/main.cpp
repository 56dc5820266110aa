// darts_search: DARTS (first or second order) on a small DARTS cell network
// for 28x28 gray images (Fashion-MNIST): search, derive the cells (2 strongest
// non-none inputs per node, skip cap), retrain the derived network with the
// shared recipe, and write --out DIR: result.json, architecture.json,
// search_log.csv, epochs.csv.
#include <cstdio>
#include <numeric>

#include <hwnas/data/fashion_mnist.hpp>
#include <hwnas/io/cli.hpp>
#include <hwnas/search/report.hpp>
#include <hwnas/search/searcher.hpp>
#include <hwnas/space/cell_space.hpp>

using namespace hwnas;

int run(int argc, char** argv) {
    cli args("darts_search", "DARTS search of a small cell network on Fashion-MNIST, then retraining");
    args.option("out", "", "output directory", true)
        .option("order", "1", "1: first order, 2: second order (finite-difference hypergradient)")
        .option("search-epochs", "3", "search epochs")
        .option("search-samples", "1600", "training images used by the search (half for w, half for alpha)")
        .option("channels", "8", "initial channels of the cell network")
        .option("cells", "5", "cells (reduction cells at 1/3 and 2/3)")
        .option("batch", "64", "search batch size")
        .option("max-skip", "2", "at most this many skip connections in the derived cells (-1: no cap)")
        .option("epochs", "3", "retraining epochs")
        .option("train-samples", "0", "retraining images (0: all 60000)")
        .option("seed", "0", "seed")
        .option("threads", "2", "threads")
        .option("data", default_fashion_mnist_dir(), "Fashion-MNIST directory")
        .flag("quick", "smoke test: 512 search images, 1 search epoch, 1 retraining epoch on 2000 images");
    if (!args.parse(argc, argv)) {
        std::fputs(args.usage().c_str(), stdout);
        return 0;
    }
    set_num_threads(static_cast<int>(args.integer("threads")));
    const bool quick = args.flag_set("quick");
    const auto seed = static_cast<std::uint64_t>(args.integer("seed"));
    const dataset train = load_fashion_mnist(args.str("data"), true);
    const dataset test = load_fashion_mnist(args.str("data"), false);
    const search_space space = darts_space({.name = "darts_fmnist", .input = {28, 28, 1},
                                            .channels = args.integer("channels"),
                                            .cells = static_cast<int>(args.integer("cells"))});
    const auto [w_data, a_data] = train.first(quick ? 512 : args.integer("search-samples")).split(0.5, seed);
    search_options o = darts_defaults();
    o.epochs = quick ? 1 : args.integer("search-epochs");
    o.batch_size = args.integer("batch");
    o.seed = seed;
    o.progress = true;
    o.second_order = args.integer("order") == 2;
    o.cell_derivation = true;
    o.max_skip = static_cast<int>(args.integer("max-skip"));
    supernet net(space, {.seed = seed});
    darts_searcher s(net, w_data, a_data, nullptr, o);
    fmt::print(stderr, "darts_search: {} on {} ({} w / {} alpha images), supernet {} weights\n", s.method(),
               space.name(), w_data.size(), a_data.size(), net.num_parameters(weights_group));
    const auto t0 = std::chrono::steady_clock::now();
    s.run();
    search_outcome outcome{"darts_search", s.method(), s.derived_architecture(),
                           std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), peak_rss_mb(),
                           s.log_csv(), {{"epochs", o.epochs}, {"images", w_data.size() + a_data.size()}}};
    train_recipe recipe;
    recipe.epochs = quick ? 1 : args.integer("epochs");
    recipe.seed = seed;
    const auto result =
        retrain_and_report(space, outcome, train.first(quick ? 2000 : args.integer("train-samples")), test, recipe,
                           args.str("out"));
    fmt::print(stderr, "darts_search: found {}; test accuracy {:.4f}, {:.3f} ms (batch 1); search {:.0f}s, peak RSS {:.0f} MB\n",
               fmt::join(op_names(space, outcome.arch), " "), result["test_accuracy"].get<double>(),
               result["latency_ms"].get<double>(), outcome.search_seconds, outcome.search_peak_rss_mb);
    return 0;
}

int main(int argc, char** argv) {
    return run_example("darts_search", [&] { return run(argc, argv); });
}
