#pragma once
// GRAM (algorithms.md 4.2-4.3) over a node-wise DAG space (space/dag_space.hpp).
//
// The meta-graph: the supernet (all (node, op) weights shared; its alphas are
// the per-node op logits), one edge logit beta_uv per edge variable (p_uv =
// sigmoid(beta_uv)), and the running importances m_v (per choice point = DAG
// node) and m_uv (per edge variable), see importance().
//
// A step:
// 1. Gibbs sampling, one sweep from the previous sample (the first sample has
//    every edge on and the argmax ops): the edge variables in random order,
//    each redrawn from Bernoulli(p_uv), then each node's op from
//    softmax(alpha_v). A value that makes the architecture invalid (a node of
//    the sample without input, a stage without a path) is rejected, which
//    keeps the current value: that is exactly the Gibbs draw from the
//    distribution restricted to valid architectures. With a budget B (in the
//    cost model's unit) a value whose cost (cost_table::of, dead nodes cost
//    nothing) exceeds (1 + slack) B is rejected too, unless it does not
//    increase the cost: a sample over the budget (the first one) walks into it
//    and then stays inside.
// 2. Weight step on the sample only (supernet mixing::fixed runs the sampled
//    sub-graph: memory and time of one child network); SGD on the used weights.
// 3. Architecture step on a validation batch (after the warm-up epochs),
//    binary-gate estimator (ProxylessNAS, algorithms.md 2.3) with one path,
//    the memory of one child network: a gate of value 1 multiplies every
//    active edge's contribution h_u to input_v and every live node's op
//    output h_v, so the gate gradients are g_uv = <h_u, dL/d(input_v)> and
//    g_v = <h_v, dL/dh_v>, read from taps on the node values (no gate op
//    runs). dL/dbeta_uv = g_uv p_uv (1 - p_uv); dL/dalpha_vi = g_v q_c
//    (delta_ci - q_i), q = softmax(alpha_v), c the sampled op (only the sampled
//    op's gate is known, as one path ran; off edges and dead nodes get no
//    gate gradient). Plus lambda * E[LAT], differentiated in closed form,
//        E[LAT] = fixed + sum_v P(v live) sum_c q_vc T[v][c],
//        P(v live) = 1 - prod_{u<v} (1 - p_uv),
//    an approximation: edges independent, and v counted live when it has an
//    input edge even if its source is dead (the Gibbs sampler never produces
//    that) or v reaches no sink (in a DAG stage every fed node does). Adam on
//    alpha and beta (two Adam instances with the same settings: the update is
//    per element, so this is one Adam over both).
//    With a budget the term is lambda * max(0, E[LAT] - B) (latency_hinge):
//    the sampler already holds every sample within the budget, and the plain
//    term kept pushing below it. Every edge gets its gradient while only
//    sampled edges get a loss gradient, and Adam sizes each step by the
//    parameter's own gradient history, so rarely sampled edges were driven
//    off at nearly the full step however small lambda: measured (30 epochs,
//    60000 images, lambda 0.01, seed 1, session 10) E[LAT] fell from 0.24 to
//    0.10 ms against a 0.134 ms budget and every derived sample sat at 67-92%
//    of it; with lambda 0, E[LAT] ended at 0.22 ms. With the hinge it ended
//    at the budget (0.127 and 0.131 ms against 0.134 and 0.131, seeds 1 and
//    0, session 11).
//    Then the importances: I_v = |g_v| for every live node, I_uv = |g_uv| for
//    every active edge, m <- (1 - rho) m + rho I (entries not in the sample
//    keep their value). An op that starts with a linear op and BN on batch
//    statistics (dw, conv1x1; not an MBConv with its residual) ignores the
//    scale of its input, so the saliency of a node's only active input edge
//    is ~0 there (measured ~1e-6 against ~1e-2 for the other edges); removing
//    that edge removes the node, whose importance is m_v.
// Per epoch: the most probable architecture (p_uv > 0.5, argmax ops; edges
// from dead nodes removed; a stage left without a path keeps its most
// probable path, which is its most probable edge from the stage input, as a
// longer path only multiplies in more p_uv < 1), its predicted cost, and
// the validation accuracy of the samples (val_accuracy).
// All randomness draws from the supernet's generator, which the checkpoint
// saves: same seed, same run; a resumed run is bit-identical.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "hwnas/ops/kernels/elementwise.hpp"
#include "hwnas/search/meta_graph.hpp"
#include "hwnas/search/searcher.hpp"

