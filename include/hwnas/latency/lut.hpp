#pragma once
// Latency lookup tables (algorithms.md 2.2, 3): per choice point and
// candidate the latency in ms of that candidate in its real input shape(s),
// plus the fixed part (stem, head, and whatever running the whole network
// adds), so that LAT(a) = fixed + sum_p LUT[p][a_p].
// - build_lut profiles every (choice point, candidate) on this CPU; the fixed
//   part is the median over a few sampled architectures of their measured
//   end-to-end latency minus the sum of their entries.
// - save_lut / load_lut: a CSV (part,point,point_name,candidate,op,ms) and a
//   JSON side file PATH.json with where it was measured (space, machine,
//   batch, runs, warm-up, threads).
// - load_fbnet_block_lut reads HW-NAS-Bench's per-block table
//   (shared/data/latency/fbnet_block_lut.csv) for an FBNet preset.
// - to_cost_table / lut_predictor plug a table into the searchers' cost
//   interface and the predictor interface.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "hwnas/io/csv.hpp"
#include "hwnas/io/json.hpp"
#include "hwnas/latency/additive.hpp"
#include "hwnas/latency/profiler.hpp"
#include "hwnas/search/cost_model.hpp"
#include "hwnas/space/sample.hpp"

namespace hwnas {

struct latency_lut {
    std::string space;                                 // the space's name
    std::vector<std::string> points;                   // choice point names, in the space's order
    std::vector<std::vector<std::string>> candidates;  // candidate names per choice point
    std::vector<std::vector<double>> ms;               // latency per choice point and candidate
    double fixed_ms = 0;
    // Where the numbers come from.
    std::string source;  // "measured" or the file and column they were read from
    machine_info machine;
    index_t batch = 1;
    int runs = 0, warmup = 0;
    std::string stat = "median";  // the timing statistic of the entries

