// profile_space: measures a search space on this CPU and scores latency
// predictors against the measured end-to-end latency of held-out architectures.
//
//   profile_space --space NAME --samples N --out DIR [--runs R] [--warmup W]
//                 [--threads T] [--seed S] [--train-fraction F] [--stat median|p10|min]
//                 [--passes P]
//
// 1. The lookup table of the space (latency/lut.hpp): every (choice point,
//    candidate) in its real input shape, batch 1, median of R runs; the fixed
//    part from a few whole networks. Written to DIR/lut.csv (+ lut.csv.json).
// 2. N architectures drawn uniformly (seeded), each derived and measured end
//    to end, in P passes over all N (each pass in a new order, each network
//    rebuilt): DIR/measured.csv (arch_id, layer0.., measured_ms (the median
//    over the passes of the --stat statistic), pass1_ms .. passP_ms, and
//    median_ms, p10_ms, p90_ms, min_ms of the first pass, lut_ms). Passes
//    spread each architecture's measurements over the run, so the machine's
//    drift from minute to minute averages out; with P >= 2 metrics.json also
//    scores one pass as a predictor of another ("repeat"): how far two
//    measurements of the same architecture agree, the ceiling any predictor
//    is judged against.
// 3. The first F * N architectures train the predictors (additive least
//    squares, MLP, table + learned residual); the rest are held out. The
//    measured table itself is scored too, unfitted. DIR/metrics.json holds,
//    per predictor, MAPE %, RMSE ms, within5 / within10 (shares), Kendall tau-b
//    and Spearman rho on the held-out architectures, with the machine, the
//    load average before and after, and the settings.
// Progress goes to stderr. Bad input: a message and exit code 2.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <hwnas/core/parallel.hpp>
#include <hwnas/core/rng.hpp>
#include <hwnas/io/cli.hpp>
#include <hwnas/io/csv.hpp>
#include <hwnas/io/json.hpp>
#include <hwnas/io/progress.hpp>
#include <hwnas/latency/lut.hpp>
#include <hwnas/latency/metrics.hpp>
#include <hwnas/latency/mlp.hpp>
#include <hwnas/latency/residual.hpp>
#include <hwnas/space/presets.hpp>