namespace hwnas {

struct gram_options : search_options {
    float latency_weight = 0;     // lambda on E[LAT]
    // With a budget: the latency term is lambda * max(0, E[LAT] - budget)
    // instead of lambda * E[LAT] (see the top of this file); false: the plain term.
    bool latency_hinge = true;
    double budget = 0;            // hard budget B in the cost model's unit; <= 0: none
    double slack = 0.05;          // samples stay within (1 + slack) B
    double importance_rho = 0.05; // EMA rate of the importances
    float edge_logit_init = 0;    // initial beta_uv (p_uv = sigmoid)
};

// ProxylessNAS's arch optimizer settings (the same binary-gate estimator).
inline gram_options gram_defaults() {
    gram_options o;
    static_cast<search_options&>(o) = proxyless_defaults();
    return o;
}

struct gram_epoch_record : search_epoch_record {
    std::vector<std::uint8_t> edges;  // of the most probable architecture (argmax holds its choices)
    double derived_cost = 0;          // its predicted cost (0 without a cost model)
};

inline std::string gram_log_csv(const std::vector<gram_epoch_record>& h) {
    std::string s = "epoch,train_loss,train_accuracy,val_loss,val_accuracy,expected_cost,derived_cost,entropy,lr,"
                    "seconds,choices,edges\n";
    for (const auto& r : h)
        s += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{}\n", r.epoch, r.train_loss, r.train_accuracy, r.val_loss,
                         r.val_accuracy, r.expected_cost, r.derived_cost, r.entropy, r.lr, r.seconds,
                         fmt::join(r.argmax, " "), fmt::join(r.edges, ""));
    return s;
}

namespace detail {

// Where GRAM's variables sit in a node-wise DAG space (indices of space nodes).
struct gram_structure {
    std::vector<int> h_node, in_node;    // per choice point: the node holding h_v, the node summing its inputs
    std::vector<int> gate_src;           // per edge variable: the node holding h_u
    std::vector<int> gate_src_point;     // per edge variable: the choice point u, or -1 for a stage input
    std::vector<int> gate_dst;           // per edge variable: the choice point v
    std::vector<std::vector<int>> point_gates;  // per choice point: its incoming edge variables
    std::vector<int> stage_roots;        // the stage input nodes, in order
    std::vector<bool> tapped;            // per node: its value is read (an h or an input sum)
};

inline gram_structure gram_structure_of(const search_space& s) {
    require(!s.gates().empty(), "gram_searcher: the space {} has no edge variables, expected a node-wise DAG space "
                                "(dag_space)", s.name());
    gram_structure g;
    const auto& points = s.choice_points();
    g.point_gates.resize(points.size());
    g.tapped.assign(s.nodes().size(), false);
    for (std::size_t p = 0; p < points.size(); ++p) {
        const auto& sites = points[p].sites;
        bool ok = sites.size() == 1 && s.node_at(sites[0].node).inputs.size() == 1 && s.at(sites[0]).gate_index < 0;
        if (ok) {
            const auto& in = s.node_at(s.at(sites[0]).from).inputs;
            ok = std::all_of(in.begin(), in.end(), [](const space_edge& e) { return e.gate_index >= 0; });
        }
        require(ok, "gram_searcher: choice point '{}' of the space {} is not a DAG node (expected one site whose input "
                    "sums edge variables only)", points[p].name, s.name());
        g.h_node.push_back(sites[0].node);
        g.in_node.push_back(s.at(sites[0]).from);
    }
    const auto point_of = [](const std::vector<int>& nodes, int node) {
        const auto it = std::find(nodes.begin(), nodes.end(), node);
        return it == nodes.end() ? -1 : static_cast<int>(it - nodes.begin());
    };
    for (std::size_t e = 0; e < s.gates().size(); ++e) {
        const edge_ref r = s.gates()[e].where;
        const int v = point_of(g.in_node, r.node);
        require(v >= 0, "gram_searcher: edge variable '{}' of the space {} does not feed a DAG node's input",
                s.gates()[e].name, s.name());
        const int src = s.at(r).from;
        g.gate_src.push_back(src);
        g.gate_src_point.push_back(point_of(g.h_node, src));
        g.gate_dst.push_back(v);
        g.point_gates[static_cast<std::size_t>(v)].push_back(static_cast<int>(e));
        g.tapped[static_cast<std::size_t>(src)] = true;
        g.tapped[static_cast<std::size_t>(r.node)] = true;
        const bool new_root = std::find(g.stage_roots.begin(), g.stage_roots.end(), src) == g.stage_roots.end();
        if (g.gate_src_point.back() < 0 && new_root) g.stage_roots.push_back(src);
    }
    for (int h : g.h_node) g.tapped[static_cast<std::size_t>(h)] = true;
    return g;
}

inline double gram_sigmoid(double b) { return 1.0 / (1.0 + std::exp(-b)); }

// <a, b> accumulated in double.
inline double gram_dot(const tensor& a, const tensor& b) { return kernels::dot(a.data(), b.data(), a.numel()); }

}  // namespace detail

