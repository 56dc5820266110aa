#pragma once
// Wall-clock measurement on this machine: warm-up runs, then the median of N
// timed runs with their spread, recorded with the thread count and a
// description of the CPU so a number is never separated from where it came from.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "hwnas/core/parallel.hpp"
#include "hwnas/error.hpp"

namespace hwnas {

struct machine_info {
    std::string cpu_model;  // from /proc/cpuinfo
    int logical_cpus = 0;
    int threads = 0;        // hwnas::num_threads() at measurement time
    std::string compiler;
};

inline machine_info describe_machine() {
    machine_info m;
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("model name", 0) == 0) {
            m.cpu_model = line.substr(line.find(':') + 2);
            break;
        }
    if (m.cpu_model.empty()) m.cpu_model = "unknown";
    m.logical_cpus = static_cast<int>(std::thread::hardware_concurrency());
    m.threads = num_threads();
#if defined(__clang__)
    m.compiler = fmt::format("clang {}.{}", __clang_major__, __clang_minor__);
#elif defined(__GNUC__)
    m.compiler = fmt::format("gcc {}.{}", __GNUC__, __GNUC_MINOR__);
#endif
    return m;
}

struct timing {
    double median_ms = 0, min_ms = 0, max_ms = 0;
    double p10_ms = 0, p90_ms = 0;  // spread
    int runs = 0, warmup = 0, threads = 0;
};

namespace detail {

// The statistics of a set of samples (sorted here).
inline timing summarize(std::vector<double> ms) {
    std::sort(ms.begin(), ms.end());
    auto at = [&](double q) { return ms[static_cast<std::size_t>(q * static_cast<double>(ms.size() - 1) + 0.5)]; };
    timing r;
    r.median_ms = ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
    r.min_ms = ms.front();
    r.max_ms = ms.back();
    r.p10_ms = at(0.1);
    r.p90_ms = at(0.9);
    r.threads = num_threads();
    return r;
}

inline void check_runs(const char* who, int runs, int warmup) {
    require(runs >= 1 && warmup >= 0, "{}: got {} runs and {} warm-up runs, expected runs >= 1, warm-up >= 0", who,
            runs, warmup);
}

// `runs` timed calls of f, in milliseconds.
template <class F>
std::vector<double> time_calls(F& f, int runs) {
    std::vector<double> ms(static_cast<std::size_t>(runs));
    for (auto& t : ms) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
    return ms;
}

}  // namespace detail

// Times f(): `warmup` untimed calls, then `runs` timed calls.
template <class F>
timing measure(F&& f, int warmup = 5, int runs = 25) {
    detail::check_runs("measure", runs, warmup);
    for (int i = 0; i < warmup; ++i) f();
    timing r = detail::summarize(detail::time_calls(f, runs));
    r.runs = runs;
    r.warmup = warmup;
    return r;
}

// Times several functions fairly against each other: in each of `rounds`
// rounds every function gets `warmup` untimed and `runs` timed calls, the
// order rotating from round to round. A function's timing summarizes its
// per-round medians, so a slow minute on a shared machine lands on all of them
// alike instead of on whichever happened to run then.
inline std::vector<timing> measure_interleaved(const std::vector<std::function<void()>>& fs, int rounds = 10,
                                               int warmup = 3, int runs = 15) {
    detail::check_runs("measure_interleaved", runs, warmup);
    require(rounds >= 1, "measure_interleaved: got {} rounds, expected >= 1", rounds);
    const std::size_t n = fs.size();
    std::vector<std::vector<double>> medians(n);
    for (int r = 0; r < rounds; ++r)
        for (std::size_t k = 0; k < n; ++k) {
            const std::size_t i = (k + static_cast<std::size_t>(r)) % n;
            for (int w = 0; w < warmup; ++w) fs[i]();
            medians[i].push_back(detail::summarize(detail::time_calls(fs[i], runs)).median_ms);
        }
    std::vector<timing> out;
    for (auto& m : medians) {
        out.push_back(detail::summarize(std::move(m)));
        out.back().runs = rounds * runs;
        out.back().warmup = warmup;
    }
    return out;
}

namespace detail {

// A "Key:   123 kB" line of /proc/self/status in MiB, 0 if unknown.
inline double proc_status_mb(const std::string& key) {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind(key, 0) == 0) return std::stod(line.substr(key.size())) / 1024.0;
    return 0.0;
}

}  // namespace detail

// Peak resident memory of this process (VmHWM) since it started or since the
// last reset_peak_rss(), in MiB; 0 if unknown.
inline double peak_rss_mb() { return detail::proc_status_mb("VmHWM:"); }

// Resident memory now (VmRSS), in MiB; 0 if unknown.
inline double current_rss_mb() { return detail::proc_status_mb("VmRSS:"); }

// Sets the peak to the current resident memory (Linux: "5" to
// /proc/self/clear_refs), so one phase of a long run can be measured on its
// own; false where the system does not allow it.
inline bool reset_peak_rss() {
    std::ofstream out("/proc/self/clear_refs");
    return static_cast<bool>(out << "5" << std::flush);
}

// The 1, 5 and 15 minute load averages (/proc/loadavg), empty if unknown:
// recorded beside measurements, since other work on the machine inflates them.
inline std::vector<double> load_average() {
    std::ifstream in("/proc/loadavg");
    std::vector<double> v(3);
    if (!(in >> v[0] >> v[1] >> v[2])) return {};
    return v;
}

}  // namespace hwnas
