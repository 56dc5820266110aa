// One search step (architecture step + weight step, batch 64) of each method
// on the same space, the node-wise DAG space gram_fmnist: time per step, and
// the peak of tensor memory a step needs above what was live before (the
// supernet's weights and optimizer state, the data): DARTS and FBNet run
// every candidate, ProxylessNAS two sampled paths, GRAM one sampled sub-graph.
// 3 untimed steps first; the cost model is the MACs table (the memory and the
// time of a step do not depend on which table it is).
// one_path is the reference a single-path method is judged by: one training
// step (forward, backward, SGD) of the standalone network of the space's
// largest path (every edge on, at every choice the candidate with the most
// MACs), batch 64, the memory a path's activations and gradients need.
#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include <hwnas/gram.hpp>

namespace {

using namespace hwnas;

dataset random_images(index_t n, rng& g) {
    tensor x = tensor::uninitialized({n, 28, 28, 1});
    for (float& v : x) v = g.normal();
    std::vector<std::int32_t> labels(static_cast<std::size_t>(n));
    for (auto& l : labels) l = static_cast<std::int32_t>(g.below(10));
    return dataset(std::move(x), std::move(labels), 10);
}

void search_step(benchmark::State& st, const std::string& method) {
    set_num_threads(static_cast<int>(st.range(0)));
    const search_space space = gram_fmnist();
    rng g(1);
    const auto [w, a] = random_images(64 * 40, g).split(0.5, 0);
    supernet net(space, {.seed = 0});
    const cost_table cost = macs_cost_table(space);  // MMACs: FBNet's log(LAT) needs LAT > 1
    std::unique_ptr<searcher> s;
    if (method == "gram") {
        gram_options o = gram_defaults();
        o.epochs = 1;
        o.latency_weight = 0.01f;
        s = std::make_unique<gram_searcher>(net, w, a, &cost, o);
    } else {
        search_options o = method == "darts" ? darts_defaults() : method == "fbnet" ? fbnet_defaults() : proxyless_defaults();
        o.epochs = 1;
        o.warmup_epochs = 0;
        if (method == "darts") s = std::make_unique<darts_searcher>(net, w, a, nullptr, o);
        else if (method == "fbnet") s = std::make_unique<fbnet_searcher>(net, w, a, cost, o);
        else s = std::make_unique<proxyless_searcher>(net, w, a, cost, o);
    }
    std::int64_t stop_at = 3;
    search_hooks hooks;
    hooks.stop_after = [&](std::int64_t k) { return k >= stop_at; };
    s->run(hooks);
    reset_tensor_memory_peak();
    const std::size_t before = tensor_memory_usage().in_use_bytes;
    for (auto _ : st) {
        ++stop_at;
        s->run(hooks);
    }
    st.counters["tensor_peak_MB"] = static_cast<double>(tensor_memory_usage().peak_bytes - before) / (1 << 20);
    st.counters["img/s"] = benchmark::Counter(128, benchmark::Counter::kIsIterationInvariantRate);
}

void one_path_step(benchmark::State& st) {
    set_num_threads(static_cast<int>(st.range(0)));
    const search_space space = gram_fmnist();
    const cost_table cost = macs_cost_table(space);
    architecture largest;
    for (const auto& row : cost.table())
        largest.choices.push_back(static_cast<int>(std::max_element(row.begin(), row.end()) - row.begin()));
    largest.edges.assign(space.gates().size(), 1);
    rng g(1);
    auto net = derive_network(space, largest, g);
    const dataset d = random_images(64, g);
    sgd opt(net->parameters(), {.lr = 0.01f, .momentum = 0.9f});
    const var x(d.images());
    auto step = [&] {
        opt.zero_grad();
        cross_entropy(net->forward(x), d.labels()).backward();
        opt.step();
    };
    for (int i = 0; i < 3; ++i) step();
    reset_tensor_memory_peak();
    const std::size_t before = tensor_memory_usage().in_use_bytes;
    for (auto _ : st) step();
    st.counters["tensor_peak_MB"] = static_cast<double>(tensor_memory_usage().peak_bytes - before) / (1 << 20);
    st.counters["img/s"] = benchmark::Counter(64, benchmark::Counter::kIsIterationInvariantRate);
}

const bool registered = [] {
    const std::vector<std::pair<std::string, std::function<void(benchmark::State&)>>> steps{
        {"one_path", one_path_step},
        {"darts", [](benchmark::State& st) { search_step(st, "darts"); }},
        {"fbnet", [](benchmark::State& st) { search_step(st, "fbnet"); }},
        {"proxyless", [](benchmark::State& st) { search_step(st, "proxyless"); }},
        {"gram", [](benchmark::State& st) { search_step(st, "gram"); }}};
    for (const auto& [name, f] : steps)
        benchmark::RegisterBenchmark(("search_step/" + name).c_str(), f)
            ->Arg(1)
            ->Arg(2)
            ->ArgName("threads")
            ->Iterations(12)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
    return true;
}();

}  // namespace
