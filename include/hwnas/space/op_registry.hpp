#pragma once
// Name -> op_kind. The default registry holds the built-in kinds
// (builtin_ops.hpp); register_op_kind adds a user's kind to it, after which
// op_specs of that kind can be candidates of any space. Lookups and additions
// are thread safe; a kind, once added, is never removed or replaced.
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "hwnas/error.hpp"
#include "hwnas/space/builtin_ops.hpp"
#include "hwnas/space/op_spec.hpp"

namespace hwnas {

class op_registry {
public:
    op_registry() = default;
    op_registry(const op_registry&) = delete;
    op_registry& operator=(const op_registry&) = delete;

    // A registry holding the built-in kinds.
    static std::unique_ptr<op_registry> with_builtins() {
        auto r = std::make_unique<op_registry>();
        for (auto& k : detail::builtin_op_kinds()) r->add(std::move(k));
        return r;
    }

    // Adds a kind; config_error when the name is empty or taken, or cost is missing.
    void add(op_kind kind) {
        require(!kind.name.empty(), "op_registry: a kind needs a name");
        require(static_cast<bool>(kind.cost), "op_registry: kind '{}' has no cost function", kind.name);
        std::lock_guard lock(mutex_);
        require(!kinds_.contains(kind.name), "op_registry: kind '{}' is already registered", kind.name);
        auto name = kind.name;
        kinds_.emplace(std::move(name), std::make_unique<const op_kind>(std::move(kind)));
    }

    bool contains(std::string_view name) const {
        std::lock_guard lock(mutex_);
        return kinds_.find(name) != kinds_.end();
    }

    // The kind called name; config_error listing the known kinds otherwise.
    const op_kind& at(std::string_view name) const {
        std::lock_guard lock(mutex_);
        const auto it = kinds_.find(name);
        if (it == kinds_.end()) {
            std::vector<std::string_view> known;
            for (const auto& [n, k] : kinds_) known.push_back(n);
            throw config_error(fmt::format("op_registry: unknown op kind '{}' (known: {})", name,
                                           known.empty() ? "none" : fmt::format("{}", fmt::join(known, ", "))));
        }
        return *it->second;
    }

    // The kind of op, after checking that op has the kind's arguments.
    const op_kind& kind_of(const op_spec& op) const {
        const op_kind& k = at(op.kind);
        require(op.args.size() == k.args.size(), "op {}: kind {} takes {} arguments ({}), got {}", op.name, op.kind,
                k.args.size(), fmt::join(k.args, ", "), op.args.size());
        return k;
    }

    // Output shape of op at site s; shape_error / config_error when it cannot run there.
    feature_shape out_shape(const op_spec& op, const op_site& s) const {
        const op_kind& k = kind_of(op);
        require<shape_error>(s.in.h >= 1 && s.in.w >= 1 && s.in.c >= 1 && s.cout >= 1 && s.stride >= 1,
                             "op {}: needs a non-empty input, cout >= 1 and stride >= 1, got input {}, cout {}, "
                             "stride {}",
                             op.name, s.in, s.cout, s.stride);
        return k.out_shape ? k.out_shape(op, s) : detail::same_padded_shape(s);
    }

    // Exact cost of op at site s (checked by out_shape first).
    op_cost cost(const op_spec& op, const op_site& s) const {
        out_shape(op, s);
        return kind_of(op).cost(op, s);
    }

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::unique_ptr<const op_kind>, std::less<>> kinds_;
};

// The registry that spaces use unless given another.
inline op_registry& default_op_registry() {
    static const std::unique_ptr<op_registry> r = op_registry::with_builtins();
    return *r;
}

// Adds a user's kind to the default registry (config_error if the name is taken).
inline void register_op_kind(op_kind kind) { default_op_registry().add(std::move(kind)); }

}  // namespace hwnas