class gram_searcher : public searcher {
public:
    // cost: needed for latency_weight > 0 (its table gives E[LAT]) and for a budget (its of()).
    gram_searcher(supernet& net, const dataset& w, const dataset& a, const cost_table* cost = nullptr,
                  gram_options o = gram_defaults())
        : searcher(net, w, a, cost, o), g_(std::move(o)), st_(detail::gram_structure_of(net.space())),
          table_(cost),
          beta_(tensor::full({static_cast<index_t>(net.space().gates().size())}, g_.edge_logit_init), true),
          b_opt_({beta_}, adam_options{.lr = g_.a_lr, .beta1 = g_.a_beta1, .beta2 = g_.a_beta2,
                                       .weight_decay = g_.a_weight_decay}) {
        const search_space& s = net.space();
        require(std::isfinite(g_.latency_weight) && g_.latency_weight >= 0,
                "gram_searcher: latency_weight {} is invalid, expected a finite value >= 0", g_.latency_weight);
        require(std::isfinite(g_.slack) && g_.slack >= 0, "gram_searcher: slack {} is invalid, expected >= 0",
                g_.slack);
        require(g_.importance_rho > 0 && g_.importance_rho <= 1,
                "gram_searcher: importance_rho {} is out of range, expected (0, 1]", g_.importance_rho);
        require(std::isfinite(g_.edge_logit_init), "gram_searcher: edge_logit_init {} is not finite",
                g_.edge_logit_init);
        require(table_ || (g_.latency_weight == 0 && g_.budget <= 0),
                "gram_searcher: latency_weight {} and budget {} need a cost table", g_.latency_weight, g_.budget);
        require(!table_ || table_->table().size() == s.choice_points().size(),
                "gram_searcher: the cost table has {} rows for the {} choice points of the space {}",
                table_ ? table_->table().size() : 0, s.choice_points().size(), s.name());
        m_nodes_.assign(s.choice_points().size(), 0.0);
        m_edges_.assign(s.gates().size(), 0.0);
        sample_ = net.argmax();
        sample_.edges.assign(s.gates().size(), 1);
        net.set_mode(mixing::fixed);
        net.set_architecture(sample_);
    }

    std::string method() const override { return "gram"; }
    var loss(const var& logits, std::span<const std::int32_t> labels) override { return cross_entropy(logits, labels); }

    void step(const data_batch& wb, const data_batch& ab) override {
        gibbs_sweep(sample_, net_.generator(), g_.budget);
        net_.set_architecture(sample_);
        weight_step(wb);
        if (epoch() >= o_.warmup_epochs) arch_step(wb, ab);
    }

    // The most probable architecture (see the top of this file).
    architecture derived_architecture() const override {
        const search_space& s = net_.space();
        architecture a = net_.argmax();
        const float* b = beta_.value().data();
        for (std::size_t e = 0; e < a.edges.size(); ++e) a.edges[e] = b[e] > 0 ? 1 : 0;
        for (int root : st_.stage_roots) {
            bool path = false;
            int best = -1;
            for (std::size_t e = 0; e < a.edges.size(); ++e) {
                if (st_.gate_src[e] != root) continue;
                path = path || a.edges[e];
                if (best < 0 || b[e] > b[best]) best = static_cast<int>(e);
            }
            if (!path) a.edges[static_cast<std::size_t>(best)] = 1;
        }
        return without_dead_edges(s, std::move(a));
    }

    // E[LAT] under p and softmax(alpha) (0 without a cost model).
    double expected_cost() const override { return table_ ? latency_surrogate(0, nullptr, nullptr) : 0; }

