#pragma once
// A standalone network for one architecture of a space: only the kept edges
// (space/architecture.hpp: liveness), each built by the module builders,
// run through the same graph code as the supernet. Built fresh (its own
// initialization) or with the weights and BN statistics of a supernet's
// chosen candidates copied in; with copied weights it computes exactly what
// the supernet computes in mixing::fixed for that architecture.
#include <memory>
#include <vector>

#include "hwnas/space/architecture.hpp"
#include "hwnas/supernet/graph.hpp"
#include "hwnas/supernet/module_builders.hpp"
#include "hwnas/supernet/supernet.hpp"

namespace hwnas {

class derived_network : public module {
public:
    // from: copy the weights and buffers of its candidates (same space); gen initializes otherwise.
    derived_network(const search_space& space, const architecture& a, rng& gen, const supernet* from = nullptr,
                    const module_builder_registry& builders = default_module_builders())
        : space_(std::make_shared<const search_space>(space)), arch_(a) {
        require(!from || from->space().name() == space.name(),
                "derived_network: the supernet is of the space {}, the architecture of {}",
                from ? from->space().name() : "", space.name());
        const live_graph g = live_parts(space, a);
        carries_ = g.carries;
        ops_.resize(space.nodes().size());
        for (std::size_t i = 1; i < space.nodes().size(); ++i) {
            const auto& inputs = space.nodes()[i].inputs;
            ops_[i].resize(inputs.size());
            for (std::size_t k = 0; k < inputs.size(); ++k) {
                if (!carries_[i][k]) continue;
                const space_edge& e = inputs[k];
                const int c = detail::arch_candidate(e, a);
                const op_spec& op =
                    e.choice < 0 ? e.op : space.choice_points()[static_cast<std::size_t>(e.choice)].candidates[static_cast<std::size_t>(c)];
                ops_[i][k] = register_module(fmt::format("n{}_{}", i, k), builders.build(op, e.site, gen));
                if (from) copy_state(from->edge_module(static_cast<int>(i), static_cast<int>(k), e.choice < 0 ? 0 : c),
                                     *ops_[i][k], op);
            }
        }
    }

    var forward(const var& x) override {
        return detail::run_space_graph(*space_, carries_, x, [&](int i, int k, const var& in) {
            return ops_[static_cast<std::size_t>(i)][static_cast<std::size_t>(k)]->forward(in);
        });
    }
    std::string type_name() const override { return "derived_network"; }
    const architecture& arch() const { return arch_; }
    const search_space& space() const { return *space_; }

private:
    static void copy_state(const module& src, module& dst, const op_spec& op) {
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
