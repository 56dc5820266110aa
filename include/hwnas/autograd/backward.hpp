#pragma once
// The backward pass: backward(loss) fills .grad of every leaf that requires
// grad; grad(loss, wrt) returns the gradients of chosen vars only, touching
// no .grad (DARTS' hypergradient at perturbed weights, one parameter group).
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "hwnas/autograd/var.hpp"
#include "hwnas/ops/kernels/elementwise.hpp"

namespace hwnas {

struct detail_backward {
    // Runs the reverse pass from root with output gradient seed. When wrt is
    // non-empty only paths that reach wrt are walked and their gradients are
    // returned; otherwise leaf gradients accumulate into .grad.
    static std::vector<tensor> run(const var& root, tensor seed, std::span<const var> wrt) {
        detail::node* r = root.get();
        if (!r->requires_grad)
            throw config_error(fmt::format(
                "backward: the {} result does not require grad (no input requires grad, or it was computed under "
                "no_grad)",
                r->op));

        // Collect the recorded graph reachable from root. The pass owns the
        // nodes: releasing the tape below would otherwise free them mid-pass.
        std::vector<std::shared_ptr<detail::node>> keep;
        std::vector<detail::node*> order;
        std::unordered_set<detail::node*> seen{r};
        std::vector<std::shared_ptr<detail::node>> stack{root.node_ptr()};
        while (!stack.empty()) {
            auto np = std::move(stack.back());
            stack.pop_back();
            detail::node* n = np.get();
            order.push_back(n);
            keep.push_back(std::move(np));
            if (n->seq != 0 && n->released)
                throw config_error(fmt::format(
                    "backward: the graph through a {} node was already released by an earlier backward; "
                    "run the forward pass again",
                    n->op));
            for (auto& in : n->inputs)
                if (in->requires_grad && seen.insert(in.get()).second) stack.push_back(in);
        }
        // Reverse execution order (leaves, seq 0, come last).
        std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->seq > b->seq; });

        // Which nodes lead to a wrt var (all of them when wrt is empty).
        std::unordered_set<const detail::node*> targets;
        for (const auto& w : wrt) targets.insert(w.get());
        std::unordered_map<const detail::node*, bool> needed;
        for (auto it = order.rbegin(); it != order.rend(); ++it) {
            detail::node* n = *it;
            bool need = wrt.empty() ? n->requires_grad : targets.count(n) > 0;
            if (!need)
                for (auto& in : n->inputs) need = need || (needed.count(in.get()) && needed[in.get()]);
            needed[n] = need;
        }
        for (const auto& w : wrt)
            if (!seen.count(w.get()))
                throw config_error(fmt::format(
                    "grad: a requested var ({}) is not part of the graph of this loss, or does not require grad",
                    w.get()->name.empty() ? w.get()->op : w.get()->name));

        r->pending = std::move(seed);
        std::unordered_map<const detail::node*, tensor> found;  // gradients of wrt vars
        grad_sink sink;
        for (detail::node* n : order) {
            if (n->seq == 0) continue;  // leaves are handled below
            if (n->pending.defined() && needed[n]) {
                const std::size_t k = n->inputs.size();
                sink.needs_.assign(k, false);
                sink.targets_.assign(k, nullptr);
                sink.shapes_.assign(k, nullptr);
                sink.op_ = n->op;
                for (std::size_t i = 0; i < k; ++i) {
                    auto* in = n->inputs[i].get();
                    sink.needs_[i] = in->requires_grad && needed[in];
                    sink.targets_[i] = &in->pending;
                    sink.shapes_[i] = &in->value.shape();
                }
                n->backward(n->pending, sink);
            }
            if (n->retain_grad && wrt.empty() && n->pending.defined()) accumulate(n->grad, n->pending, true);
            if (targets.count(n)) found[n] = n->pending;
            n->pending = tensor();
            // Release the tape as we go: the closure holds saved activations.
            n->backward = nullptr;
            n->inputs.clear();
            n->released = true;
        }

        std::vector<tensor> result;
        if (wrt.empty()) {
            for (detail::node* n : order)
                if (n->seq == 0 && n->pending.defined()) accumulate(n->grad, std::exchange(n->pending, tensor()), true);
        } else {
            for (detail::node* n : order)
                if (n->seq == 0 && targets.count(n)) found[n] = std::exchange(n->pending, tensor());
            for (const auto& w : wrt) {
                auto it = found.find(w.get());
                result.push_back(it != found.end() && it->second.defined() ? it->second : tensor::zeros(w.shape()));
            }
        }
        return result;
    }

    // Adds g into `into`. A first contribution is taken as a handle (no copy),
    // unless `own` asks for a buffer no other gradient shares (a leaf's .grad,
    // which optimizers and clipping modify in place); a later one is added in
    // place, after a private copy when the buffer is shared (add hands the same
    // gy to both of its inputs).
    static void accumulate(tensor& into, tensor g, bool own) {
        if (!into.defined()) {
            into = own && !g.unique() ? g.clone() : std::move(g);
            return;
        }
        if (!into.unique()) into = into.clone();
        kernels::add_inplace(into.data(), g.data(), into.numel());
    }
};

inline void grad_sink::add(std::size_t i, tensor g) {
    if (!needs_[i]) return;
    if (!(g.shape() == *shapes_[i]))
        throw shape_error(fmt::format("{} backward: gradient for input {} has shape {}, the input has shape {}", op_, i,
                                      g.shape(), *shapes_[i]));
    detail_backward::accumulate(*targets_[i], std::move(g), false);
}

inline void check_scalar_loss(const var& loss, const char* where) {
    if (loss.numel() != 1)
        throw shape_error(fmt::format("{}: the loss must be a scalar (one element), got shape {}", where,
                                      loss.shape()));
    if (!loss.value().all_finite())
        throw numeric_error(fmt::format("{}: the loss is {} (not finite)", where, loss.value()[0]));
}

inline void var::backward() const {
    check_scalar_loss(*this, "backward");
    detail_backward::run(*this, tensor::ones(shape()), {});
}

// Backpropagates with an explicit output gradient (for non-scalar outputs).
inline void backward(const var& out, const tensor& grad_out) {
    if (!(grad_out.shape() == out.shape()))
        throw shape_error(fmt::format("backward: output gradient has shape {}, the output has shape {}",
                                      grad_out.shape(), out.shape()));
    detail_backward::run(out, grad_out.clone(), {});
}

// Gradients of a scalar loss with respect to wrt, in order; no .grad changes.
inline std::vector<tensor> grad(const var& loss, std::span<const var> wrt) {
    check_scalar_loss(loss, "grad");
    if (wrt.empty()) throw config_error("grad: the list of vars to differentiate with respect to is empty");
    return detail_backward::run(loss, tensor::ones(loss.shape()), wrt);
}
inline std::vector<tensor> grad(const var& loss, std::initializer_list<var> wrt) {
    return grad(loss, std::span<const var>(wrt.begin(), wrt.end()));
}

}  // namespace hwnas
