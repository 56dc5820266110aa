#pragma once
// The module base: a node of a network tree that owns named parameters
// (leaf vars with requires_grad), buffers (tensors such as batch-norm running
// statistics) and child modules. Names are hierarchical ("blocks.3.dw.weight").
// Each parameter carries a group tag ("weights" by default; search methods
// put architecture parameters in "arch") so one group can be listed, trained
// or frozen on its own. Modules are used through pointers (the supernet
// composes them at run time), hence no copies.
#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "hwnas/autograd/var.hpp"

namespace hwnas {

inline constexpr std::string_view weights_group = "weights";
inline constexpr std::string_view arch_group = "arch";

struct named_parameter {
    std::string name;
    var param;
    std::string group;
};

// A name and a tensor handle (sharing storage with the module's buffer).
struct named_tensor {
    std::string name;
    tensor value;
};

class module {
public:
    module() = default;
    module(const module&) = delete;
    module& operator=(const module&) = delete;
    virtual ~module() = default;

    virtual var forward(const var& x) = 0;
    var operator()(const var& x) { return forward(x); }

    // Short type name for messages, e.g. "mbconv".
    virtual std::string type_name() const = 0;
    // Output shape, and multiply-accumulates of one forward pass (convolutions
    // and linear layers), for an input of shape in. Modules that can compute
    // them cheaply override both.
    virtual shape output_shape(const shape& in) const {
        throw config_error(fmt::format("{}: output_shape is not provided for this module (input {})", type_name(), in));
    }
    virtual double macs(const shape& in) const {
        throw config_error(fmt::format("{}: macs are not provided for this module (input {})", type_name(), in));
    }

    // Training or evaluation mode for this module and every descendant.
    void train(bool on = true) {
        training_ = on;
        for (auto& [name, child] : children_) child->train(on);
    }
    void eval() { train(false); }
    bool is_training() const { return training_; }

    // Every parameter of the tree with its full name and group, in registration
    // order; a var registered twice (shared weights) is listed once.
    std::vector<named_parameter> named_parameters() const {
        std::vector<named_parameter> out;
        std::unordered_set<const detail::node*> seen;
        collect_parameters("", out, seen);
        return out;
    }
    std::vector<var> parameters() const {
        std::vector<var> out;
        for (auto& p : named_parameters()) out.push_back(std::move(p.param));
        return out;
    }
    // The parameters of one group only.
    std::vector<var> parameters(std::string_view group) const {
        std::vector<var> out;
        for (auto& p : named_parameters())
            if (p.group == group) out.push_back(std::move(p.param));
        return out;
    }
    // Distinct group names, in first-seen order.
    std::vector<std::string> parameter_groups() const {
        std::vector<std::string> groups;
        for (const auto& p : named_parameters())
            if (std::find(groups.begin(), groups.end(), p.group) == groups.end()) groups.push_back(p.group);
        return groups;
    }
    // Trains (on) or freezes (off) every parameter of a group.
    void set_requires_grad(std::string_view group, bool on) {
        const auto ps = parameters(group);
        if (ps.empty())
            throw config_error(fmt::format("{}: no parameter is in group \"{}\" (groups: {})", type_name(), group,
                                           fmt::join(parameter_groups(), ", ")));
        for (auto p : ps) p.set_requires_grad(on);
    }
    // Moves the parameter with this full name to another group.
    void set_parameter_group(std::string_view name, std::string group) {
        if (!retag(name, group))
            throw config_error(fmt::format("{}: there is no parameter named \"{}\"", type_name(), name));
    }

    std::vector<named_tensor> named_buffers() const {
        std::vector<named_tensor> out;
        collect_buffers("", out);
        return out;
    }

    void zero_grad() {
        for (auto& p : parameters()) p.zero_grad();
    }
    index_t num_parameters() const { return count(parameters()); }
    index_t num_parameters(std::string_view group) const { return count(parameters(group)); }

