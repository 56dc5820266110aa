#pragma once
// The weight-sharing supernet of any search space (algorithms.md 2): every
// edge of a choice point holds all its candidates' modules (built by the
// module builders), every fixed edge its op. Architecture parameters: one
// vector alpha (one logit per candidate) per choice point, in the "arch"
// parameter group (a DARTS choice point is shared by all cells of its type,
// so alphas are per cell type); all module weights are in "weights".
//
// Mixing an edge's candidates (mixing):
// - softmax (DARTS): sum_k softmax(alpha)_k o_k(x); every candidate runs.
// - gumbel (FBNet): the weights are gumbel_softmax(alpha, temperature), one
//   draw per choice point per forward; every candidate runs.
// - binary (ProxylessNAS): one path per choice point is sampled from
//   softmax(alpha) and only it runs, so memory is one child network's. When
//   alpha needs a gradient (the architecture step), ProxylessNAS's two-path
//   trick: two distinct candidates a, b are sampled from softmax(alpha), the
//   active one from the renormalized pair p' = softmax(alpha_a, alpha_b); the
//   inactive one runs without recording (no activations kept), because the
//   gate gradient dL/dg_j = <dL/dy, o_j(x)> needs its output; then
//   dL/dalpha_i = sum_j dL/dg_j p'_j (delta_ij - p'_i) over i, j in the pair.
// - uniform: one candidate per choice point uniformly at random (one-shot
//   baseline); only it runs.
// - fixed: the candidates of set_architecture, only those run (the supernet
//   with one-hot weights; equals derive_network with the supernet's weights).
// Edge variables (node-wise DAG spaces) are fixed by the options (all on by
// default) or by set_architecture; they are not searched here.
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hwnas/nn/init.hpp"
#include "hwnas/ops/mixed.hpp"
#include "hwnas/ops/softmax.hpp"
#include "hwnas/space/architecture.hpp"
#include "hwnas/supernet/graph.hpp"
#include "hwnas/supernet/module_builders.hpp"