    // fixed + the entries of a's choices.
    double of(const architecture& a) const {
        require(a.choices.size() == ms.size(), "latency_lut: architecture has {} choices for {} choice points",
                a.choices.size(), ms.size());
        double t = fixed_ms;
        for (std::size_t p = 0; p < ms.size(); ++p) {
            require(a.choices[p] >= 0 && a.choices[p] < static_cast<int>(ms[p].size()),
                    "latency_lut: choice {} at choice point {}, expected 0..{}", a.choices[p], p, ms[p].size() - 1);
            t += ms[p][static_cast<std::size_t>(a.choices[p])];
        }
        return t;
    }
};

namespace detail {

// An empty table shaped like s.
inline latency_lut lut_skeleton(const search_space& s) {
    latency_lut l;
    l.space = s.name();
    for (const auto& p : s.choice_points()) {
        l.points.push_back(p.name);
        std::vector<std::string> names;
        for (const auto& c : p.candidates) names.push_back(c.name);
        l.candidates.push_back(std::move(names));
        l.ms.emplace_back(p.candidates.size(), std::nan(""));
    }
    return l;
}

// Every entry filled and finite; where names the table in the message.
inline void check_lut_filled(const latency_lut& l, const std::string& where) {
    for (std::size_t p = 0; p < l.ms.size(); ++p)
        for (std::size_t c = 0; c < l.ms[p].size(); ++c)
            if (!std::isfinite(l.ms[p][c]))
                throw io_error(fmt::format("{}: no entry for choice point {} ({}) candidate {} ({})", where, p,
                                           l.points[p], c, l.candidates[p][c]));
    if (!std::isfinite(l.fixed_ms)) throw io_error(fmt::format("{}: no fixed part", where));
}

}  // namespace detail

struct lut_options {
    profile_options profile;
    int fixed_samples = 5;  // architectures measured end to end for the fixed part
    timing_stat stat = timing_stat::median;
};

// The table of s measured on this CPU. progress(done, total), if given, is
// called after each measurement.
inline latency_lut build_lut(const search_space& s, const lut_options& o = {},
                             const std::function<void(std::size_t, std::size_t)>& progress = {}) {
    require(o.fixed_samples >= 1, "build_lut: {} fixed samples, expected >= 1", o.fixed_samples);
    latency_lut l = detail::lut_skeleton(s);
    std::size_t total = static_cast<std::size_t>(o.fixed_samples), done = 0;
    for (const auto& row : l.ms) total += row.size();
    for (std::size_t p = 0; p < l.ms.size(); ++p)
        for (std::size_t c = 0; c < l.ms[p].size(); ++c) {
            l.ms[p][c] = s.choice_points()[p].zero[c]
                             ? 0.0
                             : pick(profile_choice(s, static_cast<int>(p), static_cast<int>(c), o.profile).t, o.stat);
            if (progress) progress(++done, total);
        }
    rng gen(o.profile.seed ^ 0xf1eedULL);
    std::vector<double> rest;
    for (int i = 0; i < o.fixed_samples; ++i) {
        const architecture a = sample_architecture(s, gen);
        l.fixed_ms = 0;
        rest.push_back(pick(profile_network(s, a, o.profile).t, o.stat) - l.of(a));
        if (progress) progress(++done, total);
    }
    std::sort(rest.begin(), rest.end());
    l.fixed_ms = rest.size() % 2 ? rest[rest.size() / 2] : 0.5 * (rest[rest.size() / 2 - 1] + rest[rest.size() / 2]);
    l.source = "measured";
    l.machine = describe_machine();
    l.batch = o.profile.batch;
    l.runs = o.profile.runs;
    l.warmup = o.profile.warmup;
    l.stat = o.stat == timing_stat::median ? "median" : o.stat == timing_stat::p10 ? "p10" : "min";
    return l;
}

// Writes path (CSV) and path.json (metadata).
inline void save_lut(const latency_lut& l, const std::string& path) {
    {
        csv_writer w(path, {"part", "point", "point_name", "candidate", "op", "ms"});
        w.write_row({"fixed", "", "", "", "", csv_writer::cell(l.fixed_ms)});
        for (std::size_t p = 0; p < l.ms.size(); ++p)
            for (std::size_t c = 0; c < l.ms[p].size(); ++c)
                w.write_row({"choice", std::to_string(p), l.points[p], std::to_string(c), l.candidates[p][c],
                             csv_writer::cell(l.ms[p][c])});
        w.close();
    }
    write_json(path + ".json", {{"space", l.space},
                                {"unit", "ms"},
                                {"source", l.source},
                                {"batch", l.batch},
                                {"runs", l.runs},
                                {"warmup", l.warmup},
                                {"stat", l.stat},
                                {"machine",
                                 {{"cpu_model", l.machine.cpu_model},
                                  {"logical_cpus", l.machine.logical_cpus},
                                  {"threads", l.machine.threads},
                                  {"compiler", l.machine.compiler}}}});
}

// Reads a table written by save_lut for space s: io_error when the file or a
// row is missing or does not fit s (names, ranges, duplicates).
inline latency_lut load_lut(const std::string& path, const search_space& s) {
    const csv_table t = read_csv(path);
    latency_lut l = detail::lut_skeleton(s);
    l.fixed_ms = std::nan("");
    const std::size_t part = t.column("part"), point = t.column("point"), point_name = t.column("point_name"),
                      cand = t.column("candidate"), op = t.column("op"), ms = t.column("ms");
    for (std::size_t r = 0; r < t.rows(); ++r) {
        const std::string where = fmt::format("{}:{}", path, t.line(r));
        const double v = t.number(r, ms);
        if (t.cell(r, part) == "fixed") {
            if (std::isfinite(l.fixed_ms)) throw io_error(fmt::format("{}: a second fixed row", where));
            l.fixed_ms = v;
            continue;
        }
        if (t.cell(r, part) != "choice")
            throw io_error(fmt::format("{}: part '{}', expected fixed or choice", where, t.cell(r, part)));
        const double pd = t.number(r, point), cd = t.number(r, cand);
        if (pd < 0 || pd >= static_cast<double>(l.ms.size()) || pd != std::floor(pd))
            throw io_error(fmt::format("{}: choice point {}, the space {} has {}", where, pd, s.name(), l.ms.size()));
        const auto p = static_cast<std::size_t>(pd);
        if (cd < 0 || cd >= static_cast<double>(l.ms[p].size()) || cd != std::floor(cd))
            throw io_error(fmt::format("{}: candidate {}, choice point {} has {}", where, cd, p, l.ms[p].size()));
        const auto c = static_cast<std::size_t>(cd);
        if (t.cell(r, point_name) != l.points[p] || t.cell(r, op) != l.candidates[p][c])
            throw io_error(fmt::format("{}: '{}' '{}', the space {} has '{}' '{}' there", where, t.cell(r, point_name),
                                       t.cell(r, op), s.name(), l.points[p], l.candidates[p][c]));
        if (std::isfinite(l.ms[p][c]))
            throw io_error(fmt::format("{}: a second row for choice point {} candidate {}", where, p, c));
        l.ms[p][c] = v;
    }
    detail::check_lut_filled(l, path);
    l.source = path;
    if (std::filesystem::exists(path + ".json")) {
        const json m = read_json(path + ".json");
        if (m.value("space", s.name()) != s.name())
            throw io_error(fmt::format("{}.json: the table is of the space {}, expected {}", path,
                                       m.value("space", std::string()), s.name()));
        l.source = m.value("source", path);
        l.batch = m.value("batch", index_t{1});
        l.runs = m.value("runs", 0);
        l.warmup = m.value("warmup", 0);
        l.stat = m.value("stat", std::string("median"));
        if (m.contains("machine")) {
            const json& mi = m["machine"];
            l.machine = {mi.value("cpu_model", std::string()), mi.value("logical_cpus", 0), mi.value("threads", 0),
                         mi.value("compiler", std::string())};
        }
    }
    return l;
}

// HW-NAS-Bench's FBNet block table (columns dataset, part, layer, op_index,
// op_name, H, Cin, Cout, stride and the metrics) for an FBNet preset s
// (fbnet_cifar with dataset "cifar100", fbnet_imagenet with "imagenet"):
// block rows give (layer, op_index), checked against the space's candidate
// name and shapes; stem, head_conv, avgpool and fc rows sum to the fixed part.
// column is the metric, e.g. "raspi4_latency_ms".
inline latency_lut load_fbnet_block_lut(const std::string& path, const search_space& s, std::string_view dataset,
                                        std::string_view column) {
    const csv_table t = read_csv(path);
    const std::size_t ds = t.column("dataset"), part = t.column("part"), layer = t.column("layer"),
                      op = t.column("op_index"), name = t.column("op_name"), h = t.column("H"),
                      cin = t.column("Cin"), cout = t.column("Cout"), stride = t.column("stride"),
                      metric = t.column(column);
    latency_lut l = detail::lut_skeleton(s);
    l.fixed_ms = 0;
    bool any = false;
    for (std::size_t r = 0; r < t.rows(); ++r) {
        if (t.cell(r, ds) != dataset) continue;
        any = true;
        const std::string where = fmt::format("{}:{}", path, t.line(r));
        const double v = t.number(r, metric);
        if (t.cell(r, part) != "block") {
            l.fixed_ms += v;
            continue;
        }
        const double ld = t.number(r, layer), od = t.number(r, op);
        if (ld < 0 || ld >= static_cast<double>(l.ms.size()) || ld != std::floor(ld))
            throw io_error(fmt::format("{}: layer {} is not in the space {} ({} choice points)", where, ld, s.name(),
                                       l.ms.size()));
        const auto p = static_cast<std::size_t>(ld);
        if (od < 0 || od >= static_cast<double>(l.ms[p].size()) || od != std::floor(od))
            throw io_error(fmt::format("{}: op index {} is not in the space {} ({} candidates at layer {})", where, od,
                                       s.name(), l.ms[p].size(), p));
        const auto c = static_cast<std::size_t>(od);
        if (t.cell(r, name) != l.candidates[p][c])
            throw io_error(fmt::format("{}: op '{}' at layer {} index {}, the space {} has '{}' there", where,
                                       t.cell(r, name), p, c, s.name(), l.candidates[p][c]));
        const edge_ref e = s.choice_points()[p].sites.at(0);
        const op_site& site = s.nodes()[static_cast<std::size_t>(e.node)].inputs[static_cast<std::size_t>(e.input)].site;
        const double got[] = {t.number(r, h), t.number(r, cin), t.number(r, cout), t.number(r, stride)};
        const double want[] = {static_cast<double>(site.in.h), static_cast<double>(site.in.c),
                               static_cast<double>(site.cout), static_cast<double>(site.stride)};
        if (!std::equal(std::begin(got), std::end(got), std::begin(want)))
            throw io_error(fmt::format("{}: H, Cin, Cout, stride {}, {}, {}, {}; layer {} of the space {} has {}, {}, "
                                       "{}, {}",
                                       where, got[0], got[1], got[2], got[3], p, s.name(), want[0], want[1], want[2],
                                       want[3]));
        if (std::isfinite(l.ms[p][c]))
            throw io_error(fmt::format("{}: a second row for layer {} op {}", where, p, c));
        l.ms[p][c] = v;
    }
    if (!any) throw io_error(fmt::format("{}: no rows of dataset '{}'", path, dataset));
    detail::check_lut_filled(l, fmt::format("{} ({})", path, dataset));
    l.source = fmt::format("{} ({}, {})", path, dataset, column);
    return l;
}

// The table as the searchers' cost (search/cost_model.hpp), in ms.
// space: count only live choice points (DAG spaces); it must be the table's.
inline cost_table to_cost_table(const latency_lut& l, const search_space* space = nullptr) {
    require(!space || space->name() == l.space, "to_cost_table: the table is of the space {}, not {}", l.space,
            space ? space->name() : "");
    return cost_table(l.ms, l.fixed_ms, "ms", space ? std::make_shared<const search_space>(*space) : nullptr);
}

// The table as a ready additive predictor on the one-hot choice encoding.
inline std::unique_ptr<additive_predictor> lut_predictor(const latency_lut& l) {
    return std::make_unique<additive_predictor>(l.ms, l.fixed_ms);
}

}  // namespace hwnas