    // The running importances m_v (per choice point) and m_uv (per edge variable).
    structure_importance importance() const { return {m_nodes_, m_edges_}; }
    // The current Gibbs sample (the one the last step trained on).
    const architecture& sample() const { return sample_; }
    // The Gibbs chain continued from the current sample for `sweeps` sweeps
    // on gen (the search's own state is untouched): the distinct
    // architectures it visits within (1 + slack) x the budget, dead edges
    // removed, in order of first visit; they are the sub-graphs the
    // meta-graph's weights were trained as. `budget` > 0 holds the chain to
    // another budget than the search's (a lower one: the chain walks into it
    // first, and what it visits on the way is left out).
    std::vector<architecture> draw_samples(std::size_t sweeps, rng& gen, double budget = 0) const {
        if (budget <= 0) budget = g_.budget;
        require(budget <= 0 || table_, "gram_searcher::draw_samples: a budget of {} needs a cost table", budget);
        std::vector<architecture> out;
        architecture a = sample_;
        for (std::size_t i = 0; i < sweeps; ++i) {
            const double cost = gibbs_sweep(a, gen, budget);
            if (budget > 0 && cost > (1 + g_.slack) * budget) continue;
            architecture live = without_dead_edges(net_.space(), a);
            if (std::find(out.begin(), out.end(), live) == out.end()) out.push_back(std::move(live));
        }
        return out;
    }
    // log P(a) under the meta-graph: sum over edge variables of log p_uv or
    // log(1 - p_uv), plus log softmax(alpha_v)[op] over the nodes a keeps live.
    double log_probability(const architecture& a) const {
        const search_space& s = net_.space();
        require(a.edges.size() == s.gates().size() && a.choices.size() == s.choice_points().size(),
                "gram_searcher::log_probability: the architecture has {} edges and {} choices, the space {} {} and {}",
                a.edges.size(), a.choices.size(), s.name(), s.gates().size(), s.choice_points().size());
        double lp = 0;
        for (std::size_t e = 0; e < a.edges.size(); ++e) {
            const double p = detail::gram_sigmoid(beta_.value()[static_cast<index_t>(e)]);
            lp += std::log(a.edges[e] ? p : 1 - p);
        }
        const live_graph g = live_parts(s, a);
        for (std::size_t p = 0; p < a.choices.size(); ++p)
            if (g.node(st_.h_node[p])) lp += std::log(static_cast<double>(net_.probabilities(p)[a.choices[p]]));
        return lp;
    }
    // Edge logits beta, one per edge variable.
    const var& edge_logits() const { return beta_; }
    // p_uv = sigmoid(beta_uv).
    std::vector<double> edge_probabilities() const {
        std::vector<double> p;
        for (float b : beta_.value()) p.push_back(detail::gram_sigmoid(b));
        return p;
    }
    const gram_options& gram_settings() const { return g_; }
    const std::vector<gram_epoch_record>& gram_history() const { return gram_history_; }
    std::string log_csv() const override { return gram_log_csv(gram_history_); }

protected:
    void arch_step(const data_batch&, const data_batch& ab) override {
        freeze(true);  // the weights get no gradient
        const search_space& s = net_.space();
        // Taps: a view of each read node value, a separate graph node, so its
        // gradient is that of this node alone even when the value is another
        // node's (a one-input sum, a skip op). The first tapped value (upstream
        // weights are frozen) becomes a leaf: the gradient starts there.
        std::vector<var> taps(s.nodes().size());
        struct hook_reset {
            supernet& n;
            ~hook_reset() { n.set_node_hook({}); }
        } reset{net_};
        net_.set_node_hook([&](int i, var& v) {
            if (!st_.tapped[static_cast<std::size_t>(i)]) return;
            v = v.requires_grad() ? reshape(v, v.shape()) : var(v.value(), true);
            taps[static_cast<std::size_t>(i)] = v;
        });
        const var l = batch_loss(ab, true);
        net_.set_node_hook({});
        std::vector<var> read;
        std::vector<std::size_t> where(taps.size(), 0);
        for (std::size_t i = 0; i < taps.size(); ++i)
            if (taps[i].defined()) {
                where[i] = read.size();
                read.push_back(taps[i]);
            }
        const std::vector<tensor> grads = grad(l, read);
        const auto value = [&](int i) -> const tensor& { return taps[static_cast<std::size_t>(i)].value(); };
        const auto grad_of = [&](int i) -> const tensor& { return grads[where[static_cast<std::size_t>(i)]]; };

        const double rho = g_.importance_rho;
        std::vector<tensor> ga;
        for (const auto& al : net_.alphas()) ga.push_back(tensor::zeros(al.shape()));
        tensor gb = tensor::zeros(beta_.shape());
        for (std::size_t p = 0; p < ga.size(); ++p) {
            const int h = st_.h_node[p];
            if (!taps[static_cast<std::size_t>(h)].defined()) continue;  // dead node
            const double gv = detail::gram_dot(value(h), grad_of(h));
            const tensor q = net_.probabilities(p);
            const auto c = static_cast<index_t>(sample_.choices[p]);
            for (index_t i = 0; i < q.numel(); ++i)
                ga[p][i] += static_cast<float>(gv * q[c] * ((i == c ? 1.0 : 0.0) - q[i]));
            m_nodes_[p] = (1 - rho) * m_nodes_[p] + rho * std::abs(gv);
        }
        for (std::size_t e = 0; e < sample_.edges.size(); ++e) {
            const int dst = st_.in_node[static_cast<std::size_t>(st_.gate_dst[e])];
            // An active edge of a valid sample joins two live nodes unless its node runs a zero op.
            if (!sample_.edges[e] || !taps[static_cast<std::size_t>(dst)].defined()) continue;
            const double gu = detail::gram_dot(value(st_.gate_src[e]), grad_of(dst));
            const double pe = detail::gram_sigmoid(beta_.value()[static_cast<index_t>(e)]);
            gb[static_cast<index_t>(e)] += static_cast<float>(gu * pe * (1 - pe));
            m_edges_[e] = (1 - rho) * m_edges_[e] + rho * std::abs(gu);
        }
        if (latency_term_active()) latency_surrogate(g_.latency_weight, &ga, &gb);
        for (std::size_t p = 0; p < ga.size(); ++p) {
            var al = net_.alphas()[p];
            al.grad() = std::move(ga[p]);
        }
        beta_.grad() = std::move(gb);
        a_opt_.step();
        b_opt_.step();
        a_opt_.zero_grad();
        b_opt_.zero_grad();
    }

