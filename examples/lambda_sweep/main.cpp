// lambda_sweep: latency as a loss term, swept (algorithms.md 3: CE + lambda *
// E[LAT]). Profiles the node-wise DAG space gram_fmnist on this CPU (the
// calibrated latency table is the cost); then, for each lambda, a
// latency-aware search on Fashion-MNIST without a hard budget (GRAM, or
// --method proxyless), its most probable architecture trained from scratch
// with the shared recipe; finally every searched network's latency measured
// together, interleaved. Shows whether a larger lambda buys a faster network
// and what it costs in accuracy.
//
//   lambda_sweep --out DIR [--lambdas 0,0.3,1,3,10] [--method gram|proxyless]
//
// DIR: result.json (per lambda: predicted and measured latency, accuracy,
// MACs, params, search seconds, architecture), sweep.csv, latency_lambda.svg,
// accuracy_latency.svg, lut.csv, stages.json; a killed run resumes.
#include <cstdio>

#include <hwnas/data/fashion_mnist.hpp>
#include <hwnas/gram.hpp>

using namespace hwnas;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

struct sweep {
    fs::path out;
    std::string method;
    std::uint64_t seed = 0;
    int threads = 2, latency_threads = 1;
    profile_options profile;
    search_space space = gram_fmnist();
    dataset train, test, search_w, search_a;
    train_recipe recipe;
    std::int64_t search_epochs = 0;
    std::optional<cost_table> cost;
};

json stage_profile(const sweep& s) {
    const thread_count_scope threads(s.latency_threads);
    lut_options o;
    o.profile = s.profile;
    rng gen(s.seed ^ 0xca1ULL);
    const calibrated_lut c = build_calibrated_lut(s.space, o, gen, 16, 8, [](std::size_t done, std::size_t total) {
        if (done % 20 == 0 || done == total) fmt::print(stderr, "[profile] {}/{} measurements\n", done, total);
    });
    save_lut(c.fitted, (s.out / "lut.csv").string());
    return {{"table_check",
             {{"architectures", c.check_measured.size()}, {"mape", mape(c.check_measured, c.check_predicted)},
              {"kendall_tau", kendall_tau(c.check_measured, c.check_predicted)}}}};
}

// One lambda: search (checkpointed), derive, train from scratch (checkpointed).
json stage_lambda(const sweep& s, double lambda, const fs::path& dir) {
    fs::create_directories(dir);
    supernet net(s.space, {.seed = s.seed});
    std::unique_ptr<searcher> search;
    if (s.method == "gram") {
        gram_options o = gram_defaults();
        o.epochs = s.search_epochs;
        o.seed = s.seed;
        o.progress = true;
        o.latency_weight = static_cast<float>(lambda);
        o.edge_logit_init = 1.0f;
        o.w_lr = 0.05f;
        search = std::make_unique<gram_searcher>(net, s.search_w, s.search_a, &*s.cost, o);
    } else {
        search_options o = proxyless_defaults();
        o.epochs = s.search_epochs;
        o.seed = s.seed;
        o.progress = true;
        o.cost_weight = static_cast<float>(lambda);
        search = std::make_unique<proxyless_searcher>(net, s.search_w, s.search_a, *s.cost, o);
    }
    search_hooks hooks;
    hooks.checkpoint = dir / "search_checkpoint.bin";
    hooks.checkpoint_every = 50;
    if (fs::exists(hooks.checkpoint)) search->load_checkpoint(hooks.checkpoint);
    search->run(hooks);
    write_file_atomically(dir / "search_log.csv", search->log_csv());
    double search_seconds = 0;
    for (const auto& r : search->history()) search_seconds += r.seconds;

    const architecture a = search->derived_architecture();
    rng init(s.seed);
    auto child = derive_network(s.space, a, init);
    train_hooks th;
    th.checkpoint = dir / "checkpoint.bin";
    fmt::print(stderr, "lambda_sweep: lambda {}: training the searched network ({:.2f} M MACs, predicted {:.3f} ms)\n",
               lambda, static_cast<double>(network_cost(s.space, a).macs) / 1e6, s.cost->of(a));
    const train_result r = train_classifier(*child, s.train, s.test, s.recipe, th);
    write_file_atomically(dir / "epochs.csv", epochs_csv(r.history));
    return {{"lambda", lambda},
            {"test_accuracy", r.test_accuracy},
            {"predicted_latency_ms", s.cost->of(a)},
            {"macs", static_cast<double>(network_cost(s.space, a).macs)},
            {"params", child->num_parameters()},
            {"search_seconds", search_seconds},
            {"train_seconds", r.train_seconds},
            {"architecture", architecture_to_json(s.space, a)}};
}

