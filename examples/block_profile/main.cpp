// block_profile: which blocks are hardware-unfriendly on which device, from
// end-to-end latencies only (algorithms.md 5, after Mills et al., CIKM 2021),
// and the reduced space per device.
//
//   block_profile --out DIR --table FILE [--devices COL,COL..] [--accuracy COLUMN | --proxy macs|params]
//                 [--space auto|fbnet_cifar|fbnet_imagenet|nb201] [--samples N] [--seed S] ...
//   block_profile --out DIR --space NAME --samples N [--runs R] [--warmup W] [--stat median|p10|min]
//                 [--threads T] [--seed S] [--proxy macs|params]
//
// With --table: a CSV of measured architectures (shared/data/latency/), one
// op index per choice point in columns layer0.. (FBNet space, fbnet_cifar by
// default: the tables' CIFAR-100 setting) or edge0..edge5 (NAS-Bench-201),
// and one latency column per device (every column ending in _ms unless
// --devices names them). Rows whose network computes nothing (NAS-Bench-201
// cells without a path to the output) and, per device, rows without a
// positive latency are left out. --samples N > 0 uses N rows drawn at random
// (seeded), 0 all of them. Without --table: N architectures of the preset
// --space are sampled and measured end to end on this CPU (device "cpu").
//
// Per device, block effects on latency and on the accuracy value are fitted
// (prune/block_profile.hpp, 20% held out to score the latency fit), and every
// candidate dominated at its position (another one faster with at least the
// same accuracy effect) is dropped (prune/space_reduction.hpp). "Faster"
// means by more than --latency-z (default 2) standard errors of the fitted
// difference: on end-to-end measured devices, noise alone would otherwise
// decide between blocks of near-equal latency (--latency-z 0: any amount).
// --indicators: a block's latency counts where it runs in the derived network
// (live), or wherever it is chosen (chosen: the NAS-Bench-201 tables, whose
// implementations run dead edges too; their fpga and eyeriss columns are exact
// sums over all six edges). auto: chosen for edgeK tables, else live. The
// accuracy proxy always counts live blocks only. The tables
// hold no accuracy: unless --accuracy names a column, the accuracy value is a
// proxy, the derived network's MACs (--proxy macs) or parameters: a block is
// then unfriendly when another block at its position is faster with at least
// as much computation (or as many weights), i.e. the device runs it slowly for
// the work it does. The proxy does not see what MAC-free blocks (skip, pool,
// none) add to accuracy: between them, the fastest always wins.
//
// Output in DIR: effects_<device>.csv (point, op, count, baseline, latency
// effect and standard error, accuracy effect and standard error, kept,
// dominated_by), reduced_<device>.json (the kept and dropped candidates per
// choice point, fit quality, size of the full and reduced space), result.json
// (settings and a per-device summary, unfriendly blocks by op and device) and,
// without --table, measured.csv. Bad input: a message and exit code 2.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <hwnas/core/parallel.hpp>
#include <hwnas/core/rng.hpp>
#include <hwnas/io/cli.hpp>
#include <hwnas/io/csv.hpp>
#include <hwnas/io/json.hpp>
#include <hwnas/io/progress.hpp>
#include <hwnas/prune/space_reduction.hpp>
#include <hwnas/space/presets.hpp>

