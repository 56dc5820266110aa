#pragma once
// The architecture file format (README.md, "Architecture JSON"):
//   {"space": "fbnet_cifar", "choices": [3, 8, ...], "ops": ["k3_e6", "skip", ...]}
// plus "edges": [1, 0, ...] (one 0/1 per edge variable) for spaces that have
// edge variables. Loading needs "choices" or "ops" (names, for hand-written
// files); when both are given they must agree. Other keys are ignored.
// Kept out of gram.hpp: nlohmann/json is heavy to compile, and only code that
// reads or writes files needs it.
#include <climits>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "hwnas/error.hpp"
#include "hwnas/space/architecture.hpp"
#include "hwnas/space/search_space.hpp"

namespace hwnas {

// The JSON of a valid architecture (validates first).
inline nlohmann::json architecture_to_json(const search_space& s, const architecture& a) {
    validate(s, a);
    nlohmann::json j{{"space", s.name()}, {"choices", a.choices}, {"ops", op_names(s, a)}};
    if (!s.gates().empty()) {
        std::vector<int> edges(a.edges.begin(), a.edges.end());
        j["edges"] = edges;
    }
    return j;
}

namespace detail {

inline const nlohmann::json& json_array(const nlohmann::json& j, const char* key) {
    const auto& v = j.at(key);
    require(v.is_array(), "architecture json: '{}' must be an array, got {}", key, v.type_name());
    return v;
}

inline std::vector<int> json_ints(const nlohmann::json& j, const char* key) {
    std::vector<int> out;
    const auto& v = json_array(j, key);
    for (std::size_t i = 0; i < v.size(); ++i) {
        require(v[i].is_number_integer(), "architecture json: {}[{}] must be an integer, got {}", key, i,
                v[i].type_name());
        const auto x = v[i].get<long long>();
        require(x >= INT_MIN && x <= INT_MAX, "architecture json: {}[{}] = {} is out of range", key, i, x);
        out.push_back(static_cast<int>(x));
    }
    return out;
}

}  // namespace detail

// Reads an architecture of s: checks the space name, the keys, and validates.
inline architecture architecture_from_json(const search_space& s, const nlohmann::json& j) {
    require(j.is_object(), "architecture json: expected an object, got {}", j.type_name());
    require(j.contains("space"), "architecture json: missing key 'space'");
    require(j["space"].is_string(), "architecture json: 'space' must be a string, got {}", j["space"].type_name());
    const auto space = j["space"].get<std::string>();
    require(space == s.name(), "architecture json: written for the space '{}', expected '{}'", space, s.name());
    require(j.contains("choices") || j.contains("ops"), "architecture json: needs 'choices' or 'ops'");
    const auto& points = s.choice_points();
    architecture a;
    if (j.contains("choices")) a.choices = detail::json_ints(j, "choices");
    if (j.contains("ops")) {
        const auto& ops = detail::json_array(j, "ops");
        require(ops.size() == points.size(), "architecture json: {} ops, the space {} has {} choice points",
                ops.size(), s.name(), points.size());
        const bool have_choices = j.contains("choices");
        if (have_choices) {
            const std::string why = detail::arch_choice_problem(s, a.choices);
            if (!why.empty()) throw config_error(why);
        }
        for (std::size_t i = 0; i < ops.size(); ++i) {
            require(ops[i].is_string(), "architecture json: ops[{}] must be a string, got {}", i, ops[i].type_name());
            const auto name = ops[i].get<std::string>();
            const auto& cands = points[i].candidates;
            int found = -1;
            for (std::size_t c = 0; c < cands.size(); ++c)
                if (cands[c].name == name) found = static_cast<int>(c);
            if (have_choices) {
                const auto& chosen = cands[static_cast<std::size_t>(a.choices[i])].name;
                require(found == a.choices[i], "architecture json: ops[{}] is '{}' but choices[{}] = {} is '{}'", i,
                        name, i, a.choices[i], chosen);
            } else {
                std::vector<std::string> names;
                for (const auto& c : cands) names.push_back(c.name);
                require(found >= 0, "architecture json: ops[{}] '{}' is not a candidate of {} ({})", i, name,
                        points[i].name, fmt::join(names, ", "));
                a.choices.push_back(found);
            }
        }
    }
    if (!s.gates().empty()) {
        require(j.contains("edges"), "architecture json: missing key 'edges' (the space {} has {} edge variables)",
                s.name(), s.gates().size());
        const auto edges = detail::json_ints(j, "edges");
        for (std::size_t i = 0; i < edges.size(); ++i) {
            require(edges[i] == 0 || edges[i] == 1, "architecture json: edges[{}] must be 0 or 1, got {}", i,
                    edges[i]);
            a.edges.push_back(static_cast<std::uint8_t>(edges[i]));
        }
    } else {
        require(!j.contains("edges"), "architecture json: 'edges' given, but the space {} has no edge variables",
                s.name());
    }
    validate(s, a);
    return a;
}

}  // namespace hwnas