namespace hwnas {

// The table corrected to whole networks: measured ~ a + b * table.of(arch),
// fitted by least squares on end-to-end measurements (a, b from the fit; the
// result scales every entry by b and makes the fixed part a + b * fixed).
// Isolated ops miss what running them together costs or saves (cache, the
// adds of DAG nodes, framework overhead), mostly in proportion to the work;
// the correction keeps the table additive, so it stays a differentiable cost.
struct lut_calibration {
    double offset_ms = 0, scale = 1;
};

inline lut_calibration fit_lut_calibration(const latency_lut& l, const search_space& s,
                                           std::span<const architecture> archs, std::span<const double> measured_ms) {
    require(archs.size() == measured_ms.size() && archs.size() >= 2,
            "fit_lut_calibration: {} architectures and {} measurements, expected equal counts of at least 2",
            archs.size(), measured_ms.size());
    const cost_table table = to_cost_table(l, &s);
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    const auto n = static_cast<double>(archs.size());
    for (std::size_t i = 0; i < archs.size(); ++i) {
        const double x = table.of(archs[i]), y = measured_ms[i];
        require<numeric_error>(std::isfinite(y) && y > 0, "fit_lut_calibration: measurement {} is {}, expected > 0", i, y);
        sx += x, sy += y, sxx += x * x, sxy += x * y;
    }
    const double var = sxx - sx * sx / n;
    require<numeric_error>(var > 1e-12 * std::max(1.0, sxx),
                           "fit_lut_calibration: the architectures' table latencies are all equal; cannot fit a scale");
    lut_calibration c;
    c.scale = (sxy - sx * sy / n) / var;
    c.offset_ms = (sy - c.scale * sx) / n;
    require<numeric_error>(c.scale > 0, "fit_lut_calibration: fitted scale {} is not positive (measurements do not grow "
                                        "with the table)", c.scale);
    // Clean fits here have offsets of -0.02 ms and scales of 1.06-1.10, so the
    // shared part stays near 0.065 ms; a noisy one (5 runs on a busy machine:
    // -1.23 ms + 6.4x) made it negative and predicted -0.009 ms for networks
    // that measured 0.18 ms.
    const double shared = c.offset_ms + c.scale * l.fixed_ms;
    require<numeric_error>(shared > 0, "fit_lut_calibration: the fit ({:.4f} ms + {:.3f} x) gives the part every network "
                           "shares {:.4f} ms ({:.4f} ms measured alone), expected > 0: the measurements are too noisy "
                           "for the table (more runs, or an idle machine)", c.offset_ms, c.scale, shared, l.fixed_ms);
    return c;
}

inline latency_lut calibrated(latency_lut l, const lut_calibration& c) {
    for (auto& row : l.ms)
        for (double& v : row) v *= c.scale;
    l.fixed_ms = c.offset_ms + c.scale * l.fixed_ms;
    l.source += fmt::format(" (calibrated: {:.4f} ms + {:.4f} x)", c.offset_ms, c.scale);
    return l;
}

// A table of s built on this CPU (build_lut) and calibrated to whole
// networks: `fit` architectures sampled with gen measured end to end fit the
// calibration, `check` more are held out to score it.
struct calibrated_lut {
    latency_lut isolated, fitted;
    lut_calibration calibration;
    std::vector<double> check_measured, check_predicted;  // the held-out architectures, by fitted.of
};

inline calibrated_lut build_calibrated_lut(const search_space& s, const lut_options& o, rng& gen, int fit = 16,
                                           int check = 8,
                                           const std::function<void(std::size_t, std::size_t)>& progress = {}) {
    require(fit >= 2 && check >= 0, "build_calibrated_lut: {} fitting and {} held-out architectures, expected >= 2 "
            "and >= 0", fit, check);
    calibrated_lut r;
    r.isolated = build_lut(s, o, progress);
    std::vector<architecture> archs;
    std::vector<double> measured;
    for (int i = 0; i < fit + check; ++i) {
        archs.push_back(sample_architecture(s, gen));
        measured.push_back(pick(profile_network(s, archs.back(), o.profile).t, o.stat));
    }
    const auto nf = static_cast<std::size_t>(fit);
    r.calibration = fit_lut_calibration(r.isolated, s, {archs.data(), nf}, {measured.data(), nf});
    r.fitted = calibrated(r.isolated, r.calibration);
    const cost_table table = to_cost_table(r.fitted, &s);
    for (std::size_t i = nf; i < archs.size(); ++i) {
        r.check_measured.push_back(measured[i]);
        r.check_predicted.push_back(table.of(archs[i]));
    }
    return r;
}

}  // namespace hwnas