namespace {

using namespace hwnas;

struct args {
    std::string out, table, devices, accuracy, proxy, space, stat_name, indicators;
    std::size_t samples = 0;
    std::uint64_t seed = 0;
    int runs = 15, warmup = 3, threads = 1;
    timing_stat stat = timing_stat::median;
    block_effect_options fit;
    reduction_options reduce;
};

std::optional<args> parse_args(int argc, char** argv) {
    cli c("block_profile", "block effects on latency per device from end-to-end measurements, hardware-unfriendly "
                           "blocks and the reduced space per device");
    c.option("out", "", "output directory", true)
        .option("table", "", "CSV of measured architectures with per-device latency columns; none: profile this CPU")
        .option("devices", "", "latency columns of --table, comma separated; default every column ending in _ms")
        .option("accuracy", "", "accuracy column of --table; default a proxy (--proxy)")
        .option("proxy", "macs", "accuracy proxy when none is measured: macs or params")
        .option("space", "auto",
                fmt::format("space: with --table auto (layerK: fbnet_cifar, edgeK: nb201) or a preset; without, a "
                            "preset ({})",
                            fmt::join(preset_space_names(), ", ")))
        .option("samples", "0", "rows of --table used (0: all), or architectures measured on this CPU")
        .option("seed", "0", "seed of the samples, the held-out split and the weights")
        .option("holdout", "0.2", "share of the samples held out to score the latency fit")
        .option("ridge", "1e-6", "ridge penalty of the block-effect fits")
        .option("latency-tolerance", "0", "a dominating block must be faster by more than this (ms)")
        .option("latency-z", "2", "... and by more than z standard errors of the latency difference (0: any amount)")
        .option("indicators", "auto",
                "latency model: live (a block counts where it runs in the derived network), chosen (wherever it is "
                "chosen: implementations that run dead edges) or auto (chosen for edgeK tables, else live)")
        .option("accuracy-tolerance", "auto", "accuracy effects within this count as equal; auto: 0.5 for a proxy "
                                              "(integer MACs or parameters), 0 for --accuracy")
        .option("runs", "15", "timed runs per measurement (this CPU)")
        .option("warmup", "3", "untimed runs before them")
        .option("stat", "median", "timing statistic taken as the latency: median, p10 or min")
        .option("threads", "1", "hwnas and OpenBLAS threads");
    if (!c.parse(argc, argv)) {
        std::fputs(c.usage().c_str(), stdout);
        return std::nullopt;
    }
    args a;
    a.out = c.str("out");
    a.table = c.str("table");
    a.devices = c.str("devices");
    a.accuracy = c.str("accuracy");
    a.proxy = c.str("proxy");
    a.space = c.str("space");
    a.stat_name = c.str("stat");
    a.stat = parse_timing_stat(a.stat_name);
    require(a.proxy == "macs" || a.proxy == "params", "--proxy {}: expected macs or params", a.proxy);
    require(!a.table.empty() || (a.devices.empty() && a.accuracy.empty()), "--devices and --accuracy need --table");
    require(!a.table.empty() || a.space != "auto", "--space: without --table, name a preset ({})",
            fmt::join(preset_space_names(), ", "));
    const long long samples = c.integer("samples"), seed = c.integer("seed"), runs = c.integer("runs"),
                    warmup = c.integer("warmup"), threads = c.integer("threads");
    require(samples >= 0 && samples <= 10000000, "--samples {}: expected 0 <= N <= 10^7", samples);
    require(!a.table.empty() || samples >= 10, "--samples {}: measuring this CPU needs N >= 10", samples);
    require(seed >= 0, "--seed {}: expected S >= 0", seed);
    require(runs >= 1 && runs <= 100000 && warmup >= 0 && warmup <= 100000,
            "--runs {} --warmup {}: expected 1 <= R <= 10^5, 0 <= W <= 10^5", runs, warmup);
    require(threads >= 1 && threads <= 1024, "--threads {}: expected 1 <= T <= 1024", threads);
    a.samples = static_cast<std::size_t>(samples);
    a.seed = static_cast<std::uint64_t>(seed);
    a.runs = static_cast<int>(runs);
    a.warmup = static_cast<int>(warmup);
    a.threads = static_cast<int>(threads);
    a.fit = {.ridge = c.real("ridge"), .holdout_fraction = c.real("holdout"), .seed = a.seed};
    a.reduce.latency_tolerance = c.real("latency-tolerance");
    a.reduce.latency_z = c.real("latency-z");
    a.indicators = c.str("indicators");
    require(a.indicators == "auto" || a.indicators == "live" || a.indicators == "chosen",
            "--indicators {}: expected auto, live or chosen", a.indicators);
    a.reduce.accuracy_tolerance =
        c.str("accuracy-tolerance") == "auto" ? (a.accuracy.empty() ? 0.5 : 0.0) : c.real("accuracy-tolerance");
    return a;
}

// One device's measurements: architectures of the space and their latency and accuracy values.
struct device_data {
    std::string device;
    std::vector<architecture> archs;
    std::vector<double> latency, accuracy;
    std::size_t skipped = 0;  // rows without a positive latency
};

std::string file_safe(std::string s) {
    for (char& ch : s)
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-') ch = '_';
    return s;
}

json fit_json(const block_fit_quality& f) {
    const auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
    return {{"n", f.n},           {"r2", num(f.r2)}, {"residual_sd", num(f.residual_sd)}, {"dof", num(f.dof)},
            {"heldout_n", f.heldout_n}, {"heldout_r2", num(f.heldout_r2)}, {"heldout_mape", num(f.heldout_mape)}};
}

std::string level_name(const block_effects& e, std::size_t p, int k) {
    return k < 0 ? "(not run)" : e.candidate_names[p][static_cast<std::size_t>(k)];
}

// Fits, reduces and writes one device; returns its summary for result.json.
json reduce_device(const search_space& s, const device_data& d, const args& a, const std::string& accuracy_source,
                   std::map<std::string, std::map<std::string, int>>& unfriendly_by_op) {
    block_effect_options lat_fit = a.fit, acc_fit = a.fit;
    lat_fit.live_only = a.indicators == "live";
    // An exact integer proxy needs next to no ridge: its shrinkage would decide between equal-cost blocks.
    if (a.accuracy.empty()) acc_fit.ridge = 1e-12;
    const block_effects lat = fit_block_effects(s, d.archs, d.latency, lat_fit);
    const block_effects acc = fit_block_effects(s, d.archs, d.accuracy, acc_fit);
    const candidate_reduction red = reduce_candidates(lat, acc, a.reduce);
    const restricted_space reduced = restrict_candidates(s, red.allowed, fmt::format("{}_{}", s.name(), d.device));
    const std::string tag = file_safe(d.device);

    csv_writer out(a.out + "/effects_" + tag + ".csv",
                   {"point", "point_name", "candidate", "op", "count", "baseline", "latency_effect", "latency_se",
                    "accuracy_effect", "accuracy_se", "kept", "dominated_by"});
    json points = json::array();
    json unfriendly = json::array();
    std::size_t dropped = 0;
    for (std::size_t p = 0; p < lat.effect.size(); ++p) {
        json kept = json::array(), gone = json::array();
        for (std::size_t k = 0; k < lat.effect[p].size(); ++k) {
            const int by = red.dominated_by[p][k];
            out.write_row({std::to_string(p), lat.point_names[p], std::to_string(k), lat.candidate_names[p][k],
                           std::to_string(lat.count[p][k]), level_name(lat, p, lat.baseline[p]),
                           csv_writer::cell(lat.effect[p][k]), csv_writer::cell(lat.std_error[p][k]),
                           csv_writer::cell(acc.effect[p][k]), csv_writer::cell(acc.std_error[p][k]),
                           red.allowed[p][k] ? "1" : "0", by < 0 ? "" : level_name(lat, p, by)});
            if (red.allowed[p][k]) {
                kept.push_back(lat.candidate_names[p][k]);
                continue;
            }
            ++dropped;
            ++unfriendly_by_op[lat.candidate_names[p][k]][d.device];
            const auto b = static_cast<std::size_t>(by);
            const json entry = {{"point", lat.point_names[p]},
                                {"op", lat.candidate_names[p][k]},
                                {"dominated_by", lat.candidate_names[p][b]},
                                {"latency_effect", lat.effect[p][k]},
                                {"latency_se", lat.std_error[p][k]},
                                {"dominator_latency_effect", lat.effect[p][b]},
                                {"accuracy_effect", acc.effect[p][k]},
                                {"dominator_accuracy_effect", acc.effect[p][b]}};
            gone.push_back(entry);
            unfriendly.push_back(entry);
        }
        points.push_back({{"point", lat.point_names[p]}, {"kept", kept}, {"dropped", gone}});
    }
    out.close();
    const space_size full = count_architectures(s), small = count_architectures(reduced.space);
    json fits = {{"latency", fit_json(lat.fit)}, {"accuracy", fit_json(acc.fit)}};
    write_json(a.out + "/reduced_" + tag + ".json",
               {{"device", d.device},
                {"space", s.name()},
                {"reduced_space", reduced.space.name()},
                {"accuracy_source", accuracy_source},
                {"fit", fits},
                {"log10_size_full", full.log10},
                {"log10_size_reduced", small.log10},
                {"choice_points", points}});
    fmt::print(stderr,
               "{:>14}: {} rows, latency R2 {:.4f} (held-out R2 {:.4f}, MAPE {:.2f}%, residual sd {:.4g} ms); "
               "{} of {} blocks dropped, space 10^{:.1f} -> 10^{:.1f}\n",
               d.device, d.archs.size(), lat.fit.r2, lat.fit.heldout_r2, lat.fit.heldout_mape, lat.fit.residual_sd,
               dropped, choice_encoding_size(s), full.log10, small.log10);
    return {{"rows", d.archs.size()},
            {"skipped_non_positive", d.skipped},
            {"fit", fits},
            {"dropped", dropped},
            {"log10_size_reduced", small.log10},
            {"unfriendly", unfriendly}};
}

std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> v;
    std::stringstream in(s);
    for (std::string x; std::getline(in, x, ',');)
        if (!x.empty()) v.push_back(x);
    return v;
}

