#pragma once
// Reverse-mode autograd. A var is a handle to a node: a value, its gradient,
// and (for results of ops) the op's backward closure and its inputs. Each
// recorded node gets a sequence number in execution order; backward replays
// the nodes reachable from the loss in reverse sequence order (the tape), so
// a value used twice has all its gradient contributions summed before its own
// backward runs. The tape is owned by the graph itself: dropping the loss
// frees it, and backward releases it as it goes.
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "hwnas/error.hpp"
#include "hwnas/tensor/tensor.hpp"

namespace hwnas {

class var;

// What an op's backward closure receives: where to send input gradients.
class grad_sink {
public:
    // Whether input i needs a gradient at all; skip the work when it does not.
    bool needs(std::size_t i) const { return needs_[i]; }
    // Adds g to input i's gradient (moved in when it is the first contribution).
    void add(std::size_t i, tensor g);

private:
    friend struct detail_backward;
    std::vector<bool> needs_;
    std::vector<tensor*> targets_;
    std::vector<const shape*> shapes_;
    const char* op_ = "";
};

using backward_fn = std::function<void(const tensor& grad_out, grad_sink& sink)>;

namespace detail {

struct node {
    tensor value;
    tensor grad;     // accumulated gradient of a leaf (or of a retained non-leaf)
    tensor pending;  // gradient being accumulated during one backward pass
    bool requires_grad = false;
    bool retain_grad = false;
    bool released = false;  // backward already consumed this node's graph
    std::uint64_t seq = 0;  // execution order; 0 for leaves
    const char* op = "leaf";
    std::string name;
    std::vector<std::shared_ptr<node>> inputs;
    backward_fn backward;
};

inline std::uint64_t next_sequence() {
    static std::atomic<std::uint64_t> counter{0};
    return ++counter;
}

inline bool& grad_mode() {
    thread_local bool enabled = true;
    return enabled;
}

}  // namespace detail

// Whether ops currently record the graph (false inside a no_grad scope).
inline bool grad_enabled() { return detail::grad_mode(); }

// RAII scope in which ops record nothing (evaluation, latency runs, updates).
class no_grad {
public:
    no_grad() : previous_(std::exchange(detail::grad_mode(), false)) {}
    ~no_grad() { detail::grad_mode() = previous_; }
    no_grad(const no_grad&) = delete;
    no_grad& operator=(const no_grad&) = delete;

private:
    bool previous_;
};

class var {
public:
    var() = default;
    // A leaf holding value; requires_grad marks it as a trainable parameter.
    explicit var(tensor value, bool requires_grad = false) : n_(std::make_shared<detail::node>()) {
        if (!value.defined()) throw shape_error("var: the value tensor is undefined (no storage)");
        n_->value = std::move(value);
        n_->requires_grad = requires_grad;
    }

    bool defined() const { return static_cast<bool>(n_); }
    const tensor& value() const { return checked().value; }
    // Mutable value, for optimizers and in-place perturbation (e.g. DARTS' w+/w-).
    tensor& value() { return checked().value; }
    const hwnas::shape& shape() const { return value().shape(); }
    index_t numel() const { return value().numel(); }

    // The accumulated gradient; undefined until a backward pass reaches it.
    const tensor& grad() const { return checked().grad; }
    tensor& grad() { return checked().grad; }
    void zero_grad() { checked().grad = tensor(); }

    bool requires_grad() const { return checked().requires_grad; }
    bool is_leaf() const { return checked().seq == 0; }
    void set_requires_grad(bool on) {
        if (!is_leaf()) throw config_error("var::set_requires_grad: only leaves can change requires_grad; use detach()");
        checked().requires_grad = on;
    }
    // Keep this non-leaf's gradient after backward (e.g. for saliency dL/dh).
    void retain_grad() { checked().retain_grad = true; }

    const std::string& name() const { return checked().name; }
    void set_name(std::string name) { checked().name = std::move(name); }

    // A leaf sharing this value, cut from the graph.
    var detach() const { return var(value(), false); }

    // Backpropagates from this scalar into every leaf that requires grad.
    void backward() const;

    // Whether two handles refer to the same node.
    bool same(const var& o) const { return n_ == o.n_; }

    detail::node* get() const { return n_.get(); }
    const std::shared_ptr<detail::node>& node_ptr() const { return n_; }

private:
    friend var record(const char*, tensor, std::span<const var>, backward_fn);
    detail::node& checked() const {
        if (!n_) throw config_error("var: use of an empty var (default-constructed, holds no value)");
        return *n_;
    }
    std::shared_ptr<detail::node> n_;
};

// True when recording is on and any of the inputs requires grad: ops use this
// to skip saving state for backward.
inline bool any_requires_grad(std::span<const var> inputs) {
    if (!grad_enabled()) return false;
    for (const auto& v : inputs)
        if (v.requires_grad()) return true;
    return false;
}
inline bool any_requires_grad(std::initializer_list<var> inputs) {
    return any_requires_grad(std::span<const var>(inputs.begin(), inputs.size()));
}

// Wraps an op result: when recording and any input requires grad, the result
// node keeps the inputs and the backward closure; otherwise it is a plain leaf
// and the closure (with whatever it saved) is dropped at once.
inline var record(const char* op, tensor value, std::span<const var> inputs, backward_fn backward) {
    var out(std::move(value), false);
    auto& n = *out.n_;
    n.op = op;
    if (!any_requires_grad(inputs)) return out;
    n.requires_grad = true;
    n.seq = detail::next_sequence();
    n.inputs.reserve(inputs.size());
    for (const auto& v : inputs) n.inputs.push_back(v.node_ptr());
    n.backward = std::move(backward);
    return out;
}
inline var record(const char* op, tensor value, std::initializer_list<var> inputs, backward_fn backward) {
    return record(op, std::move(value), std::span<const var>(inputs.begin(), inputs.size()), std::move(backward));
}

}  // namespace hwnas

// grad_sink::add and var::backward are defined with the backward pass; pulling
// it in here means every header that records ops links on its own.
#include "hwnas/autograd/backward.hpp"