namespace {

using namespace hwnas;

struct args {
    std::string space, out;
    std::size_t samples = 0;
    int runs = 15, warmup = 3, threads = 1, passes = 1;
    std::uint64_t seed = 0;
    double train_fraction = 0.8;
    timing_stat stat = timing_stat::median;
    std::string stat_name;
};

std::optional<args> parse_args(int argc, char** argv) {
    cli c("profile_space", "builds a space's latency table on this CPU, measures sampled architectures end to end, "
                           "scores latency predictors on held-out ones");
    c.option("space", "", fmt::format("preset space ({})", fmt::join(preset_space_names(), ", ")), true)
        .option("samples", "", "architectures measured end to end", true)
        .option("out", "", "output directory", true)
        .option("runs", "15", "timed runs per measurement (median)")
        .option("warmup", "3", "untimed runs before them")
        .option("threads", "1", "hwnas and OpenBLAS threads")
        .option("seed", "0", "seed of the samples, the weights and the predictors")
        .option("train-fraction", "0.8", "share of the samples that trains the predictors")
        .option("stat", "median", "timing statistic taken as the latency: median, p10 or min (min resists load)")
        .option("passes", "1", "passes over all architectures (latency: the median over passes)");
    if (!c.parse(argc, argv)) {
        std::fputs(c.usage().c_str(), stdout);
        return std::nullopt;
    }
    args a;
    a.space = c.str("space");
    a.out = c.str("out");
    a.stat_name = c.str("stat");
    a.stat = parse_timing_stat(a.stat_name);
    const long long samples = c.integer("samples"), runs = c.integer("runs"), warmup = c.integer("warmup"),
                    threads = c.integer("threads"), seed = c.integer("seed"), passes = c.integer("passes");
    a.train_fraction = c.real("train-fraction");
    require(samples >= 10 && samples <= 1000000, "--samples {}: expected 10 <= N <= 10^6", samples);
    require(runs >= 1 && runs <= 100000, "--runs {}: expected 1 <= R <= 10^5", runs);
    require(warmup >= 0 && warmup <= 100000, "--warmup {}: expected 0 <= W <= 10^5", warmup);
    require(threads >= 1 && threads <= 1024, "--threads {}: expected 1 <= T <= 1024", threads);
    require(seed >= 0, "--seed {}: expected S >= 0", seed);
    require(passes >= 1 && passes <= 1000, "--passes {}: expected 1 <= P <= 1000", passes);
    require(a.train_fraction > 0 && a.train_fraction < 1, "--train-fraction {}: expected 0 < F < 1", a.train_fraction);
    a.samples = static_cast<std::size_t>(samples);
    a.runs = static_cast<int>(runs);
    a.warmup = static_cast<int>(warmup);
    a.threads = static_cast<int>(threads);
    a.passes = static_cast<int>(passes);
    a.seed = static_cast<std::uint64_t>(seed);
    return a;
}

// The 1-, 5- and 15-minute load averages, or an empty list.
json metrics_json(const prediction_metrics& m, double fit_seconds, std::size_t n_train) {
    return {{"mape", m.mape},           {"rmse", m.rmse},         {"within5", m.within5},
            {"within10", m.within10},   {"kendall_tau", m.kendall_tau}, {"spearman_rho", m.spearman_rho},
            {"fit_seconds", fit_seconds}, {"n_train", n_train},   {"n_test", m.n}};
}

void print_metrics(const std::string& name, const prediction_metrics& m) {
    fmt::print(stderr, "{:>10}: MAPE {:6.2f}%  RMSE {:8.4f}  within5 {:5.1f}%  within10 {:5.1f}%  tau {:.4f}  rho {:.4f}\n",
               name, m.mape, m.rmse, 100 * m.within5, 100 * m.within10, m.kendall_tau, m.spearman_rho);
}

int run(const args& a) {
    set_num_threads(a.threads);
    const search_space s = preset_space(a.space);
    std::filesystem::create_directories(a.out);
    const std::vector<double> load_before = load_average();
    const profile_options po{.batch = 1, .warmup = a.warmup, .runs = a.runs, .seed = a.seed};

    const progress lut_bar("lut", 1);
    const latency_lut lut = build_lut(s, {.profile = po, .stat = a.stat}, [&](std::size_t done, std::size_t total) {
        if (done % 20 == 0 || done == total) fmt::print(stderr, "[lut] {}/{} measurements, {:.0f} s\n", done, total,
                                                         lut_bar.elapsed());
    });
    save_lut(lut, a.out + "/lut.csv");
    fmt::print(stderr, "lut: fixed part {:.3f} ms, wrote {}/lut.csv\n", lut.fixed_ms, a.out);

    rng gen(a.seed);
    std::vector<architecture> archs;
    for (std::size_t i = 0; i < a.samples; ++i) archs.push_back(sample_architecture(s, gen));
    // pass_ms[p][i]: architecture i in pass p; first[i]: its whole timing in the first pass.
    std::vector<std::vector<double>> pass_ms(static_cast<std::size_t>(a.passes), std::vector<double>(a.samples));
    std::vector<timing> first(a.samples);
    std::vector<std::size_t> order(a.samples);
    std::iota(order.begin(), order.end(), std::size_t{0});
    const progress bar("measure", static_cast<long>(a.samples) * a.passes);
    for (std::size_t p = 0; p < pass_ms.size(); ++p) {
        if (p > 0) gen.shuffle(order);
        for (std::size_t k = 0; k < a.samples; ++k) {
            const std::size_t i = order[k];
            const profile_result r = profile_network(s, archs[i], po);
            pass_ms[p][i] = pick(r.t, a.stat);
            if (p == 0) first[i] = r.t;
            const long done = static_cast<long>(p * a.samples + k + 1);
            if (done % static_cast<long>(std::max<std::size_t>(1, a.samples / 20)) == 0)
                bar.report(done, fmt::format("pass {}/{}, last {:.3f} ms", p + 1, a.passes, pass_ms[p][i]));
        }
    }
    std::vector<double> measured(a.samples);
    std::vector<std::string> header{"arch_id"};
    for (std::size_t p = 0; p < s.choice_points().size(); ++p) header.push_back(fmt::format("layer{}", p));
    header.push_back("measured_ms");
    for (int p = 0; p < a.passes; ++p) header.push_back(fmt::format("pass{}_ms", p + 1));
    header.insert(header.end(), {"median_ms", "p10_ms", "p90_ms", "min_ms", "lut_ms"});
    csv_writer out(a.out + "/measured.csv", header);
    for (std::size_t i = 0; i < a.samples; ++i) {
        std::vector<double> v;
        for (const auto& pass : pass_ms) v.push_back(pass[i]);
        measured[i] = detail::summarize(v).median_ms;
        std::vector<std::string> row{std::to_string(i)};
        for (int c : archs[i].choices) row.push_back(std::to_string(c));
        row.push_back(csv_writer::cell(measured[i]));
        for (double x : v) row.push_back(csv_writer::cell(x));
        for (double x : {first[i].median_ms, first[i].p10_ms, first[i].p90_ms, first[i].min_ms, lut.of(archs[i])})
            row.push_back(csv_writer::cell(x));
        out.write_row(row);
    }
    out.close();

    const auto n_train = std::clamp<std::size_t>(
        static_cast<std::size_t>(a.train_fraction * static_cast<double>(a.samples) + 0.5), 2, a.samples - 2);
    std::vector<int> ops;
    for (const auto& p : s.choice_points()) ops.push_back(static_cast<int>(p.candidates.size()));
    const one_hot_layout layout(ops);
    std::vector<std::vector<int>> choices;
    for (const auto& arch : archs) choices.push_back(arch.choices);
    const tensor x = layout.encode(choices);
    std::vector<std::size_t> train_rows(n_train), test_rows(a.samples - n_train);
    std::iota(train_rows.begin(), train_rows.end(), std::size_t{0});
    std::iota(test_rows.begin(), test_rows.end(), n_train);
    const tensor x_train = detail::take_rows(x, train_rows), x_test = detail::take_rows(x, test_rows);
    const std::vector<double> y_train(measured.begin(), measured.begin() + static_cast<std::ptrdiff_t>(n_train)),
        y_test(measured.begin() + static_cast<std::ptrdiff_t>(n_train), measured.end());
    fmt::print(stderr, "train {} architectures, test {}\n", n_train, y_test.size());

    json report = {{"space", a.space},
                   {"samples", a.samples},
                   {"runs", a.runs},
                   {"warmup", a.warmup},
                   {"threads", a.threads},
                   {"seed", a.seed},
                   {"train_fraction", a.train_fraction},
                   {"stat", a.stat_name},
                   {"passes", a.passes},
                   {"machine", {{"cpu_model", lut.machine.cpu_model}, {"logical_cpus", lut.machine.logical_cpus},
                                {"compiler", lut.machine.compiler}}},
                   {"lut_fixed_ms", lut.fixed_ms},
                   {"load_average_before", load_before}};
    {
        const auto table = lut_predictor(lut);
        const prediction_metrics m = evaluate_predictions(y_test, table->predict(x_test));
        print_metrics("lut", m);
        report["predictors"]["lut"] = metrics_json(m, 0, 0);
    }
    if (a.passes >= 2) {
        // The second pass's measurement as a prediction of the first's, on the held-out architectures.
        std::vector<double> p1, p2;
        for (std::size_t i = n_train; i < a.samples; ++i) p1.push_back(pass_ms[0][i]), p2.push_back(pass_ms[1][i]);
        const prediction_metrics m = evaluate_predictions(p1, p2);
        print_metrics("repeat", m);
        report["predictors"]["repeat"] = metrics_json(m, 0, 0);
    }
    std::vector<std::unique_ptr<latency_predictor>> predictors;
    predictors.push_back(std::make_unique<additive_predictor>());
    predictors.push_back(std::make_unique<mlp_predictor>(mlp_options{.seed = a.seed}));
    residual_options ro;
    ro.mlp.seed = a.seed;
    predictors.push_back(std::make_unique<residual_predictor>(ro));
    for (auto& p : predictors) {
        fmt::print(stderr, "fitting {} on {} architectures...\n", p->name(), n_train);
        p->fit(x_train, y_train);
        const prediction_metrics m = evaluate_predictions(y_test, p->predict(x_test));
        print_metrics(p->name(), m);
        report["predictors"][p->name()] = metrics_json(m, p->fit_seconds(), n_train);
    }
    report["load_average_after"] = load_average();
    report["peak_rss_mb"] = peak_rss_mb();
    write_json(a.out + "/metrics.json", report);
    fmt::print(stderr, "wrote {}/lut.csv, measured.csv, metrics.json\n", a.out);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return run_example("profile_space", [&] {
        const auto a = parse_args(argc, argv);
        return a ? run(*a) : 0;
    });
}
