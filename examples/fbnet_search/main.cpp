// fbnet_search: searches the small FBNet-style space for 28x28 images
// (fbnet_fmnist) on Fashion-MNIST with FBNet (Gumbel-softmax, latency-weighted
// loss), ProxylessNAS (binary paths) or DARTS (softmax), or samples one
// architecture uniformly (random, the baseline); then retrains the result
// with the shared recipe and writes --out DIR: result.json, architecture.json,
// search_log.csv, epochs.csv. The cost is the MACs table of the space
// (millions of MACs per candidate), standing in for a measured latency table.
//
// --random N: does the search beat random sampling in its own space? N
// architectures drawn uniformly from the space, trained with the same recipe
// (DIR/random/random_K/), then all N + 1 networks measured together at batch
// 1 (interleaved rounds, so the machine's drift falls on all alike): the
// searched network's rank by accuracy and the random networks at equal or
// lower latency that are more accurate go to result.json
// ("random_comparison") and DIR/random_comparison.csv. A killed run resumes:
// finished networks (their result.json) are kept, a training resumes from its
// checkpoint.
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <optional>

#include <hwnas/data/fashion_mnist.hpp>
#include <hwnas/io/cli.hpp>
#include <hwnas/io/json.hpp>
#include <hwnas/latency/profiler.hpp>
#include <hwnas/search/report.hpp>
#include <hwnas/search/searcher.hpp>
#include <hwnas/space/presets.hpp>
#include <hwnas/space/sample.hpp>

using namespace hwnas;
namespace fs = std::filesystem;

// A finished network's result.json in dir, when it was made with this method and seed.
std::optional<nlohmann::json> finished(const fs::path& dir, const std::string& method, std::uint64_t seed) {
    if (!fs::exists(dir / "result.json")) return std::nullopt;
    nlohmann::json r = read_json((dir / "result.json").string());
    if (r.value("method", "") != method || r.value("seed", std::uint64_t{0}) != seed) return std::nullopt;
    return r;
}

