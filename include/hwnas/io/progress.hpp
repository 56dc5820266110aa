#pragma once
// Progress lines on stderr for long work: step, the caller's metrics, rate,
// elapsed time and ETA. Reporting progress is the one place the library prints.
#include <chrono>
#include <cstdio>
#include <string>

#include <fmt/format.h>

namespace hwnas {

inline std::string format_duration(double seconds) {
    if (seconds < 0) seconds = 0;
    const long s = static_cast<long>(seconds + 0.5);
    if (s >= 3600) return fmt::format("{}h{:02}m{:02}s", s / 3600, s % 3600 / 60, s % 60);
    if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
    return fmt::format("{:.1f}s", seconds);
}

class progress {
public:
    // total: the number of units (steps, epochs) the work will take.
    progress(std::string label, long total) : label_(std::move(label)), total_(total), start_(clock::now()) {}

    double elapsed() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

    // Reports that `done` of `total` units are finished, with extra metrics text.
    void report(long done, const std::string& metrics) const {
        const double t = elapsed();
        const double eta = done > 0 ? t / static_cast<double>(done) * static_cast<double>(total_ - done) : 0.0;
        fmt::print(stderr, "[{}] {}/{} {} | elapsed {} | ETA {}\n", label_, done, total_, metrics,
                   format_duration(t), format_duration(eta));
        std::fflush(stderr);
    }

private:
    using clock = std::chrono::steady_clock;
    std::string label_;
    long total_;
    clock::time_point start_;
};

}  // namespace hwnas
