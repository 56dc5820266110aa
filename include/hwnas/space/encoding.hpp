#pragma once
// The architecture encoding latency predictors read: for every choice point
// in order, one slot per candidate (in the space's candidate order, e.g. the
// FBNet op index), then one slot per edge variable. A discrete architecture
// is one-hot per choice point plus its edge bits; a soft one (softmax of the
// architecture parameters, edge probabilities) fills the same slots.
#include <cstddef>
#include <vector>

#include "hwnas/error.hpp"
#include "hwnas/space/architecture.hpp"
#include "hwnas/space/search_space.hpp"

namespace hwnas {

// Slot of candidate `candidate` of choice point `point`.
inline std::size_t encoding_index(const search_space& s, int point, int candidate) {
    const auto& points = s.choice_points();
    require(point >= 0 && point < static_cast<int>(points.size()),
            "encoding_index: choice point {} out of range, the space {} has {}", point, s.name(), points.size());
    const auto& p = points[static_cast<std::size_t>(point)];
    require(candidate >= 0 && candidate < static_cast<int>(p.candidates.size()),
            "encoding_index: candidate {} out of range, {} has {} candidates", candidate, p.name, p.candidates.size());
    std::size_t offset = 0;
    for (int i = 0; i < point; ++i) offset += points[static_cast<std::size_t>(i)].candidates.size();
    return offset + static_cast<std::size_t>(candidate);
}

// Slots used by the choice points (the first slot of the edge bits).
inline std::size_t choice_encoding_size(const search_space& s) {
    std::size_t n = 0;
    for (const auto& p : s.choice_points()) n += p.candidates.size();
    return n;
}

// Slot of edge variable `gate`.
inline std::size_t gate_encoding_index(const search_space& s, int gate) {
    require(gate >= 0 && gate < static_cast<int>(s.gates().size()),
            "gate_encoding_index: edge variable {} out of range, the space {} has {}", gate, s.name(), s.gates().size());
    return choice_encoding_size(s) + static_cast<std::size_t>(gate);
}

inline std::size_t encoding_size(const search_space& s) { return choice_encoding_size(s) + s.gates().size(); }

// The encoding of a valid architecture (validates first).
inline std::vector<float> one_hot(const search_space& s, const architecture& a) {
    validate(s, a);
    std::vector<float> x(encoding_size(s), 0.0f);
    std::size_t offset = 0;
    for (std::size_t i = 0; i < a.choices.size(); ++i) {
        x[offset + static_cast<std::size_t>(a.choices[i])] = 1.0f;
        offset += s.choice_points()[i].candidates.size();
    }
    for (std::size_t g = 0; g < a.edges.size(); ++g) x[offset + g] = a.edges[g];
    return x;
}

}  // namespace hwnas