// The devices of a --table run, read from the file.
std::vector<device_data> read_table(const csv_table& t, const search_space& s, const std::string& prefix,
                                    const args& a, std::size_t& no_output, const accuracy_function& proxy) {
    std::vector<std::size_t> enc;
    for (std::size_t p = 0; p < s.choice_points().size(); ++p) enc.push_back(t.column(fmt::format("{}{}", prefix, p)));
    std::vector<std::string> devices = split_commas(a.devices);
    if (devices.empty())
        for (const auto& h : t.header())
            if (h.ends_with("_ms")) devices.push_back(h);
    require(!devices.empty(), "{}: no latency columns (ending in _ms); name them with --devices", a.table);
    // Usable rows: valid architectures whose network computes something.
    std::vector<std::size_t> rows;
    std::vector<architecture> archs;
    for (std::size_t r = 0; r < t.rows(); ++r) {
        architecture arch;
        for (auto c : enc) {
            const double v = t.number(r, c);
            require(v >= 0 && v == static_cast<int>(v), "{}:{}: column '{}' holds {}, expected an op index", a.table,
                    t.line(r), t.header()[c], v);
            arch.choices.push_back(static_cast<int>(v));
        }
        validate(s, arch);
        if (!live_parts(s, arch).kept.back()) {
            ++no_output;
            continue;
        }
        rows.push_back(r);
        archs.push_back(std::move(arch));
    }
    std::vector<std::size_t> pick(rows.size());
    std::iota(pick.begin(), pick.end(), std::size_t{0});
    if (a.samples > 0 && a.samples < pick.size()) {
        rng gen(a.seed);
        gen.shuffle(pick);
        pick.resize(a.samples);
        std::sort(pick.begin(), pick.end());
    }
    std::vector<double> accuracy;
    const std::size_t acc_col = a.accuracy.empty() ? 0 : t.column(a.accuracy);
    for (auto i : pick) accuracy.push_back(a.accuracy.empty() ? proxy(archs[i]) : t.number(rows[i], acc_col));
    std::vector<device_data> out;
    for (const auto& dev : devices) {
        const std::size_t c = t.column(dev);
        device_data d{dev.ends_with("_ms") ? dev.substr(0, dev.size() - 3) : dev, {}, {}, {}, 0};
        for (std::size_t j = 0; j < pick.size(); ++j) {
            const double y = t.number(rows[pick[j]], c);
            if (y <= 0) {
                ++d.skipped;
                continue;
            }
            d.archs.push_back(archs[pick[j]]);
            d.latency.push_back(y);
            d.accuracy.push_back(accuracy[j]);
        }
        out.push_back(std::move(d));
    }
    return out;
}

