#pragma once
// Wall-clock measurement on this machine: warm-up runs, then the median of N
// timed runs with their spread, recorded with the thread count and a
// description of the CPU so a number is never separated from where it came from.
#include <algorithm>
#include <chrono>
#include <fstream>
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

// Times f(): `warmup` untimed calls, then `runs` timed calls.
template <class F>
timing measure(F&& f, int warmup = 5, int runs = 25) {
    require(runs >= 1 && warmup >= 0, "measure: got {} runs and {} warm-up runs, expected runs >= 1, warm-up >= 0",
            runs, warmup);
    for (int i = 0; i < warmup; ++i) f();
    std::vector<double> ms(static_cast<std::size_t>(runs));
    for (auto& t : ms) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
    std::sort(ms.begin(), ms.end());
    auto at = [&](double q) { return ms[static_cast<std::size_t>(q * static_cast<double>(ms.size() - 1) + 0.5)]; };
    timing r;
    r.median_ms = ms.size() % 2 ? ms[ms.size() / 2] : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
    r.min_ms = ms.front();
    r.max_ms = ms.back();
    r.p10_ms = at(0.1);
    r.p90_ms = at(0.9);
    r.runs = runs;
    r.warmup = warmup;
    r.threads = num_threads();
    return r;
}

// Peak resident memory of this process so far, in MiB (VmHWM), 0 if unknown.
inline double peak_rss_mb() {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return 0.0;
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