    void save_extra(checkpoint& ck) const override {
        ck.put_tensor("gram.beta", beta_.value());
        save_state(ck, b_opt_, "gram.b_opt.");
        ck.put_bytes("gram.m_nodes", std::as_bytes(std::span(m_nodes_)));
        ck.put_bytes("gram.m_edges", std::as_bytes(std::span(m_edges_)));
        const std::vector<std::int64_t> choices(sample_.choices.begin(), sample_.choices.end());
        const std::vector<std::int64_t> edges(sample_.edges.begin(), sample_.edges.end());
        ck.put_ints("gram.sample_choices", choices);
        ck.put_ints("gram.sample_edges", edges);
        nlohmann::json h = nlohmann::json::array();
        for (const auto& r : gram_history_) h.push_back({r.edges, r.derived_cost});
        ck.put_text("gram.history", h.dump());
    }
    void load_extra(const checkpoint& ck) override {
        const tensor& b = ck.get_tensor("gram.beta");
        const auto mn = ck.get_bytes("gram.m_nodes"), me = ck.get_bytes("gram.m_edges");
        const auto choices = ck.get_ints("gram.sample_choices"), edges = ck.get_ints("gram.sample_edges");
        const nlohmann::json h = nlohmann::json::parse(ck.get_text("gram.history"));
        require<io_error>(b.shape() == beta_.shape() && mn.size() == m_nodes_.size() * sizeof(double) &&
                              me.size() == m_edges_.size() * sizeof(double) &&
                              choices.size() == sample_.choices.size() && edges.size() == sample_.edges.size() &&
                              h.size() == history().size(),
                          "gram_searcher: the checkpoint's GRAM state does not match the space {} ({} edge variables, "
                          "{} choice points)",
                          net_.space().name(), sample_.edges.size(), sample_.choices.size());
        var beta = beta_;
        std::copy(b.begin(), b.end(), beta.value().begin());
        load_state(ck, b_opt_, "gram.b_opt.");
        std::memcpy(m_nodes_.data(), mn.data(), mn.size());
        std::memcpy(m_edges_.data(), me.data(), me.size());
        architecture a{{choices.begin(), choices.end()}, {edges.begin(), edges.end()}};
        net_.set_architecture(a);  // validates
        sample_ = std::move(a);
        gram_history_.clear();
        for (std::size_t e = 0; e < h.size(); ++e)
            record_epoch(history()[e], h[e][0].get<std::vector<std::uint8_t>>(), h[e][1].get<double>());
    }
    void epoch_ended(const search_epoch_record& r) override {
        const architecture a = derived_architecture();
        record_epoch(r, a.edges, table_ ? table_->of(a) : 0);
    }

private:
    void record_epoch(const search_epoch_record& r, std::vector<std::uint8_t> edges, double cost) {
        gram_epoch_record g;
        static_cast<search_epoch_record&>(g) = r;
        g.edges = std::move(edges);
        g.derived_cost = cost;
        gram_history_.push_back(std::move(g));
    }

