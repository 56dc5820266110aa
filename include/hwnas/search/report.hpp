#pragma once
// What the examples do with a network to report: train it with the shared
// recipe (nn/train.hpp), measure it at batch 1 and write the result files
// (train_and_report, which train_fixed uses as it is); after a search, the
// derived network retrained from scratch with the search's fields added
// (retrain_and_report); and the comparison with random architectures.
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

// A network trained with the recipe (resuming from dir/checkpoint.bin) and
// measured at batch 1 afterwards: dir/epochs.csv, dir/architecture.json, and
// the result.json fields every example shares (test_accuracy, params, macs,
// latency, training, machine, architecture). latency_threads > 0 measures on
// that many threads (the training's count is restored after).
inline nlohmann::json train_and_report(module& net, const dataset& train, const dataset& test,
                                       const train_recipe& recipe, const std::filesystem::path& dir, double macs,
                                       const nlohmann::json& arch, int latency_threads = 0) {
    std::filesystem::create_directories(dir);
    train_hooks hooks;
    hooks.checkpoint = dir / "checkpoint.bin";
    const train_result res = train_classifier(net, train, test, recipe, hooks);
    write_file_atomically(dir / "epochs.csv", epochs_csv(res.history));
    net.eval();
    const timing lat = [&] {
        const thread_count_scope threads(latency_threads);
        no_grad guard;
        const var x(tensor::zeros({1, train.height(), train.width(), train.channels()}));
        return measure([&] { net.forward(x); }, 10, 50);
    }();
    const machine_info machine = describe_machine();
    write_file_atomically(dir / "architecture.json", arch.dump(2));
    return {{"test_accuracy", res.test_accuracy},
            {"params", net.num_parameters()},
            {"macs", macs},
            {"latency_ms", lat.median_ms},
            {"latency", {{"median_ms", lat.median_ms}, {"p10_ms", lat.p10_ms}, {"p90_ms", lat.p90_ms},
                         {"runs", lat.runs}, {"batch", 1}, {"threads", lat.threads}}},
            {"train_seconds", res.train_seconds},
            {"epochs", recipe.epochs},
            {"seed", recipe.seed},
            {"bn_calibration_images", recipe.bn_calibration_images},
            {"resumed", res.resumed},
            {"peak_rss_mb", peak_rss_mb()},
            {"machine",
             {{"cpu", machine.cpu_model}, {"logical_cpus", machine.logical_cpus}, {"compiler", machine.compiler}}},
            {"architecture", arch}};
}

// Retrains outcome.arch of s on train from scratch, evaluates on test, writes
// the files (train_and_report's, and dir/search_log.csv); returns
// result.json's content.
inline nlohmann::json retrain_and_report(const search_space& s, const search_outcome& outcome, const dataset& train,
                                         const dataset& test, const train_recipe& recipe,
                                         const std::filesystem::path& out) {
    rng init(recipe.seed);
    auto net = derive_network(s, outcome.arch, init);
    nlohmann::json result = train_and_report(*net, train, test, recipe, out, network_cost(s, outcome.arch).macs,
                                             architecture_to_json(s, outcome.arch));
    write_file_atomically(out / "search_log.csv", outcome.search_log);
    result["example"] = outcome.example;
    result["method"] = outcome.method;
    result["search_seconds"] = outcome.search_seconds;
    result["peak_rss_mb_with_retrain"] = result["peak_rss_mb"];
    result["peak_rss_mb"] = outcome.search_peak_rss_mb;
    result["search"] = outcome.extra;
    write_file_atomically(out / "result.json", result.dump(2));
    return result;
}

// algorithms.md 6, does a search beat random sampling in its own space: the
// searched network against random architectures trained with the same recipe
// (each a json with latency_ms, measured together, and an accuracy under
// `accuracy`: test_accuracy, or the mean of repeated trainings): their mean
// accuracy, the searched one's rank by accuracy (1: best), and how many
// random networks at equal or lower latency are more accurate than it.
inline nlohmann::json compare_with_random(const nlohmann::json& searched, const std::vector<nlohmann::json>& randoms,
                                          const std::string& accuracy = "test_accuracy") {
    const double acc = searched.at(accuracy).get<double>(), ms = searched.at("latency_ms").get<double>();
    int rank = 1, lower = 0, beaten = 0;
    double sum = 0;
    for (const auto& r : randoms) {
        const double a = r.at(accuracy).get<double>();
        sum += a;
        rank += a > acc;
        if (r.at("latency_ms").get<double>() <= ms) ++lower, beaten += a > acc;
    }
    const double mean = randoms.empty() ? 0.0 : sum / static_cast<double>(randoms.size());
    return {{"count", randoms.size()},
            {"by", accuracy},
            {"mean_accuracy", mean},
            {"searched_minus_mean", randoms.empty() ? 0.0 : acc - mean},
            {"rank", rank},
            {"at_lower_latency", lower},
            {"more_accurate_at_lower_latency", beaten}};
}

}  // namespace hwnas
