#pragma once
// The magnitude channel-pruning baseline (algorithms.md 4.4, 5): a trained
// derived network of a DAG space made narrower by dropping its least
// important channels, as a real smaller network (not masks), with one global
// keep ratio chosen so that its latency meets a budget.
//
//   auto small = prune_channels(net, 0.5);                      // keep ratio 0.5, BN-gamma magnitudes
//   channel_prune_result r = prune_channels_to_budget(net,
//       [&](derived_network& n) { return pick(profile_module(n, in).t, timing_stat::min); }, budget_ms);
//   r.net (pruned, weights copied), r.search.x (keep ratio), .cost (latency), .met, .trials
//
// What is pruned: the hidden (expanded) channels of every MBConv block with
// groups == 1 (DAG node ops and stage transitions), and the output channels
// of the head's conv (node "head", a conv_bn_act with groups == 1, followed by
// "pool" and the linear "classifier", whose input rows follow). Each keeps
// max(1, round(keep * C)) of its C channels, those of largest magnitude: the
// |gamma| of the batch norm right after the conv producing them (the MBConv
// expand conv, the head conv) or, with channel_score::l1, the L1 norm of that
// conv's filter. Kept channels stay in their order, and their weights and BN
// statistics are copied, so keep = 1 computes exactly what net computes.
// Not pruned: the output channels of DAG nodes, stage transitions and the
// stem, since a DAG node's output is summed with others (every summand must
// keep the same channels); depthwise and conv1x1 node ops therefore keep
// their width. Every other module is copied unchanged.
#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <numeric>
#include <span>
#include <vector>

#include "hwnas/error.hpp"
#include "hwnas/nn/layers.hpp"
#include "hwnas/nn/mbconv.hpp"
#include "hwnas/prune/budget_search.hpp"
#include "hwnas/supernet/derive.hpp"

