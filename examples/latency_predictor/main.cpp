// latency_predictor: trains hwnas's latency predictors on a table of measured
// architectures and scores them on held-out ones.
//
//   latency_predictor --train FILE --metric COLUMN --samples N --out DIR
//                     [--test FILE] [--predictor NAME|all] [--seed S] [--ops K] [--threads T]
//
// Input: a CSV with one architecture per row. Encoding columns are those named
// layerK or edgeK (K = 0, 1, ...; one family per file, K contiguous from 0):
// each holds an op index, one-hot encoded with --ops ops per position, or
// else (--ops 0) the largest index seen in the train and test files + 1.
// COLUMN is the measured cost to predict.
// Rows left out: a non-positive COLUMN value (not measured), and for
// NAS-Bench-201 tables (exactly edge0..edge5) the cells whose output is zero:
// no path from node 0 to node 3 through edges whose op is not `none` (index
// 0). Edges: edge0 = 1<-0, edge1 = 2<-0, edge2 = 2<-1, edge3 = 3<-0,
// edge4 = 3<-1, edge5 = 3<-2.
// Split: N rows drawn at random (seeded) train the predictors; every other
// usable row is scored, or every usable row of --test when given.
// Output in DIR: metrics.json (per predictor: MAPE %, RMSE, within5,
// within10 as shares, Kendall tau-b, Spearman rho, fit seconds, n_train,
// n_test), predictions.csv (row = 0-based data row of the scored file,
// measured, one column per predictor), scatter.svg (predicted vs measured
// with y = x and the +-10% band; at most 3000 points per predictor, drawn at
// random). Progress goes to stderr. Bad input: a message and exit code 2.
// Measurements and the choice of predictors: README.md next to this file.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <hwnas/core/parallel.hpp>
#include <hwnas/core/rng.hpp>
#include <hwnas/io/cli.hpp>
#include <hwnas/io/csv.hpp>
#include <hwnas/io/json.hpp>
#include <hwnas/io/svg_plot.hpp>
#include <hwnas/latency/additive.hpp>
#include <hwnas/latency/metrics.hpp>
#include <hwnas/latency/mlp.hpp>
#include <hwnas/latency/residual.hpp>