int run(int argc, char** argv) {
    cli args("lambda_sweep", "latency-aware search of gram_fmnist on Fashion-MNIST for several latency weights");
    args.option("out", "", "output directory (resumes the run found there)", true)
        .option("lambdas", "0,0.3,1,3,10", "latency weights per ms, comma-separated")
        .option("method", "gram", "gram (no hard budget) or proxyless")
        .option("search-epochs", "4", "search epochs per lambda")
        .option("search-samples", "20000", "training images the search uses (split 50/50 into weights / architecture)")
        .option("epochs", "2", "training epochs of each searched network")
        .option("seed", "0", "seed")
        .option("threads", "2", "threads for training and search")
        .option("latency-threads", "1", "threads for latency measurements")
        .option("runs", "30", "timed runs per latency measurement")
        .option("data", default_fashion_mnist_dir(), "Fashion-MNIST directory");
    if (!args.parse(argc, argv)) {
        std::fputs(args.usage().c_str(), stdout);
        return 0;
    }
    sweep s;
    s.out = args.str("out");
    s.method = args.str("method");
    require(s.method == "gram" || s.method == "proxyless", "lambda_sweep: --method {}, expected gram or proxyless",
            s.method);
    s.seed = static_cast<std::uint64_t>(args.integer("seed"));
    s.threads = static_cast<int>(args.integer("threads"));
    s.latency_threads = static_cast<int>(args.integer("latency-threads"));
    s.profile.runs = static_cast<int>(args.integer("runs"));
    s.profile.seed = s.seed;
    s.search_epochs = args.integer("search-epochs");
    const std::vector<double> lambdas = args.reals("lambdas");
    for (double l : lambdas) require(l >= 0, "lambda_sweep: lambda {} is negative", l);
    set_num_threads(s.threads);
    fs::create_directories(s.out);

    const dataset full_train = load_fashion_mnist(args.str("data"), true);
    const channel_stats stats = compute_channel_stats(full_train);
    s.train = normalize(full_train, stats);
    s.test = normalize(load_fashion_mnist(args.str("data"), false), stats);
    std::tie(s.search_w, s.search_a) = normalize(full_train.first(args.integer("search-samples")), stats).split(0.5, s.seed);
    s.recipe.epochs = args.integer("epochs");
    s.recipe.seed = s.seed;
    s.recipe.normalize = false;

    stage_log log(s.out / "stages.json",
                  {{"method", s.method}, {"seed", s.seed}, {"search_epochs", s.search_epochs},
                   {"search_samples", args.integer("search-samples")}, {"epochs", s.recipe.epochs},
                   {"latency_threads", s.latency_threads}, {"runs", s.profile.runs}});
    const json& prof = log.run("profile", [&] { return stage_profile(s); });
    s.cost.emplace(to_cost_table(load_lut((s.out / "lut.csv").string(), s.space), &s.space));
    json rows = json::array();
    for (double l : lambdas)
        rows.push_back(log.run(fmt::format("lambda_{}", l), [&] {
            return stage_lambda(s, l, s.out / fmt::format("lambda_{}", l));
        }));

    // Every searched network measured together (weights do not change latency).
    std::vector<std::shared_ptr<module>> nets;
    rng init(s.seed);
    for (const auto& r : rows) nets.push_back(derive_network(s.space, architecture_from_json(s.space, r["architecture"]), init));
    std::vector<module*> ms;
    for (auto& n : nets) ms.push_back(n.get());
    const std::vector<profile_result> t = [&] {
        const thread_count_scope threads(s.latency_threads);
        return profile_modules_interleaved(ms, s.space.input_shape(), s.profile, 20);
    }();

    csv_writer csv((s.out / "sweep.csv").string(), {"lambda", "test_accuracy", "latency_ms", "latency_p10_ms",
                                                     "latency_p90_ms", "predicted_latency_ms", "macs", "params",
                                                     "search_seconds"});
    std::vector<double> xs, lat, acc;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        json& r = rows[i];
        r["latency_ms"] = t[i].t.median_ms;
        r["latency_p10_ms"] = t[i].t.p10_ms;
        r["latency_p90_ms"] = t[i].t.p90_ms;
        csv.write_row({csv_writer::cell(r["lambda"].get<double>()), csv_writer::cell(r["test_accuracy"].get<double>()),
                       csv_writer::cell(t[i].t.median_ms), csv_writer::cell(t[i].t.p10_ms), csv_writer::cell(t[i].t.p90_ms),
                       csv_writer::cell(r["predicted_latency_ms"].get<double>()), csv_writer::cell(r["macs"].get<double>()),
                       std::to_string(r["params"].get<long long>()), csv_writer::cell(r["search_seconds"].get<double>())});
        xs.push_back(r["lambda"].get<double>());
        lat.push_back(t[i].t.median_ms);
        acc.push_back(r["test_accuracy"].get<double>());
        fmt::print(stderr, "lambda {:>6}: measured {:.3f} ms (predicted {:.3f}), test accuracy {:.4f}, {:.2f} M MACs\n",
                   xs.back(), lat.back(), r["predicted_latency_ms"].get<double>(), acc.back(),
                   r["macs"].get<double>() / 1e6);
    }
    csv.close();
    svg_plot("Measured latency of the searched network", "lambda (per ms)", "latency at batch 1 (ms)")
        .line("measured", xs, lat)
        .save((s.out / "latency_lambda.svg").string());
    svg_plot plot("Searched networks: accuracy against measured latency", "latency at batch 1 (ms)", "test accuracy");
    for (std::size_t i = 0; i < xs.size(); ++i)
        plot.scatter(fmt::format("lambda {}", xs[i]), std::span<const double>(&lat[i], 1), std::span<const double>(&acc[i], 1));
    plot.save((s.out / "accuracy_latency.svg").string());
    const machine_info machine = describe_machine();
    const json result = {{"example", "lambda_sweep"},
                         {"method", s.method},
                         {"seed", s.seed},
                         {"space", s.space.name()},
                         {"profile", prof},
                         {"latency", {{"batch", 1}, {"threads", s.latency_threads}, {"rounds", 20}, {"runs", s.profile.runs}}},
                         {"machine", {{"cpu", machine.cpu_model}, {"logical_cpus", machine.logical_cpus},
                                      {"load_average_at_end", load_average()}}},
                         {"sweep", rows}};
    write_file_atomically(s.out / "result.json", result.dump(2));
    fmt::print(stderr, "lambda_sweep: wrote {}/result.json, sweep.csv, latency_lambda.svg, accuracy_latency.svg\n",
               s.out.string());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return run_example("lambda_sweep", [&] { return run(argc, argv); });
}