namespace hwnas {

enum class mixing { softmax, gumbel, binary, uniform, fixed };

inline const char* mixing_name(mixing m) {
    switch (m) {
        case mixing::softmax: return "softmax";
        case mixing::gumbel: return "gumbel";
        case mixing::binary: return "binary";
        case mixing::uniform: return "uniform";
        case mixing::fixed: return "fixed";
    }
    return "?";
}

struct supernet_options {
    mixing mode = mixing::softmax;
    std::uint64_t seed = 0;          // weight init, initial alphas, then path sampling
    float alpha_init_std = 1e-3f;    // DARTS: alpha = 1e-3 * N(0, 1)
    float temperature = 5.0f;        // gumbel
    std::vector<std::uint8_t> edges{};  // edge variable values; empty: all on
};

namespace detail {

// The candidate modules of one edge (children "0".."K-1"); runs nothing itself.
class candidate_ops : public module {
public:
    var forward(const var&) override { throw config_error("candidate_ops: run through the supernet"); }
    std::string type_name() const override { return "candidate_ops"; }
};

// Samples an index from probabilities p (summing to ~1), skipping index `skip`.
inline int sample_index(const float* p, int k, rng& gen, int skip = -1) {
    double total = 0;
    for (int i = 0; i < k; ++i)
        if (i != skip) total += p[i];
    const double u = gen.uniform_open() * total;
    double acc = 0;
    int last = -1;
    for (int i = 0; i < k; ++i) {
        if (i == skip) continue;
        acc += p[i];
        last = i;
        if (u < acc) return i;
    }
    return last;
}

// ProxylessNAS gates over the pair (a active, b inactive): forward the one-hot
// of a; backward dL/dalpha_i = sum_j dL/dg_j p'_j (delta_ij - p'_i), i, j in {a, b}.
inline var binary_gates(const var& alpha, int a, int b) {
    const float* al = alpha.value().data();
    const double m = std::max(al[a], al[b]);
    const double ea = std::exp(al[a] - m), eb = std::exp(al[b] - m);
    const float pa = static_cast<float>(ea / (ea + eb)), pb = 1.0f - pa;
    tensor g = tensor::zeros(alpha.shape());
    g[a] = 1.0f;
    return record("binary_gates", std::move(g), {alpha}, [a, b, pa, pb](const tensor& gy, grad_sink& s) {
        tensor ga = tensor::zeros(gy.shape());
        const float da = gy[a], db = gy[b];
        ga[a] = da * pa * (1 - pa) - db * pb * pa;
        ga[b] = db * pb * (1 - pb) - da * pa * pb;
        s.add(0, std::move(ga));
    });
}

}  // namespace detail

class supernet : public module {
public:
    supernet(const search_space& space, supernet_options o = {},
             const module_builder_registry& builders = default_module_builders())
        : space_(std::make_shared<const search_space>(space)), o_(std::move(o)), gen_(o_.seed) {
        const auto& s = *space_;
        if (o_.edges.empty()) o_.edges.assign(s.gates().size(), 1);
        arch_.edges = o_.edges;
        arch_.choices.assign(s.choice_points().size(), 0);
        const std::string why = detail::arch_range_problem(s, arch_);
        require(why.empty(), "supernet: {}", why);
        on_ = detail::arch_liveness(s, arch_).active;
        rng init(o_.seed);
        for (std::size_t p = 0; p < s.choice_points().size(); ++p) {
            tensor a = tensor::uninitialized({static_cast<index_t>(s.choice_points()[p].candidates.size())});
            for (auto& v : a) v = o_.alpha_init_std * init.normal();
            alphas_.push_back(register_parameter(fmt::format("alpha{}", p), std::move(a), std::string(arch_group)));
        }
        ops_.resize(s.nodes().size());
        for (std::size_t i = 1; i < s.nodes().size(); ++i) {
            const auto& inputs = s.nodes()[i].inputs;
            for (std::size_t k = 0; k < inputs.size(); ++k) {
                const space_edge& e = inputs[k];
                const std::string name = fmt::format("n{}_{}", i, k);
                std::vector<std::shared_ptr<module>> cands;
                if (e.choice < 0) {
                    cands.push_back(register_module(name, builders.build(e.op, e.site, init)));
                } else {
                    auto holder = register_module(name, std::make_shared<detail::candidate_ops>());
                    const auto& specs = s.choice_points()[static_cast<std::size_t>(e.choice)].candidates;
                    for (std::size_t c = 0; c < specs.size(); ++c)
                        cands.push_back(holder->register_module(std::to_string(c), builders.build(specs[c], e.site, init)));
                }
                ops_[i].push_back(std::move(cands));
            }
        }
        weights_ = parameters(weights_group);
    }

    var forward(const var& x) override {
        const auto& s = *space_;
        require(o_.mode != mixing::fixed || !carries_.empty(),
                "supernet: mixing::fixed runs the architecture of set_architecture, which was not called");
        const std::size_t points = s.choice_points().size();
        const bool arch_grad = grad_enabled() && !alphas_.empty() && alphas_[0].requires_grad();
        // Per choice point: the mixing weights (soft modes) or the sampled paths.
        weights_used_.assign(points, var());
        std::vector<int> active(points, -1), other(points, -1);
        for (std::size_t p = 0; p < points; ++p) {
            const int k = static_cast<int>(alphas_[p].numel());
            switch (o_.mode) {
                case mixing::softmax: weights_used_[p] = softmax(alphas_[p]); break;
                case mixing::gumbel: weights_used_[p] = gumbel_softmax(alphas_[p], o_.temperature, gen_); break;
                case mixing::uniform: active[p] = static_cast<int>(gen_.below(static_cast<std::uint64_t>(k))); break;
                case mixing::fixed: active[p] = arch_.choices[p]; break;
                case mixing::binary: {
                    const tensor prob = probabilities(p);
                    active[p] = detail::sample_index(prob.data(), k, gen_);
                    if (arch_grad && k > 1) {
                        other[p] = detail::sample_index(prob.data(), k, gen_, active[p]);
                        // The active path of the pair, from the renormalized pair probabilities.
                        const double pa = prob[active[p]] / (static_cast<double>(prob[active[p]]) + prob[other[p]]);
                        if (gen_.uniform_open() >= pa) std::swap(active[p], other[p]);
                        weights_used_[p] = detail::binary_gates(alphas_[p], active[p], other[p]);
                    }
                    break;
                }
            }
        }
        const auto& mask = o_.mode == mixing::fixed ? carries_ : on_;
        return detail::run_space_graph(s, mask, x, [&](int i, int k, const var& in) -> var {
            const space_edge& e = s.node_at(i).inputs[static_cast<std::size_t>(k)];
            auto& cands = ops_[static_cast<std::size_t>(i)][static_cast<std::size_t>(k)];
            if (e.choice < 0) return cands[0]->forward(in);
            const auto p = static_cast<std::size_t>(e.choice);
            const auto& zero = s.choice_points()[p].zero;
            if (!weights_used_[p].defined()) {  // one path
                const auto c = static_cast<std::size_t>(active[p]);
                // A fixed zero op carries nothing (as in the derived network); a sampled one is zeros,
                // so the output stays defined when it cuts every path.
                return zero[c] && o_.mode == mixing::fixed ? var() : cands[c]->forward(in);
            }
            std::vector<var> xs(cands.size());
            if (other[p] >= 0) {
                const auto a = static_cast<std::size_t>(active[p]), b = static_cast<std::size_t>(other[p]);
                xs[a] = cands[a]->forward(in);
                no_grad off;
                xs[b] = cands[b]->forward(in);
            } else {
                for (std::size_t c = 0; c < cands.size(); ++c) xs[c] = cands[c]->forward(in);
            }
            return weighted_sum(xs, weights_used_[p]);
        }, [this](int i, var& v) {
            if (node_hook_) node_hook_(i, v);
        });
    }
    std::string type_name() const override { return "supernet"; }