namespace {

using namespace hwnas;

// additive: least-squares table (the baseline); robust_additive: the same
// table fitted for relative error with the Huber loss (the residual
// predictor's table, shown alone to separate its gain from the net's); mlp;
// residual: robust table + MLP correction (residual.hpp).
const std::vector<std::string> predictor_names = {"additive", "robust_additive", "mlp", "residual"};

std::unique_ptr<latency_predictor> make_predictor(const std::string& name, std::uint64_t seed) {
    mlp_options mo;
    mo.seed = seed;
    mo.verbose = true;
    residual_options ro;
    ro.mlp.seed = seed;
    ro.mlp.verbose = true;
    if (name == "additive") return std::make_unique<additive_predictor>();
    if (name == "robust_additive") return std::make_unique<additive_predictor>(ro.additive);
    if (name == "mlp") return std::make_unique<mlp_predictor>(mo);
    if (name == "residual") return std::make_unique<residual_predictor>(ro);
    throw config_error(fmt::format("--predictor: unknown predictor '{}', expected one of {} or all", name,
                                   fmt::join(predictor_names, ", ")));
}

struct args {
    std::string train, test, metric, out, predictor;
    std::size_t samples = 0;
    std::uint64_t seed = 0;
    int ops = 0;  // 0: from the data
};

// nullopt when --help was asked for (the usage is printed).
std::optional<args> parse_args(int argc, char** argv) {
    cli c("latency_predictor", "trains latency predictors on measured architectures, scores them on held-out ones");
    c.option("train", "", "CSV with layerK or edgeK op-index columns and measured cost columns", true)
        .option("metric", "", "the cost column to predict", true)
        .option("samples", "", "training rows, drawn at random (seeded)", true)
        .option("out", "", "output directory", true)
        .option("test", "", "score on this file's usable rows instead of the train file's other rows")
        .option("predictor", "all", fmt::format("{} or all", fmt::join(predictor_names, "|")))
        .option("seed", "0", "seed of the split and of the learned predictors")
        .option("ops", "0", "ops per position; 0: the largest index in the data + 1")
        .option("threads", "1", "threads for hwnas and OpenBLAS (the MLPs' matrices are small: 1 is fastest)");
    if (!c.parse(argc, argv)) {
        std::fputs(c.usage().c_str(), stdout);
        return std::nullopt;
    }
    args a{c.str("train"), c.str("test"), c.str("metric"), c.str("out"), c.str("predictor")};
    const long long samples = c.integer("samples"), seed = c.integer("seed"), ops = c.integer("ops"),
                    threads = c.integer("threads");
    require(samples >= 1, "--samples {}: expected N >= 1", samples);
    require(seed >= 0, "--seed {}: expected S >= 0", seed);
    require(ops >= 0 && ops <= 1 << 20, "--ops {}: expected 0 <= K <= 2^20", ops);
    a.samples = static_cast<std::size_t>(samples);
    a.seed = static_cast<std::uint64_t>(seed);
    a.ops = static_cast<int>(ops);
    require(threads >= 1 && threads <= 1024, "--threads {}: expected 1..1024", threads);
    set_num_threads(static_cast<int>(threads));
    if (a.predictor != "all") make_predictor(a.predictor, 0);  // validates the name early
    return a;
}

// The layerK / edgeK columns of a table, in K order.
std::vector<std::size_t> encoding_columns(const csv_table& t) {
    static const std::regex pattern(R"((layer|edge)(\d+))");
    std::string family;
    std::map<int, std::size_t> by_k;
    for (std::size_t c = 0; c < t.columns(); ++c) {
        std::smatch m;
        if (!std::regex_match(t.header()[c], m, pattern)) continue;
        if (!family.empty() && m[1] != family)
            throw config_error(fmt::format("{}: both layerK and edgeK columns, expected one family", t.path()));
        family = m[1];
        by_k[std::stoi(m[2])] = c;
    }
    if (by_k.empty())
        throw config_error(fmt::format("{}: no encoding columns (named layerK or edgeK)", t.path()));
    std::vector<std::size_t> cols;
    for (auto [k, c] : by_k) {
        if (k != static_cast<int>(cols.size()))
            throw config_error(fmt::format("{}: encoding column {}{} is missing (columns must be {}0..{}{})", t.path(),
                                           family, cols.size(), family, family, by_k.rbegin()->first));
        cols.push_back(c);
    }
    return cols;
}

// A NAS-Bench-201 cell whose output node 3 is reachable from node 0 through non-`none` edges.
bool nb201_has_path(const std::vector<int>& e) {
    const bool n1 = e[0] != 0;
    const bool n2 = e[1] != 0 || (n1 && e[2] != 0);
    return e[3] != 0 || (n1 && e[4] != 0) || (n2 && e[5] != 0);
}

struct dataset {
    std::vector<std::vector<int>> archs;
    std::vector<double> cost;
    std::vector<std::size_t> row;  // 0-based data row in the file
    std::size_t skipped_cost = 0, skipped_no_path = 0;
};

dataset load(const csv_table& t, const std::string& metric, const std::vector<std::string>& enc_names) {
    std::vector<std::size_t> enc = encoding_columns(t);
    std::vector<std::string> names;
    for (auto c : enc) names.push_back(t.header()[c]);
    if (!enc_names.empty() && names != enc_names)
        throw config_error(fmt::format("{}: encoding columns {} differ from the training file's {}", t.path(),
                                       fmt::join(names, ","), fmt::join(enc_names, ",")));
    const bool nb201 = names == std::vector<std::string>{"edge0", "edge1", "edge2", "edge3", "edge4", "edge5"};
    const std::size_t mc = t.column(metric);
    dataset d;
    for (std::size_t r = 0; r < t.rows(); ++r) {
        std::vector<int> arch;
        for (auto c : enc) {
            const double v = t.number(r, c);
            if (v < 0 || v != static_cast<int>(v))
                throw config_error(fmt::format("{}:{}: column '{}' holds {}, expected an op index (integer >= 0)",
                                               t.path(), t.line(r), t.header()[c], v));
            arch.push_back(static_cast<int>(v));
        }
        const double y = t.number(r, mc);
        if (y <= 0) {
            ++d.skipped_cost;
            continue;
        }
        if (nb201 && !nb201_has_path(arch)) {
            ++d.skipped_no_path;
            continue;
        }
        d.archs.push_back(std::move(arch));
        d.cost.push_back(y);
        d.row.push_back(r);
    }
    return d;
}

dataset subset(const dataset& d, std::span<const std::size_t> idx) {
    dataset s;
    for (auto i : idx) {
        s.archs.push_back(d.archs[i]);
        s.cost.push_back(d.cost[i]);
        s.row.push_back(d.row[i]);
    }
    return s;
}

json metrics_json(const prediction_metrics& m, double fit_seconds, std::size_t n_train) {
    return {{"mape", m.mape},
            {"rmse", m.rmse},
            {"within5", m.within5},
            {"within10", m.within10},
            {"kendall_tau", m.kendall_tau},
            {"spearman_rho", m.spearman_rho},
            {"fit_seconds", fit_seconds},
            {"n_train", n_train},
            {"n_test", m.n}};
}

int run(const args& a) {
    fmt::print(stderr, "reading {}\n", a.train);
    const csv_table train_table = read_csv(a.train);
    const dataset all = load(train_table, a.metric, {});
    std::vector<std::string> enc_names;
    for (auto c : encoding_columns(train_table)) enc_names.push_back(train_table.header()[c]);
    fmt::print(stderr, "{}: {} usable rows ({} without a positive {}, {} with no path), {} encoding columns\n",
               a.train, all.archs.size(), all.skipped_cost, a.metric, all.skipped_no_path, enc_names.size());
    if (a.samples > all.archs.size() || (a.test.empty() && a.samples >= all.archs.size()))
        throw config_error(fmt::format("--samples {}: {} has only {} usable rows{}", a.samples, a.train,
                                       all.archs.size(), a.test.empty() ? ", and some must be left to test on" : ""));

    std::vector<std::size_t> order(all.archs.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    rng gen(a.seed);
    gen.shuffle(order);
    const dataset train = subset(all, std::span(order).first(a.samples));
    dataset test;
    if (a.test.empty()) {
        std::vector<std::size_t> rest(order.begin() + static_cast<std::ptrdiff_t>(a.samples), order.end());
        std::sort(rest.begin(), rest.end());
        test = subset(all, rest);
    } else {
        fmt::print(stderr, "reading {}\n", a.test);
        test = load(read_csv(a.test), a.metric, enc_names);
        require(test.archs.size() >= 2, "--test: {} has {} usable rows, expected at least 2", a.test,
                test.archs.size());
    }

    int max_op = 0;
    for (const dataset* d : {&all, static_cast<const dataset*>(&test)})
        for (const auto& arch : d->archs) max_op = std::max(max_op, *std::max_element(arch.begin(), arch.end()));
    if (a.ops > 0 && max_op >= a.ops)
        throw config_error(fmt::format("--ops {}: the data holds op index {}", a.ops, max_op));
    const one_hot_layout layout(std::vector<int>(enc_names.size(), a.ops > 0 ? a.ops : max_op + 1));
    const tensor x_train = layout.encode(train.archs), x_test = layout.encode(test.archs);
    fmt::print(stderr, "train {} rows, test {} rows, encoding width {}\n", train.archs.size(), test.archs.size(),
               layout.width());

    std::filesystem::create_directories(a.out);
    const std::vector<std::string> names =
        a.predictor == "all" ? predictor_names : std::vector<std::string>{a.predictor};
    json report = {{"train", a.train},       {"test", a.test.empty() ? json(nullptr) : json(a.test)},
                   {"metric", a.metric},     {"samples", a.samples},
                   {"seed", a.seed},         {"encoding_columns", enc_names},
                   {"ops_per_position", layout.ops(0)},
                   {"excluded", {{"non_positive_metric", all.skipped_cost + test.skipped_cost},
                                 {"no_path", all.skipped_no_path + test.skipped_no_path}}}};
    std::vector<std::vector<double>> predictions;
    for (const auto& name : names) {
        auto p = make_predictor(name, a.seed);
        fmt::print(stderr, "fitting {} on {} rows...\n", name, train.archs.size());
        p->fit(x_train, train.cost);
        predictions.push_back(p->predict(x_test));
        const prediction_metrics m = evaluate_predictions(test.cost, predictions.back());
        fmt::print(stderr, "{:>16}: MAPE {:6.2f}%  RMSE {:8.4f}  within5 {:5.1f}%  within10 {:5.1f}%  tau {:.4f}  rho {:.4f}  ({:.2f} s)\n",
                   name, m.mape, m.rmse, 100 * m.within5, 100 * m.within10, m.kendall_tau, m.spearman_rho,
                   p->fit_seconds());
        report["predictors"][name] = metrics_json(m, p->fit_seconds(), train.archs.size());
        if (const auto* r = dynamic_cast<const residual_predictor*>(p.get())) {
            const float wd = r->chosen_weight_decay();  // NaN: the table alone validated best
            report["predictors"][name]["chosen_weight_decay"] = std::isnan(wd) ? json("table alone") : json(wd);
            fmt::print(stderr, "{:>16}  (validation chose {})\n", "",
                       std::isnan(wd) ? "the table alone" : fmt::format("the net with weight decay {}", wd));
        }
    }
    write_json(a.out + "/metrics.json", report);

    std::vector<std::string> header{"row", "measured"};
    header.insert(header.end(), names.begin(), names.end());
    csv_writer out(a.out + "/predictions.csv", header);
    for (std::size_t i = 0; i < test.archs.size(); ++i) {
        std::vector<std::string> cells{std::to_string(test.row[i]), csv_writer::cell(test.cost[i])};
        for (const auto& p : predictions) cells.push_back(csv_writer::cell(p[i]));
        out.write_row(cells);
    }
    out.close();

    std::vector<std::size_t> shown(test.archs.size());
    std::iota(shown.begin(), shown.end(), std::size_t{0});
    gen.shuffle(shown);
    shown.resize(std::min<std::size_t>(shown.size(), 3000));
    svg_plot plot(fmt::format("{}: predicted vs measured ({} held-out architectures)", a.metric, test.archs.size()),
                  fmt::format("measured {}", a.metric), fmt::format("predicted {}", a.metric));
    for (std::size_t k = 0; k < names.size(); ++k) {
        std::vector<double> mx, py;
        for (auto i : shown) mx.push_back(test.cost[i]), py.push_back(predictions[k][i]);
        plot.scatter(names[k], mx, py);
    }
    plot.diagonal(0.1).save(a.out + "/scatter.svg");
    fmt::print(stderr, "wrote {}/metrics.json, predictions.csv, scatter.svg\n", a.out);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return run_example("latency_predictor", [&] {
        const auto a = parse_args(argc, argv);
        return a ? run(*a) : 0;
    });
}
