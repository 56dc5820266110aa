#pragma once
// Op kind -> module builder: the counterpart of the space layer's op_registry
// (space/op_registry.hpp). A builder makes the nn::module that runs an
// op_spec at a site (input shape, cout, stride), exactly the layers its
// kind's doc names (so its parameter count and MACs equal the kind's cost
// function; tests/supernet/test_module_builders.cpp checks every built-in
// kind). A user who registers a kind with register_op_kind and a builder
// with register_module_builder gets it in supernets and derived networks.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "hwnas/nn/mbconv.hpp"
#include "hwnas/space/op_spec.hpp"
#include "hwnas/supernet/modules.hpp"

namespace hwnas {

using module_builder = std::function<std::shared_ptr<module>(const op_spec&, const op_site&, rng&)>;

class module_builder_registry {
public:
    module_builder_registry() = default;
    module_builder_registry(const module_builder_registry&) = delete;
    module_builder_registry& operator=(const module_builder_registry&) = delete;

    static std::unique_ptr<module_builder_registry> with_builtins();

    // config_error when the kind name is empty or taken, or the builder is empty.
    void add(std::string kind, module_builder b) {
        require(!kind.empty(), "module_builder_registry: a builder needs a kind name");
        require(static_cast<bool>(b), "module_builder_registry: the builder for kind '{}' is empty", kind);
        std::lock_guard lock(mutex_);
        require(!builders_.contains(kind), "module_builder_registry: kind '{}' already has a builder", kind);
        builders_.emplace(std::move(kind), std::move(b));
    }
    bool contains(std::string_view kind) const {
        std::lock_guard lock(mutex_);
        return builders_.find(kind) != builders_.end();
    }
    // The module running op at site s; config_error naming the op when its kind has no builder.
    std::shared_ptr<module> build(const op_spec& op, const op_site& s, rng& gen) const {
        module_builder b;
        {
            std::lock_guard lock(mutex_);
            const auto it = builders_.find(op.kind);
            if (it == builders_.end())
                throw config_error(fmt::format("module_builder_registry: op {} has kind '{}', which has no module "
                                               "builder (register one with register_module_builder)",
                                               op.name, op.kind));
            b = it->second;
        }
        return b(op, s, gen);
    }

private:
    mutable std::mutex mutex_;
    std::map<std::string, module_builder, std::less<>> builders_;
};

namespace detail {

inline std::shared_ptr<module> seq(std::vector<std::shared_ptr<module>> m) {
    return std::make_shared<sequential>(std::move(m));
}
inline std::shared_ptr<module> relu_layer() { return std::make_shared<activation_layer>(activation::relu); }
inline std::shared_ptr<module> conv_bn(index_t cin, index_t cout, index_t k, rng& gen, index_t stride, activation a,
                                       index_t groups = 1) {
    return std::make_shared<conv_bn_act>(cin, cout, k, gen,
                                         conv_bn_act_options{.stride = stride, .groups = groups, .act = a});
}

}  // namespace detail

inline std::unique_ptr<module_builder_registry> module_builder_registry::with_builtins() {
    using detail::conv_bn;
    using detail::relu_layer;
    using detail::seq;
    auto r = std::make_unique<module_builder_registry>();
    const auto kept = [](const op_site& s) { return s.stride == 1 && s.cout == s.in.c; };
    r->add("identity", [](const op_spec&, const op_site&, rng&) { return std::make_shared<identity_layer>(); });
    r->add("zero", [](const op_spec&, const op_site& s, rng&) { return std::make_shared<zero_layer>(s.cout, s.stride); });
    r->add("skip", [kept](const op_spec&, const op_site& s, rng& g) -> std::shared_ptr<module> {
        if (kept(s)) return std::make_shared<identity_layer>();
        return conv_bn(s.in.c, s.cout, 1, g, s.stride, activation::relu);
    });
    r->add("factorized_skip", [kept](const op_spec&, const op_site& s, rng& g) -> std::shared_ptr<module> {
        if (kept(s)) return std::make_shared<identity_layer>();
        return std::make_shared<factorized_reduce>(s.in.c, s.cout, s.stride, g);
    });
    r->add("conv_bn", [](const op_spec& op, const op_site& s, rng& g) {
        return conv_bn(s.in.c, s.cout, op.args[0], g, s.stride, activation::none);
    });
    r->add("conv_bn_relu", [](const op_spec& op, const op_site& s, rng& g) {
        return conv_bn(s.in.c, s.cout, op.args[0], g, s.stride, activation::relu);
    });
    r->add("relu_conv_bn", [](const op_spec& op, const op_site& s, rng& g) {
        return seq({relu_layer(), conv_bn(s.in.c, s.cout, op.args[0], g, s.stride, activation::none)});
    });
    r->add("dw", [](const op_spec& op, const op_site& s, rng& g) {
        return conv_bn(s.in.c, s.cout, op.args[0], g, s.stride, activation::relu, s.in.c);
    });
    r->add("mbconv", [](const op_spec& op, const op_site& s, rng& g) {
        return std::make_shared<mbconv>(
            s.in.c, s.cout, g,
            mbconv_options{.kernel = op.args[0], .expansion = op.args[1], .stride = s.stride, .groups = op.args[2],
                           .act = activation::relu});
    });
    r->add("sep_conv", [](const op_spec& op, const op_site& s, rng& g) {
        const index_t c = s.in.c, k = op.args[0];
        return seq({relu_layer(),
                    std::make_shared<conv_layer>(c, c, k, g, conv2d_params{s.stride, (k - 1) / 2, 1, c}),
                    conv_bn(c, c, 1, g, 1, activation::relu),
                    std::make_shared<conv_layer>(c, c, k, g, conv2d_params{1, (k - 1) / 2, 1, c}),
                    conv_bn(c, s.cout, 1, g, 1, activation::none)});
    });
    r->add("dil_conv", [](const op_spec& op, const op_site& s, rng& g) {
        const index_t c = s.in.c, k = op.args[0], d = op.args[1];
        return seq({relu_layer(), std::make_shared<conv_layer>(c, c, k, g, conv2d_params{s.stride, d * (k - 1) / 2, d, c}),
                    conv_bn(c, s.cout, 1, g, 1, activation::none)});
    });
    r->add("max_pool", [](const op_spec& op, const op_site& s, rng&) {
        return std::make_shared<pool_layer>(true, op.args[0], s.stride);
    });
    r->add("avg_pool", [](const op_spec& op, const op_site& s, rng&) {
        return std::make_shared<pool_layer>(false, op.args[0], s.stride);
    });
    r->add("global_avg_pool", [](const op_spec&, const op_site&, rng&) { return std::make_shared<global_pool_layer>(); });
    r->add("linear", [](const op_spec&, const op_site& s, rng& g) {
        return std::make_shared<linear_layer>(s.in.c, s.cout, g);
    });
    r->add("bn_relu", [](const op_spec&, const op_site& s, rng&) {
        return std::make_shared<bn_layer>(s.cout, activation::relu);
    });
    r->add("resnet_basic", [](const op_spec&, const op_site& s, rng& g) {
        return std::make_shared<resnet_block>(s.in.c, s.cout, s.stride, g);
    });
    return r;
}

// The builders supernets and derived networks use unless given others.
inline module_builder_registry& default_module_builders() {
    static const std::unique_ptr<module_builder_registry> r = module_builder_registry::with_builtins();
    return *r;
}

// Adds a user's builder for kind to the default builders (config_error if it has one).
inline void register_module_builder(std::string kind, module_builder b) {
    default_module_builders().add(std::move(kind), std::move(b));
}

}  // namespace hwnas