// The one device of a run without --table: this CPU, measured with the profiler.
device_data measure_cpu(const search_space& s, const args& a, const accuracy_function& proxy) {
    const progress bar("measure", static_cast<long>(a.samples));
    block_profile_options o;
    o.samples = a.samples;
    o.seed = a.seed;
    o.profile = {.batch = 1, .warmup = a.warmup, .runs = a.runs, .seed = a.seed};
    o.stat = a.stat;
    o.fit = a.fit;
    const block_profile r = profile_blocks(s, proxy, o, [&](std::size_t done, std::size_t total) {
        if (done % std::max<std::size_t>(1, total / 20) == 0 || done == total)
            bar.report(static_cast<long>(done), "");
    });
    std::vector<std::string> header{"arch_id"};
    for (const auto& p : s.choice_points()) header.push_back(p.name);
    for (const auto& g : s.gates()) header.push_back(g.name);
    header.insert(header.end(), {"latency_ms", "accuracy"});
    csv_writer out(a.out + "/measured.csv", header);
    for (std::size_t i = 0; i < r.archs.size(); ++i) {
        std::vector<std::string> row{std::to_string(i)};
        for (int c : r.archs[i].choices) row.push_back(std::to_string(c));
        for (auto e : r.archs[i].edges) row.push_back(std::to_string(e));
        row.push_back(csv_writer::cell(r.latency_ms[i]));
        row.push_back(csv_writer::cell(r.accuracy[i]));
        out.write_row(row);
    }
    out.close();
    return {"cpu", r.archs, r.latency_ms, r.accuracy, 0};
}

