#pragma once
// On-device profiler (algorithms.md 3): the inference latency on this CPU of
// a module at an input shape, of one (choice point, candidate) pair of a
// space in its real input shape(s), or of a whole derived network. Always
// with the library's own inference path: eval mode (BN uses its running
// statistics), no_grad (nothing recorded), batch 1 by default. A result keeps
// the timing statistics together with the machine they were measured on.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "hwnas/autograd/var.hpp"
#include "hwnas/core/rng.hpp"
#include "hwnas/latency/measure.hpp"
#include "hwnas/nn/module.hpp"
#include "hwnas/space/architecture.hpp"
#include "hwnas/supernet/derive.hpp"
#include "hwnas/supernet/module_builders.hpp"

namespace hwnas {

struct profile_options {
    index_t batch = 1;
    int warmup = 5;
    int runs = 25;
    std::uint64_t seed = 0;  // weights and input values (latency does not depend on them, but runs repeat exactly)
};

// Which number of a timing stands for the latency. The median is the default;
// on a machine shared with other work, preemption inflates most runs, and
// the minimum (or p10) is the closer estimate of the uncontended latency.
enum class timing_stat { median, p10, min };

inline double pick(const timing& t, timing_stat s) {
    return s == timing_stat::median ? t.median_ms : s == timing_stat::p10 ? t.p10_ms : t.min_ms;
}

// "median", "p10" or "min"; config_error otherwise.
inline timing_stat parse_timing_stat(std::string_view name) {
    if (name == "median") return timing_stat::median;
    if (name == "p10") return timing_stat::p10;
    if (name == "min") return timing_stat::min;
    throw config_error(fmt::format("timing statistic '{}', expected median, p10 or min", name));
}

struct profile_result {
    std::string what;  // what was measured, for reports
    index_t batch = 1;
    timing t;          // median, p10/p90, min/max, runs, warm-up, threads
    machine_info machine;
};

namespace detail {

inline void check_profile_options(const profile_options& o) {
    require(o.batch >= 1, "profile: batch {}, expected >= 1", o.batch);
    require(o.runs >= 1 && o.warmup >= 0, "profile: {} runs and {} warm-up runs, expected runs >= 1, warm-up >= 0",
            o.runs, o.warmup);
}

// A [batch, h, w, c] input of standard normal values.
inline var profile_input(const feature_shape& in, index_t batch, rng& gen) {
    tensor x = tensor::uninitialized({batch, in.h, in.w, in.c});
    for (float& v : x) v = gen.normal();
    return var(std::move(x));
}

// Times f() in inference mode.
template <class F>
profile_result profile_calls(std::string what, const profile_options& o, F&& f) {
    no_grad guard;
    profile_result r{std::move(what), o.batch, measure(f, o.warmup, o.runs), describe_machine()};
    return r;
}

}  // namespace detail

// m at input shape [batch, h, w, c]; m is switched to eval mode.
inline profile_result profile_module(module& m, const feature_shape& in, const profile_options& o = {}) {
    detail::check_profile_options(o);
    rng gen(o.seed);
    const var x = detail::profile_input(in, o.batch, gen);
    m.eval();
    return detail::profile_calls(fmt::format("{} at {}", m.type_name(), in.str()), o, [&] { (void)m.forward(x); });
}

// Several modules at the same input shape, measured against each other
// (measure_interleaved: `rounds` rounds of o.warmup + o.runs calls each, the
// order rotating): the way to compare networks at equal latency on a machine
// whose speed drifts from minute to minute. A result's timing summarizes its
// per-round medians; every module is switched to eval mode.
inline std::vector<profile_result> profile_modules_interleaved(const std::vector<module*>& ms, const feature_shape& in,
                                                               const profile_options& o = {}, int rounds = 10) {
    detail::check_profile_options(o);
    rng gen(o.seed);
    const var x = detail::profile_input(in, o.batch, gen);
    std::vector<std::function<void()>> calls;
    for (module* m : ms) {
        require(m != nullptr, "profile_modules_interleaved: module {} of {} is null", calls.size(), ms.size());
        m->eval();
        calls.push_back([m, &x] { (void)m->forward(x); });
    }
    no_grad guard;
    const std::vector<timing> t = measure_interleaved(calls, rounds, o.warmup, o.runs);
    const machine_info machine = describe_machine();
    std::vector<profile_result> out;
    for (std::size_t i = 0; i < ms.size(); ++i)
        out.push_back({fmt::format("{} at {}", ms[i]->type_name(), in.str()), o.batch, t[i], machine});
    return out;
}

// Candidate `candidate` of choice point `point` of s, run once at every site
// of the choice point (each with its own input shape) per timed call. A
// candidate whose kind outputs zeros (`none`) costs nothing and times an empty call.
inline profile_result profile_choice(const search_space& s, int point, int candidate, const profile_options& o = {},
                                     const module_builder_registry& builders = default_module_builders()) {
    detail::check_profile_options(o);
    const auto& points = s.choice_points();
    require(point >= 0 && point < static_cast<int>(points.size()),
            "profile_choice: choice point {} out of range, the space {} has {}", point, s.name(), points.size());
    const choice_point& p = points[static_cast<std::size_t>(point)];
    require(candidate >= 0 && candidate < static_cast<int>(p.candidates.size()),
            "profile_choice: candidate {} out of range, {} has {} candidates", candidate, p.name, p.candidates.size());
    const auto c = static_cast<std::size_t>(candidate);
    rng gen(o.seed);
    std::vector<std::shared_ptr<module>> mods;
    std::vector<var> inputs;
    if (!p.zero[c])
        for (const edge_ref& e : p.sites) {
            const op_site& site =
                s.nodes()[static_cast<std::size_t>(e.node)].inputs[static_cast<std::size_t>(e.input)].site;
            mods.push_back(builders.build(p.candidates[c], site, gen));
            mods.back()->eval();
            inputs.push_back(detail::profile_input(site.in, o.batch, gen));
        }
    return detail::profile_calls(fmt::format("{} {}", p.name, p.candidates[c].name), o, [&] {
        for (std::size_t i = 0; i < mods.size(); ++i) (void)mods[i]->forward(inputs[i]);
    });
}

// The derived network of architecture a (validated), input at the space's input shape.
inline profile_result profile_network(const search_space& s, const architecture& a, const profile_options& o = {}) {
    detail::check_profile_options(o);
    rng gen(o.seed);
    derived_network net(s, a, gen);
    net.eval();
    const var x = detail::profile_input(s.nodes()[0].shape, o.batch, gen);
    return detail::profile_calls(fmt::format("{} network", s.name()), o, [&] { (void)net.forward(x); });
}

}  // namespace hwnas
