#pragma once
// Exact MACs and parameters of the network an architecture derives: the sum
// of the costs of the edges it keeps (architecture.hpp: liveness). Stem, head
// and every fixed op are edges like the others; dead nodes cost nothing.
// Conventions (op_spec.hpp: op_cost): MACs of convolutions and linear layers;
// parameters of conv weights (no biases), BN gamma and beta, linear weights
// and bias.
#include "hwnas/space/architecture.hpp"
#include "hwnas/space/search_space.hpp"

namespace hwnas {

// Validates a, then sums the kept edges' costs.
inline op_cost network_cost(const search_space& s, const architecture& a) {
    const live_graph g = live_parts(s, a);
    op_cost total;
    for (std::size_t i = 0; i < s.nodes().size(); ++i) {
        const auto& inputs = s.nodes()[i].inputs;
        for (std::size_t k = 0; k < inputs.size(); ++k)
            if (g.carries[i][k]) total += inputs[k].costs[static_cast<std::size_t>(detail::arch_candidate(inputs[k], a))];
    }
    return total;
}

}  // namespace hwnas
