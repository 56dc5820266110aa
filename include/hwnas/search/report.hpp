#pragma once
// What the search examples do after a search: retrain the derived network
// from scratch with the shared recipe (nn/train.hpp, as train_fixed), measure
// it at batch 1, and write DIR/result.json (train_fixed's fields plus
// search_seconds, peak_rss_mb, method), DIR/architecture.json and
// DIR/search_log.csv, DIR/epochs.csv.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hwnas/io/atomic_file.hpp"
#include "hwnas/latency/measure.hpp"
#include "hwnas/nn/train.hpp"
#include "hwnas/space/architecture_json.hpp"
#include "hwnas/space/cost.hpp"
#include "hwnas/supernet/derive.hpp"

namespace hwnas {

struct search_outcome {
    std::string example, method;
    architecture arch;
    double search_seconds = 0;
    double search_peak_rss_mb = 0;  // process peak at the end of the search (before retraining)
    std::string search_log;          // CSV
    nlohmann::json extra = nlohmann::json::object();
};

// Retrains outcome.arch of s on train, evaluates on test, writes the files; returns result.json's content.
inline nlohmann::json retrain_and_report(const search_space& s, const search_outcome& outcome, const dataset& train,
                                         const dataset& test, const train_recipe& recipe,
                                         const std::filesystem::path& out) {
    std::filesystem::create_directories(out);
    rng init(recipe.seed);
    auto net = derive_network(s, outcome.arch, init);
    train_hooks hooks;
    hooks.checkpoint = out / "checkpoint.bin";
    const train_result res = train_classifier(*net, train, test, recipe, hooks);
    write_file_atomically(out / "epochs.csv", epochs_csv(res.history));
    write_file_atomically(out / "search_log.csv", outcome.search_log);
    net->eval();
    const shape one{1, train.height(), train.width(), train.channels()};
    const timing lat = [&] {
        no_grad guard;
        const var x(tensor::zeros(one));
        return measure([&] { net->forward(x); }, 10, 50);
    }();
    const op_cost cost = network_cost(s, outcome.arch);
    const machine_info machine = describe_machine();
    const nlohmann::json arch = architecture_to_json(s, outcome.arch);
    write_file_atomically(out / "architecture.json", arch.dump(2));
    nlohmann::json result = {
        {"example", outcome.example},
        {"method", outcome.method},
        {"test_accuracy", res.test_accuracy},
        {"params", net->num_parameters()},
        {"macs", cost.macs},
        {"latency_ms", lat.median_ms},
        {"latency", {{"median_ms", lat.median_ms}, {"p10_ms", lat.p10_ms}, {"p90_ms", lat.p90_ms},
                     {"runs", lat.runs}, {"batch", 1}, {"threads", lat.threads}}},
        {"train_seconds", res.train_seconds},
        {"epochs", recipe.epochs},
        {"seed", recipe.seed},
        {"resumed", res.resumed},
        {"search_seconds", outcome.search_seconds},
        {"peak_rss_mb", outcome.search_peak_rss_mb},
        {"peak_rss_mb_with_retrain", peak_rss_mb()},
        {"machine", {{"cpu", machine.cpu_model}, {"logical_cpus", machine.logical_cpus}, {"compiler", machine.compiler}}},
        {"architecture", arch},
        {"search", outcome.extra}};
    write_file_atomically(out / "result.json", result.dump(2));
    return result;
}

// algorithms.md 6, does a search beat random sampling in its own space: the
// searched network against random architectures trained with the same recipe
// (each a json with test_accuracy and latency_ms, measured together): their
// mean accuracy, the searched one's rank by accuracy (1: best), and how many
// random networks at equal or lower latency are more accurate than it.
inline nlohmann::json compare_with_random(const nlohmann::json& searched, const std::vector<nlohmann::json>& randoms) {
    const double acc = searched.at("test_accuracy").get<double>(), ms = searched.at("latency_ms").get<double>();
    int rank = 1, lower = 0, beaten = 0;
    double sum = 0;
    for (const auto& r : randoms) {
        const double a = r.at("test_accuracy").get<double>();
        sum += a;
        rank += a > acc;
        if (r.at("latency_ms").get<double>() <= ms) ++lower, beaten += a > acc;
    }
    const double mean = randoms.empty() ? 0.0 : sum / static_cast<double>(randoms.size());
    return {{"count", randoms.size()},
            {"mean_accuracy", mean},
            {"searched_minus_mean", randoms.empty() ? 0.0 : acc - mean},
            {"rank", rank},
            {"at_lower_latency", lower},
            {"more_accurate_at_lower_latency", beaten}};
}

}  // namespace hwnas