// The searched network (rows[0]) and the random ones rebuilt and measured
// together; each row's latency_ms becomes that measurement (the one right
// after its training stays as latency_after_training_ms). Writes
// random_comparison.csv and returns compare_with_random's verdict.
nlohmann::json compare_to_random(const search_space& space, std::vector<nlohmann::json>& rows, int threads,
                                 const fs::path& out) {
    std::vector<architecture> archs;
    std::vector<std::shared_ptr<derived_network>> nets;
    std::vector<module*> ms;
    rng init(0);
    for (const auto& r : rows) {
        archs.push_back(architecture_from_json(space, r["architecture"]));
        nets.push_back(derive_network(space, archs.back(), init));
        ms.push_back(nets.back().get());
    }
    fmt::print(stderr, "fbnet_search: measuring {} networks together ({} thread{})\n", ms.size(), threads,
               threads == 1 ? "" : "s");
    const std::vector<profile_result> t = [&] {
        const thread_count_scope measuring(threads);
        return profile_modules_interleaved(ms, space.input_shape(), {.batch = 1, .warmup = 10, .runs = 50}, 20);
    }();
    std::string csv = "name,test_accuracy,latency_ms,latency_p10_ms,latency_p90_ms,macs,params,architecture\n";
    for (std::size_t i = 0; i < rows.size(); ++i) {
        nlohmann::json& r = rows[i];
        r["latency_after_training_ms"] = r["latency_ms"];
        r["latency_ms"] = t[i].t.median_ms;
        csv += fmt::format("{},{},{},{},{},{},{},\"{}\"\n", i == 0 ? r["method"].get<std::string>() : fmt::format("random_{}", i - 1),
                           r["test_accuracy"].get<double>(), t[i].t.median_ms, t[i].t.p10_ms, t[i].t.p90_ms,
                           r["macs"].get<double>(), r["params"].get<long long>(),
                           fmt::join(op_names(space, archs[i]), " "));
    }
    write_file_atomically(out / "random_comparison.csv", csv);
    nlohmann::json verdict = compare_with_random(rows[0], std::vector<nlohmann::json>(rows.begin() + 1, rows.end()));
    verdict["latency_threads"] = threads;
    verdict["searched_latency_ms"] = rows[0]["latency_ms"];
    return verdict;
}

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
        .option("random", "0",
                "also train N uniformly sampled architectures with the same recipe, measure all together, rank the "
                "searched one")
        .option("latency-threads", "1", "threads of the latency measurement of --random")
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
    const std::int64_t random_count = args.integer("random");
    require(random_count >= 0, "fbnet_search: --random {}: expected a count >= 0", random_count);
    const dataset train = load_fashion_mnist(args.str("data"), true);
    const dataset test = load_fashion_mnist(args.str("data"), false);
    const search_space space = fbnet_fmnist();
    const cost_table cost = macs_cost_table(space);
    train_recipe recipe;
    recipe.epochs = quick ? 1 : args.integer("epochs");
    recipe.seed = seed;
    const dataset retrain = train.first(quick ? 2000 : args.integer("train-samples"));
    const fs::path out = args.str("out");

    nlohmann::json result;
    if (const auto done = finished(out, method, seed)) {
        result = *done;
        fmt::print(stderr, "fbnet_search: the {} network in {} is finished (its result.json)\n", method, out.string());
    } else {
        search_outcome outcome{"fbnet_search", method, {}, 0, 0, "", nlohmann::json::object()};
        if (method == "random") {
            rng g(seed);
            outcome.arch = sample_architecture(space, g);
            outcome.search_peak_rss_mb = peak_rss_mb();
        } else {
            const auto [w_data, a_data] =
                train.first(quick ? 1024 : args.integer("search-samples")).split(method == "darts" ? 0.5 : 0.8, seed);
            search_options o = method == "fbnet"       ? fbnet_defaults()
                               : method == "proxyless" ? proxyless_defaults()
                                                       : darts_defaults();
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
            outcome.extra = {{"epochs", o.epochs}, {"warmup_epochs", o.warmup_epochs},
                             {"images", w_data.size() + a_data.size()}, {"expected_cost_mmacs", s->expected_cost()},
                             {"cost_weight", o.cost_weight}};
        }
        result = retrain_and_report(space, outcome, retrain, test, recipe, out);
    }
    fmt::print(stderr, "fbnet_search: {} found {} ({:.2f} M MACs); test accuracy {:.4f}, {:.3f} ms (batch 1); search "
               "{:.0f}s, peak RSS {:.0f} MB\n",
               method, fmt::join(op_names(space, architecture_from_json(space, result["architecture"])), " "),
               result["macs"].get<double>() / 1e6, result["test_accuracy"].get<double>(),
               result["latency_ms"].get<double>(), result["search_seconds"].get<double>(),
               result["peak_rss_mb"].get<double>());

    if (random_count > 0) {
        std::vector<nlohmann::json> rows{result};
        for (std::int64_t i = 0; i < random_count; ++i) {
            const fs::path dir = out / "random" / fmt::format("random_{}", i);
            if (auto r = finished(dir, "random", seed)) {
                rows.push_back(std::move(*r));
                continue;
            }
            const std::uint64_t sample_seed = seed * 1000003ULL + static_cast<std::uint64_t>(i) + 1;
            rng g(sample_seed);
            search_outcome o{"fbnet_search", "random", sample_architecture(space, g), 0, 0, "",
                             {{"sample_seed", sample_seed}}};
            fmt::print(stderr, "fbnet_search: random architecture {}/{}: {}\n", i + 1, random_count,
                       fmt::join(op_names(space, o.arch), " "));
            rows.push_back(retrain_and_report(space, o, retrain, test, recipe, dir));
        }
        result["random_comparison"] =
            compare_to_random(space, rows, static_cast<int>(args.integer("latency-threads")), out);
        const nlohmann::json& rc = result["random_comparison"];
        write_file_atomically(out / "result.json", result.dump(2));
        fmt::print(stderr, "fbnet_search: against {} random architectures (same recipe): {:.4f} vs their mean {:.4f}; "
                   "rank {} of {} by accuracy; {} of the {} at equal or lower measured latency ({:.3f} ms) are more "
                   "accurate\n",
                   random_count, result["test_accuracy"].get<double>(), rc["mean_accuracy"].get<double>(),
                   rc["rank"].get<int>(), random_count + 1, rc["more_accurate_at_lower_latency"].get<int>(),
                   rc["at_lower_latency"].get<int>(), rc["searched_latency_ms"].get<double>());
    }
    return 0;
}

int main(int argc, char** argv) {
    return run_example("fbnet_search", [&] { return run(argc, argv); });
}