namespace hwnas {

enum class channel_score { bn_gamma, l1 };

// Per output channel of c: |BN gamma| or the L1 norm of its conv filter (weight HWIO, last axis).
inline std::vector<float> channel_magnitudes(const conv_bn_act& c, channel_score score) {
    const tensor& w = c.weight().value();
    const index_t cout = w.dim(-1);
    std::vector<float> m(static_cast<std::size_t>(cout), 0.0f);
    if (score == channel_score::bn_gamma) {
        const tensor& g = c.gamma().value();
        for (index_t o = 0; o < cout; ++o) m[static_cast<std::size_t>(o)] = std::abs(g[o]);
    } else {
        for (index_t j = 0; j < w.numel(); ++j) m[static_cast<std::size_t>(j % cout)] += std::abs(w[j]);
    }
    return m;
}

// How many of c channels a keep ratio keeps: round(keep * c), between 1 and c.
inline index_t kept_channel_count(index_t c, double keep) {
    require(keep > 0 && keep <= 1, "kept_channel_count: keep ratio {}, expected in (0, 1]", keep);
    return std::clamp<index_t>(static_cast<index_t>(std::llround(keep * static_cast<double>(c))), 1, c);
}

// The indices of the `count` largest magnitudes (ties: the lower index), ascending.
inline std::vector<index_t> largest_channels(std::span<const float> magnitude, index_t count) {
    require(count >= 1 && count <= static_cast<index_t>(magnitude.size()),
            "largest_channels: keep {} of {} channels, expected 1..{}", count, magnitude.size(), magnitude.size());
    std::vector<index_t> order(magnitude.size());
    std::iota(order.begin(), order.end(), index_t{0});
    std::stable_sort(order.begin(), order.end(), [&](index_t a, index_t b) {
        return magnitude[static_cast<std::size_t>(a)] > magnitude[static_cast<std::size_t>(b)];
    });
    order.resize(static_cast<std::size_t>(count));
    std::sort(order.begin(), order.end());
    return order;
}

namespace detail {

// to[...] = from[...] where every axis on which the two shapes differ reads the kept channels.
inline void copy_kept_channels(const tensor& from, tensor to, const std::vector<index_t>& kept) {
    const int r = from.rank();
    require<shape_error>(to.rank() == r, "copy_kept_channels: shapes {} and {} differ in rank", from.shape(),
                         to.shape());
    for (int a = 0; a < r; ++a)
        require<shape_error>(from.dim(a) == to.dim(a) || to.dim(a) == static_cast<index_t>(kept.size()),
                             "copy_kept_channels: shape {} is not {} with {} channels kept", to.shape(), from.shape(),
                             kept.size());
    std::vector<index_t> idx(static_cast<std::size_t>(r));
    for (index_t n = 0; n < to.numel(); ++n) {
        index_t rem = n;
        for (int a = r - 1; a >= 0; --a) {
            idx[static_cast<std::size_t>(a)] = rem % to.dim(a);
            rem /= to.dim(a);
        }
        index_t off = 0;
        for (int a = 0; a < r; ++a) {
            const index_t i = idx[static_cast<std::size_t>(a)];
            off = off * from.dim(a) + (from.dim(a) == to.dim(a) ? i : kept[static_cast<std::size_t>(i)]);
        }
        to[n] = from[off];
    }
}

// Copies src's parameters and buffers into dst, its slimmed twin (same structure, fewer channels).
inline void copy_kept_state(const module& src, module& dst, const std::vector<index_t>& kept) {
    const auto sp = src.named_parameters(), dp = dst.named_parameters();
    const auto sb = src.named_buffers(), db = dst.named_buffers();
    require(sp.size() == dp.size() && sb.size() == db.size(), "prune_channels: {} and its slimmed copy differ",
            src.type_name());
    for (std::size_t j = 0; j < sp.size(); ++j) {
        auto d = dp[j].param;
        copy_kept_channels(sp[j].param.value(), d.value(), kept);
    }
    for (std::size_t j = 0; j < sb.size(); ++j) copy_kept_channels(sb[j].value, db[j].value, kept);
}

// The classifier and head convolution whose channels prune_channels may drop, or nulls.
struct prunable_head {
    int head = -1, classifier = -1;
    const conv_bn_act* conv = nullptr;
    const linear_layer* fc = nullptr;
};

inline prunable_head find_prunable_head(const derived_network& net) {
    const search_space& s = net.space();
    prunable_head h{s.find_node("head"), s.find_node("classifier")};
    if (h.head < 0 || h.classifier < 0) return {};
    const space_node& cls = s.node_at(h.classifier);
    const int pool = cls.inputs.at(0).from;
    const space_node& p = s.node_at(pool);
    if (cls.inputs.size() != 1 || p.inputs.size() != 1 || p.inputs[0].from != h.head ||
        p.inputs[0].op.kind != "global_avg_pool")
        return {};
    h.conv = dynamic_cast<const conv_bn_act*>(&net.edge_module(h.head, 0));
    h.fc = dynamic_cast<const linear_layer*>(&net.edge_module(h.classifier, 0));
    if (!h.conv || !h.fc || h.conv->options().groups != 1) return {};
    return h;
}

}  // namespace detail

// A copy of net with every prunable unit (see the top of this file) keeping
// kept_channel_count(C, keep) channels of largest magnitude; same mode
// (train/eval) as net.
inline std::shared_ptr<derived_network> prune_channels(const derived_network& net, double keep,
                                                       channel_score score = channel_score::bn_gamma) {
    require(keep > 0 && keep <= 1, "prune_channels: keep ratio {}, expected in (0, 1]", keep);
    const detail::prunable_head h = detail::find_prunable_head(net);
    std::vector<index_t> head_kept;
    if (h.conv) head_kept = largest_channels(channel_magnitudes(*h.conv, score),
                                             kept_channel_count(h.conv->weight().shape().dim(-1), keep));
    rng gen(0);  // initial values, all overwritten by copies
    auto out = std::make_shared<derived_network>(
        net.space(), net.arch(),
        [&](int i, int k, const op_spec& op, const op_site& site) -> std::shared_ptr<module> {
            const module& src = net.edge_module(i, k);
            if (const auto* m = dynamic_cast<const mbconv*>(&src); m && m->options().groups == 1) {
                const std::vector<index_t> kept = largest_channels(
                    channel_magnitudes(m->expand(), score), kept_channel_count(m->expand().weight().shape().dim(-1), keep));
                mbconv_options o = m->options();
                o.hidden = static_cast<index_t>(kept.size());
                auto d = std::make_shared<mbconv>(site.in.c, site.cout, gen, o);
                detail::copy_kept_state(src, *d, kept);
                return d;
            }
            if (h.conv && i == h.head) {
                auto d = std::make_shared<conv_bn_act>(site.in.c, static_cast<index_t>(head_kept.size()),
                                                       h.conv->weight().shape()[0], gen, h.conv->options());
                detail::copy_kept_state(src, *d, head_kept);
                return d;
            }
            if (h.conv && i == h.classifier) {
                auto d = std::make_shared<linear_layer>(static_cast<index_t>(head_kept.size()), site.cout, gen,
                                                        h.fc->bias().defined());
                detail::copy_kept_state(src, *d, head_kept);
                return d;
            }
            auto d = default_module_builders().build(op, site, gen);
            detail::copy_module_state(src, *d, op);
            return d;
        });
    out->train(net.is_training());
    return out;
}

struct channel_prune_options {
    channel_score score = channel_score::bn_gamma;
    double min_keep = 0.1;  // the lowest keep ratio tried
    int steps = 6;          // bisection steps
};

struct channel_prune_result {
    std::shared_ptr<derived_network> net;  // pruned at search.x
    budget_search_result search;           // x: keep ratio, cost: latency(net), met, trials
};

// The largest keep ratio in [min_keep, 1] whose pruned network's latency is
// within budget (largest_within_budget: latency assumed to grow with the
// keep ratio), and that network. latency gets each candidate network.
inline channel_prune_result prune_channels_to_budget(const derived_network& net,
                                                     const std::function<double(derived_network&)>& latency,
                                                     double budget, const channel_prune_options& o = {}) {
    require(o.min_keep > 0 && o.min_keep <= 1, "prune_channels_to_budget: min_keep {}, expected in (0, 1]", o.min_keep);
    channel_prune_result r;
    r.search = largest_within_budget([&](double keep) { return latency(*prune_channels(net, keep, o.score)); },
                                     budget, o.min_keep, 1.0, o.steps);
    r.net = prune_channels(net, r.search.x, o.score);
    return r;
}

}  // namespace hwnas