    const search_space& space() const { return *space_; }
    mixing mode() const { return o_.mode; }
    void set_mode(mixing m) { o_.mode = m; }
    float temperature() const { return o_.temperature; }
    void set_temperature(float t) {
        require(t > 0 && std::isfinite(t), "supernet: temperature {} is invalid, expected > 0", t);
        o_.temperature = t;
    }
    // The architecture mixing::fixed runs (validated; its edge values become the supernet's).
    void set_architecture(const architecture& a) {
        const live_graph g = live_parts(*space_, a);
        arch_ = a;
        carries_ = g.carries;
        on_ = g.active;
    }
    const architecture& architecture_in_use() const { return arch_; }

    const std::vector<var>& alphas() const { return alphas_; }
    const std::vector<var>& weights() const { return weights_; }
    // softmax(alpha) of choice point p, as data.
    tensor probabilities(std::size_t p) const {
        no_grad off;
        return softmax(alphas_.at(p)).value();
    }
    // softmax(alpha) of every choice point.
    std::vector<tensor> probabilities() const {
        std::vector<tensor> probs;
        for (std::size_t p = 0; p < alphas_.size(); ++p) probs.push_back(probabilities(p));
        return probs;
    }
    // The mixing weights of the last forward per choice point: softmax, Gumbel
    // softmax or binary gates (undefined where one path ran without them).
    const std::vector<var>& last_weights() const { return weights_used_; }
    // The most probable candidate at every choice point, with the supernet's edge values.
    architecture argmax() const {
        architecture a{{}, o_.edges};
        for (const auto& al : alphas_)
            a.choices.push_back(static_cast<int>(std::max_element(al.value().begin(), al.value().end()) -
                                                 al.value().begin()));
        return a;
    }
    // The module of candidate c on input k of node i (c = 0 on a fixed edge).
    module& edge_module(int i, int k, int c) const {
        return *ops_.at(static_cast<std::size_t>(i)).at(static_cast<std::size_t>(k)).at(static_cast<std::size_t>(c));
    }
    // Called with every node value (space node index) as the forward forms it;
    // may replace the value (GRAM taps nodes to read their gradients). Empty: none.
    using node_hook = std::function<void(int node, var& value)>;
    void set_node_hook(node_hook h) { node_hook_ = std::move(h); }
    // Path sampling and Gumbel noise draw from here; a checkpoint saves it.
    rng& generator() { return gen_; }

private:
    std::shared_ptr<const search_space> space_;
    supernet_options o_;
    rng gen_;
    architecture arch_;
    std::vector<std::vector<bool>> on_, carries_;
    std::vector<var> alphas_, weights_, weights_used_;
    std::vector<std::vector<std::vector<std::shared_ptr<module>>>> ops_;  // [node][input][candidate]
    node_hook node_hook_;
};

}  // namespace hwnas