int run(const args& a) {
    set_num_threads(a.threads);
    std::filesystem::create_directories(a.out);
    std::string space_name = a.space, prefix;
    std::optional<csv_table> table;
    if (!a.table.empty()) {
        table = read_csv(a.table);
        prefix = table->has_column("layer0") ? "layer" : table->has_column("edge0") ? "edge" : "";
        require(!prefix.empty(), "{}: no encoding columns layer0.. or edge0..", a.table);
        if (space_name == "auto") space_name = prefix == "layer" ? "fbnet_cifar" : "nb201";
    }
    args settings = a;
    if (settings.indicators == "auto") settings.indicators = prefix == "edge" ? "chosen" : "live";
    const search_space s = preset_space(space_name);
    const accuracy_function proxy = a.proxy == "macs" ? macs_proxy(s) : params_proxy(s);
    const std::string accuracy_source =
        !a.accuracy.empty() ? fmt::format("column {}", a.accuracy)
                            : fmt::format("proxy: {} of the derived network (no accuracy measured)", a.proxy);
    fmt::print(stderr, "space {}, accuracy: {}\n", s.name(), accuracy_source);
    std::size_t no_output = 0;
    const std::vector<device_data> devices =
        a.table.empty() ? std::vector<device_data>{measure_cpu(s, a, proxy)} : read_table(*table, s, prefix, a, no_output, proxy);

    json report = {{"mode", a.table.empty() ? "this cpu" : "table"},
                   {"table", a.table.empty() ? json(nullptr) : json(a.table)},
                   {"space", s.name()},
                   {"samples", a.samples},
                   {"seed", a.seed},
                   {"accuracy_source", accuracy_source},
                   {"ridge", a.fit.ridge},
                   {"holdout", a.fit.holdout_fraction},
                   {"latency_tolerance", a.reduce.latency_tolerance},
                   {"latency_z", a.reduce.latency_z},
                   {"accuracy_tolerance", a.reduce.accuracy_tolerance},
                   {"latency_indicators", settings.indicators},
                   {"excluded_no_output", no_output},
                   {"log10_size_full", count_architectures(s).log10}};
    if (a.table.empty())
        report["profile"] = {{"runs", a.runs}, {"warmup", a.warmup}, {"stat", a.stat_name}, {"threads", a.threads},
                             {"cpu_model", describe_machine().cpu_model}};
    std::map<std::string, std::map<std::string, int>> unfriendly_by_op;
    for (const device_data& d : devices) {
        require(d.archs.size() >= 10, "{}: {} usable rows, expected at least 10", d.device, d.archs.size());
        report["devices"][d.device] = reduce_device(s, d, settings, accuracy_source, unfriendly_by_op);
    }
    report["unfriendly_by_op"] = unfriendly_by_op;
    write_json(a.out + "/result.json", report);

    // Positions where each op is dropped, per device.
    std::string line = fmt::format("{:>14}", "dropped at");
    for (const auto& d : devices) line += fmt::format(" {:>11}", d.device.substr(0, 11));
    fmt::print(stderr, "{}\n", line);
    for (const op_spec& op : s.choice_points()[0].candidates) {
        line = fmt::format("{:>14}", op.name);
        for (const auto& d : devices) {
            const auto it = unfriendly_by_op.find(op.name);
            line += fmt::format(" {:>11}", it == unfriendly_by_op.end() || !it->second.contains(d.device)
                                               ? 0
                                               : it->second.at(d.device));
        }
        fmt::print(stderr, "{}\n", line);
    }
    fmt::print(stderr, "wrote {}/result.json, effects_*.csv, reduced_*.json\n", a.out);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    return run_example("block_profile", [&] {
        const auto a = parse_args(argc, argv);
        return a ? run(*a) : 0;
    });
}