    const std::vector<std::pair<std::string, std::shared_ptr<module>>>& children() const { return children_; }

    // Registration. Names are non-empty, contain no '.', and are unique within
    // this module. A parameter is a new leaf var with requires_grad.
    var register_parameter(std::string name, tensor value, std::string group = std::string(weights_group)) {
        check_new_name(name);
        var p(std::move(value), true);
        p.set_name(path_ + name);
        params_.push_back({std::move(name), p, std::move(group)});
        return p;
    }
    // The returned reference stays valid for the module's lifetime.
    tensor& register_buffer(std::string name, tensor value) {
        check_new_name(name);
        buffers_.push_back(std::make_unique<named_tensor>(named_tensor{std::move(name), std::move(value)}));
        return buffers_.back()->value;
    }
    template <class M>
    std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> m) {
        if (!m) throw config_error(fmt::format("{}: module \"{}\" is null", type_name(), name));
        check_new_name(name);
        m->set_path(path_ + name + ".");
        m->train(training_);
        children_.emplace_back(std::move(name), m);
        return m;
    }

private:
    static index_t count(const std::vector<var>& ps) {
        index_t n = 0;
        for (const auto& p : ps) n += p.numel();
        return n;
    }

    void check_new_name(const std::string& name) const {
        if (name.empty()) throw config_error(fmt::format("{}: a parameter, buffer or module name is empty", type_name()));
        if (name.find('.') != std::string::npos)
            throw config_error(fmt::format("{}: the name \"{}\" contains '.', which separates hierarchy levels",
                                           type_name(), name));
        bool taken = false;
        for (const auto& p : params_) taken = taken || p.name == name;
        for (const auto& b : buffers_) taken = taken || b->name == name;
        for (const auto& c : children_) taken = taken || c.first == name;
        if (taken) throw config_error(fmt::format("{}: the name \"{}\" is already registered", type_name(), name));
    }

    // Var names carry the full path, so autograd messages can name parameters.
    void set_path(const std::string& path) {
        path_ = path;
        for (auto& p : params_) p.param.set_name(path_ + p.name);
        for (auto& [name, child] : children_) child->set_path(path_ + name + ".");
    }

    void collect_parameters(const std::string& prefix, std::vector<named_parameter>& out,
                            std::unordered_set<const detail::node*>& seen) const {
        for (const auto& p : params_)
            if (seen.insert(p.param.get()).second) out.push_back({prefix + p.name, p.param, p.group});
        for (const auto& [name, child] : children_) child->collect_parameters(prefix + name + ".", out, seen);
    }
    void collect_buffers(const std::string& prefix, std::vector<named_tensor>& out) const {
        for (const auto& b : buffers_) out.push_back({prefix + b->name, b->value});
        for (const auto& [name, child] : children_) child->collect_buffers(prefix + name + ".", out);
    }

    bool retag(std::string_view name, const std::string& group) {
        for (auto& p : params_)
            if (p.name == name) {
                p.group = group;
                return true;
            }
        const auto dot = name.find('.');
        if (dot == std::string_view::npos) return false;
        for (auto& [child_name, child] : children_)
            if (child_name == name.substr(0, dot)) return child->retag(name.substr(dot + 1), group);
        return false;
    }

    std::vector<named_parameter> params_;
    std::vector<std::unique_ptr<named_tensor>> buffers_;
    std::vector<std::pair<std::string, std::shared_ptr<module>>> children_;
    std::string path_;  // "blocks.3." below the root, "" at the root
    bool training_ = true;
};

// A layer that keeps running statistics, updated in training mode as
// running = (1 - momentum) * running + momentum * batch statistic (batch
// norm). recalibrate_batch_norm (nn/batch_norm_calibration.hpp) sets the
// momentum to make that update an exact average over batches.
class running_stats_layer {
public:
    virtual ~running_stats_layer() = default;
    virtual float running_momentum() const = 0;
    virtual void set_running_momentum(float momentum) = 0;
};

}  // namespace hwnas