    // One Gibbs sweep of a over the edge variables (random order), then the
    // ops, under `budget` (<= 0: none). Returns a's table cost after it (0
    // without a budget): every rejected value is put back, so the cost of the
    // last accepted one.
    double gibbs_sweep(architecture& a, rng& gen, double budget) const {
        const search_space& s = net_.space();
        const double limit = (1 + g_.slack) * budget;
        double current = budget > 0 ? table_->of(a) : 0;
        const auto acceptable = [&]() {
            if (!is_valid(s, a)) return false;
            if (budget <= 0) return true;
            const double c = table_->of(a);
            if (c > limit && c > current) return false;
            current = c;
            return true;
        };
        std::vector<std::size_t> order(a.edges.size());
        std::iota(order.begin(), order.end(), std::size_t{0});
        gen.shuffle(order);
        for (std::size_t e : order) {
            const std::uint8_t z = gen.bernoulli(detail::gram_sigmoid(beta_.value()[static_cast<index_t>(e)])) ? 1 : 0;
            if (z == a.edges[e]) continue;
            a.edges[e] = z;
            if (!acceptable()) a.edges[e] = static_cast<std::uint8_t>(1 - z);
        }
        for (std::size_t p = 0; p < a.choices.size(); ++p) {
            const tensor q = net_.probabilities(p);
            const int c = detail::sample_index(q.data(), static_cast<int>(q.numel()), gen);
            const int old = a.choices[p];
            if (c == old) continue;
            a.choices[p] = c;
            if (!acceptable()) a.choices[p] = old;
        }
        return current;
    }

    bool latency_term_active() const {
        if (!table_ || g_.latency_weight <= 0) return false;
        return !(g_.latency_hinge && g_.budget > 0) || latency_surrogate(0, nullptr, nullptr) > g_.budget;
    }

    // E[LAT] (see the top of this file); adds weight * its gradient to ga, gb when given.
    double latency_surrogate(double weight, std::vector<tensor>* ga, tensor* gb) const {
        const auto& t = table_->table();
        double total = table_->fixed();
        for (std::size_t p = 0; p < t.size(); ++p) {
            const tensor q = net_.probabilities(p);
            double mean = 0;
            for (index_t c = 0; c < q.numel(); ++c) mean += q[c] * t[p][static_cast<std::size_t>(c)];
            const auto& in = st_.point_gates[p];
            double none = 1;  // P(no input edge)
            for (int e : in) none *= 1 - detail::gram_sigmoid(beta_.value()[e]);
            total += (1 - none) * mean;
            if (!ga) continue;
            for (index_t c = 0; c < q.numel(); ++c)
                (*ga)[p][c] +=
                    static_cast<float>(weight * (1 - none) * q[c] * (t[p][static_cast<std::size_t>(c)] - mean));
            for (int e : in) {
                double rest = 1;
                for (int f : in)
                    if (f != e) rest *= 1 - detail::gram_sigmoid(beta_.value()[f]);
                const double pe = detail::gram_sigmoid(beta_.value()[e]);
                (*gb)[e] += static_cast<float>(weight * mean * rest * pe * (1 - pe));
            }
        }
        return total;
    }

    gram_options g_;
    detail::gram_structure st_;
    const cost_table* table_;
    var beta_;
    adam b_opt_;
    std::vector<double> m_nodes_, m_edges_;
    architecture sample_;
    std::vector<gram_epoch_record> gram_history_;
};

}  // namespace hwnas
