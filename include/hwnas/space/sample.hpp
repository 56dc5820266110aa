#pragma once
// Uniform random architectures and the size of a space.
//
// The sampling support: every choice point takes any of its candidates; a
// node all of whose inputs are gated (a node of a DAG stage) gets any
// non-empty subset of them; any other gated edge is free. sample_architecture
// draws uniformly from it, so every sample is valid and, in DAG spaces, has
// no dead node (architectures with removed nodes are valid but never drawn).
// count_architectures counts exactly that set.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "hwnas/core/rng.hpp"
#include "hwnas/space/architecture.hpp"
#include "hwnas/space/search_space.hpp"

namespace hwnas {

namespace detail {

// Calls f(first gate, count, all_gated) for every node with gated inputs; a
// node's gates are consecutive (search_space numbers them as it adds the node).
template <class F>
void for_each_gated_node(const search_space& s, F f) {
    for (const space_node& n : s.nodes()) {
        int first = -1, count = 0;
        for (const space_edge& e : n.inputs) {
            if (e.gate_index < 0) continue;
            if (first < 0) first = e.gate_index;
            ++count;
        }
        if (count > 0) f(first, count, count == static_cast<int>(n.inputs.size()));
    }
}

}  // namespace detail

// A uniform draw from the sampling support: the choices in choice point
// order, then the gated nodes in node order (a non-empty subset as a mask
// drawn uniformly in [1, 2^n), or n fair bits when the node has ungated inputs too).
inline architecture sample_architecture(const search_space& s, rng& r) {
    architecture a;
    for (const choice_point& p : s.choice_points()) a.choices.push_back(static_cast<int>(r.below(p.candidates.size())));
    a.edges.assign(s.gates().size(), 0);
    detail::for_each_gated_node(s, [&](int first, int count, bool all_gated) {
        const std::uint64_t subsets = std::uint64_t{1} << count;
        const std::uint64_t mask = all_gated ? 1 + r.below(subsets - 1) : r.below(subsets);
        for (int i = 0; i < count; ++i) a.edges[static_cast<std::size_t>(first + i)] = (mask >> i) & 1u;
    });
    return a;
}

struct space_size {
    std::string exact;  // decimal
    double log10 = 0;
};

// The number of architectures in the sampling support, exactly.
inline space_size count_architectures(const search_space& s) {
    constexpr std::uint64_t base = 1'000'000'000;
    std::vector<std::uint64_t> limbs{1};  // little endian, base 1e9
    space_size size;
    const auto times = [&](std::uint64_t f) {
        size.log10 += std::log10(static_cast<double>(f));
        std::uint64_t carry = 0;
        for (auto& l : limbs) {
            const std::uint64_t x = l * f + carry;  // < 1e9 * 2^32 + 2^32: no overflow
            l = x % base;
            carry = x / base;
        }
        for (; carry > 0; carry /= base) limbs.push_back(carry % base);
    };
    for (const choice_point& p : s.choice_points()) times(p.candidates.size());
    detail::for_each_gated_node(s, [&](int, int count, bool all_gated) {
        times((std::uint64_t{1} << count) - (all_gated ? 1 : 0));
    });
    size.exact = fmt::format("{}", limbs.back());
    for (std::size_t i = limbs.size() - 1; i-- > 0;) size.exact += fmt::format("{:09}", limbs[i]);
    return size;
}

}  // namespace hwnas
