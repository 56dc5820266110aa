#pragma once
// A standalone network for one architecture of a space: only the kept edges
// (space/architecture.hpp: liveness), each built by the module builders,
// run through the same graph code as the supernet. Built fresh (its own
// initialization) or with the weights and BN statistics of a supernet's
// chosen candidates copied in; with copied weights it computes exactly what
// the supernet computes in mixing::fixed for that architecture. A third
// constructor takes each kept edge's module from a caller's factory (channel
// pruning puts slimmed copies in, prune/channel.hpp); output_shape and macs
// follow the modules actually held.
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "hwnas/space/architecture.hpp"
#include "hwnas/supernet/graph.hpp"
#include "hwnas/supernet/module_builders.hpp"
#include "hwnas/supernet/supernet.hpp"

namespace hwnas {

namespace detail {

// Copies src's parameters and buffers into dst, a module of the same structure (op names it in messages).
inline void copy_module_state(const module& src, module& dst, const op_spec& op) {
    const auto sp = src.named_parameters(), dp = dst.named_parameters();
    const auto sb = src.named_buffers(), db = dst.named_buffers();
    require(sp.size() == dp.size() && sb.size() == db.size(), "derived_network: op {} differs from the supernet's",
            op.name);
    for (std::size_t j = 0; j < sp.size(); ++j) {
        require<shape_error>(sp[j].param.shape() == dp[j].param.shape(),
                             "derived_network: op {} parameter {} has shape {}, the supernet's {}", op.name,
                             dp[j].name, dp[j].param.shape(), sp[j].param.shape());
        auto d = dp[j].param;
        std::copy(sp[j].param.value().begin(), sp[j].param.value().end(), d.value().begin());
    }
    for (std::size_t j = 0; j < sb.size(); ++j) {
        auto d = db[j].value;
        std::copy(sb[j].value.begin(), sb[j].value.end(), d.begin());
    }
}

}  // namespace detail

class derived_network : public module {
public:
    // Makes the module of kept edge `input` of node `node`, running op at site.
    using edge_factory = std::function<std::shared_ptr<module>(int node, int input, const op_spec& op, const op_site& site)>;

    // from: copy the weights and buffers of its candidates (same space); gen initializes otherwise.
    derived_network(const search_space& space, const architecture& a, rng& gen, const supernet* from = nullptr,
                    const module_builder_registry& builders = default_module_builders())
        : space_(std::make_shared<const search_space>(space)), arch_(a) {
        require(!from || from->space().name() == space.name(),
                "derived_network: the supernet is of the space {}, the architecture of {}",
                from ? from->space().name() : "", space.name());
        build([&](int i, int k, const op_spec& op, const op_site& site) {
            auto m = builders.build(op, site, gen);
            if (from) detail::copy_module_state(from->edge_module(i, k, detail::arch_candidate(space.at({i, k}), a)), *m, op);
            return m;
        });
    }
    // Every kept edge's module made by make (e.g. slimmed copies of another network's modules, prune/channel.hpp).
    derived_network(const search_space& space, const architecture& a, const edge_factory& make)
        : space_(std::make_shared<const search_space>(space)), arch_(a) {
        build(make);
    }

    var forward(const var& x) override {
        return detail::run_space_graph(*space_, carries_, x, [&](int i, int k, const var& in) {
            return ops_[static_cast<std::size_t>(i)][static_cast<std::size_t>(k)]->forward(in);
        });
    }
    std::string type_name() const override { return "derived_network"; }
    const architecture& arch() const { return arch_; }
    const search_space& space() const { return *space_; }
    // The module of kept edge `input` of node `node`; config_error for an edge the network does not keep.
    module& edge_module(int node, int input) const {
        require(node > 0 && node < static_cast<int>(ops_.size()) && input >= 0 &&
                    input < static_cast<int>(ops_[static_cast<std::size_t>(node)].size()) &&
                    ops_[static_cast<std::size_t>(node)][static_cast<std::size_t>(input)],
                "derived_network: node {} input {} is not an edge of this network", node, input);
        return *ops_[static_cast<std::size_t>(node)][static_cast<std::size_t>(input)];
    }
    // Shapes and MACs follow the kept edges' modules, so they count a network whose modules were slimmed.
    shape output_shape(const shape& in) const override { return walk(in).first; }
    double macs(const shape& in) const override { return walk(in).second; }

private:
    void build(const edge_factory& make) {
        const live_graph g = live_parts(*space_, arch_);
        carries_ = g.carries;
        ops_.resize(space_->nodes().size());
        for (std::size_t i = 1; i < space_->nodes().size(); ++i) {
            const auto& inputs = space_->nodes()[i].inputs;
            ops_[i].resize(inputs.size());
            for (std::size_t k = 0; k < inputs.size(); ++k) {
                if (!carries_[i][k]) continue;
                const space_edge& e = inputs[k];
                const op_spec& op = e.choice < 0 ? e.op
                                                 : space_->choice_points()[static_cast<std::size_t>(e.choice)]
                                                       .candidates[static_cast<std::size_t>(detail::arch_candidate(e, arch_))];
                ops_[i][k] = register_module(fmt::format("n{}_{}", i, k),
                                             make(static_cast<int>(i), static_cast<int>(k), op, e.site));
            }
        }
    }

    // The output shape and the MACs of one forward pass at input shape in.
    std::pair<shape, double> walk(const shape& in) const {
        const auto& nodes = space_->nodes();
        std::vector<shape> at(nodes.size());
        std::vector<bool> known(nodes.size(), false);
        at[0] = in;
        known[0] = true;
        double total = 0;
        for (std::size_t i = 1; i < nodes.size(); ++i) {
            index_t concat_c = 0;
            for (std::size_t k = 0; k < nodes[i].inputs.size(); ++k) {
                const space_edge& e = nodes[i].inputs[k];
                const auto from = static_cast<std::size_t>(e.from);
                if (!carries_[i][k] || !known[from]) {
                    concat_c += e.out.c;  // a concat node fills a missing input with zeros of the space's shape
                    continue;
                }
                const shape o = ops_[i][k]->output_shape(at[from]);
                total += ops_[i][k]->macs(at[from]);
                if (nodes[i].how == merge_mode::concat) concat_c += o[3];
                if (!known[i]) at[i] = o;
                known[i] = true;
            }
            if (known[i] && nodes[i].how == merge_mode::concat) at[i][3] = concat_c;
        }
        require(known.back(), "derived_network: the output of {} is not computed", space_->name());
        return {at.back(), total};
    }

    std::shared_ptr<const search_space> space_;
    architecture arch_;
    std::vector<std::vector<bool>> carries_;
    std::vector<std::vector<std::shared_ptr<module>>> ops_;
};

// The network of architecture a, freshly initialized from gen.
inline std::shared_ptr<derived_network> derive_network(const search_space& s, const architecture& a, rng& gen) {
    return std::make_shared<derived_network>(s, a, gen);
}
// The network of architecture a with the supernet's weights and BN statistics copied in.
inline std::shared_ptr<derived_network> derive_network(const supernet& net, const architecture& a, rng& gen) {
    return std::make_shared<derived_network>(net.space(), a, gen, &net);
}

}  // namespace hwnas
