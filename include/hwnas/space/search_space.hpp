#pragma once
// A search space as data: a network skeleton (a DAG of nodes in topological
// order) whose edges run either a fixed op or the chosen candidate of a
// choice point, optionally switched by an edge variable. Every space hwnas
// knows (layer-wise chains, DARTS and NAS-Bench-201 cells, node-wise DAGs) is
// one of these; the supernet, the searchers, the latency tables and the
// counters read only this.
//
// - Node 0 is the network input; the last node added is the output.
// - A node's value is the sum (or channel concat) of its incoming edges; an
//   edge applies its op to its source node's value.
// - A choice point is one architecture decision: a list of candidate op_specs.
//   It may be used by several edges (its sites): DARTS shares one choice
//   between all normal (or reduction) cells; every site has its own shapes.
// - An edge variable (gate) switches one edge on or off; a sink edge is on
//   only while its source has no other active outgoing edge (a DAG stage's
//   output sums its sinks).
// Shapes and per-candidate costs are computed once when a node is added.
//
// Reading a space: walk nodes() in order; each input edge runs its fixed op,
// or (a supernet) a mix over the candidates of its choice point, with the
// op_spec, input shape, cout and stride in edge.site. Architecture
// parameters: one vector per choice point (its candidates) and one logit per
// gate. A latency table: for every choice point, site and candidate, the op
// at that site; the fixed edges are the constant part.
#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "hwnas/error.hpp"
#include "hwnas/space/op_registry.hpp"
#include "hwnas/space/op_spec.hpp"

namespace hwnas {

enum class merge_mode { sum, concat };

struct space_edge {
    // Set by the caller (see fixed_edge / choice_edge).
    int from = 0;          // source node, earlier than the destination
    int choice = -1;       // choice point whose chosen candidate runs here, or -1 to run `op`
    op_spec op;            // the fixed op when choice < 0
    index_t cout = 0;      // output channels; 0 keeps the source's channels
    index_t stride = 1;
    std::string gate;      // non-empty: an edge variable of this name switches the edge
    bool sink = false;     // on only while its source has no other active outgoing edge
    // Filled by search_space::add_node.
    int gate_index = -1;
    op_site site;                 // input shape, output channels, stride
    feature_shape out;            // output shape
    std::vector<op_cost> costs;   // per candidate of the choice point, or {cost of op}
};

// An edge running op (fixed) from node `from`.
inline space_edge fixed_edge(int from, op_spec op, index_t cout = 0, index_t stride = 1) {
    space_edge e;
    e.from = from;
    e.op = std::move(op);
    e.cout = cout;
    e.stride = stride;
    return e;
}

// An edge running the chosen candidate of choice point `choice` from node `from`.
inline space_edge choice_edge(int from, int choice, index_t cout = 0, index_t stride = 1) {
    space_edge e;
    e.from = from;
    e.choice = choice;
    e.cout = cout;
    e.stride = stride;
    return e;
}

struct space_node {
    std::string name;
    merge_mode how = merge_mode::sum;
    std::vector<space_edge> inputs;
    feature_shape shape;
};

// Input `input` of node `node`.
struct edge_ref {
    int node = 0;
    int input = 0;
    friend bool operator==(const edge_ref&, const edge_ref&) = default;
};

struct choice_point {
    std::string name;
    std::vector<op_spec> candidates;
    std::vector<bool> zero;        // per candidate: its kind outputs zeros (the edge carries nothing)
    std::vector<edge_ref> sites;   // the edges that run this choice
};

// An edge variable: a binary architecture decision switching one edge.
struct gate_info {
    std::string name;
    edge_ref where;
};

class search_space {
public:
    // ops must outlive the add_* calls (the default registry always does).
    search_space(std::string name, feature_shape input, const op_registry& ops = default_op_registry())
        : name_(std::move(name)), ops_(&ops) {
        require(!name_.empty(), "search_space: a space needs a name");
        require<shape_error>(input.h >= 1 && input.w >= 1 && input.c >= 1,
                             "search_space {}: input shape {} has an empty extent", name_, input);
        nodes_.push_back({"input", merge_mode::sum, {}, input});
    }

    // Adds a choice point; returns its index.
    int add_choice_point(std::string name, std::vector<op_spec> candidates) {
        require(!candidates.empty(), "search_space {}: choice point '{}' has no candidates", name_, name);
        require(std::none_of(points_.begin(), points_.end(), [&](const auto& p) { return p.name == name; }),
                "search_space {}: choice point '{}' already exists", name_, name);
        choice_point p{std::move(name), std::move(candidates), {}, {}};
        for (std::size_t i = 0; i < p.candidates.size(); ++i) {
            const op_spec& c = p.candidates[i];
            for (std::size_t j = 0; j < i; ++j)
                require(p.candidates[j].name != c.name, "search_space {}: choice point '{}' has two candidates named '{}'",
                        name_, p.name, c.name);
            p.zero.push_back(ops_->kind_of(c).zero);
        }
        points_.push_back(std::move(p));
        return static_cast<int>(points_.size()) - 1;
    }

    // Adds a node fed by inputs; computes every shape and cost; returns its index.
    int add_node(std::string name, merge_mode how, std::vector<space_edge> inputs) {
        require(!name.empty(), "search_space {}: a node needs a name", name_);
        require(find_node(name) < 0, "search_space {}: node '{}' already exists", name_, name);
        require(!inputs.empty(), "search_space {}: node '{}' has no inputs", name_, name);
        const int id = static_cast<int>(nodes_.size());
        std::vector<std::string> new_gates;
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            space_edge& e = inputs[i];
            wire(name, id, static_cast<int>(i), e);
            if (e.gate.empty()) continue;
            require(!has_gate(e.gate) && std::find(new_gates.begin(), new_gates.end(), e.gate) == new_gates.end(),
                    "search_space {}: node '{}' input {}: edge variable '{}' already exists", name_, name, i, e.gate);
            e.gate_index = static_cast<int>(gates_.size() + new_gates.size());
            new_gates.push_back(e.gate);
        }
        require(new_gates.size() <= 31, "search_space {}: node '{}' has {} gated inputs, at most 31 allowed", name_,
                name, new_gates.size());
        feature_shape shape = inputs[0].out;
        for (std::size_t i = 1; i < inputs.size(); ++i) {
            const feature_shape& o = inputs[i].out;
            if (how == merge_mode::sum) {
                require<shape_error>(o == shape, "search_space {}: node '{}' sums inputs of shapes {} and {}", name_,
                                     name, shape, o);
            } else {
                require<shape_error>(o.h == shape.h && o.w == shape.w,
                                     "search_space {}: node '{}' concatenates inputs of shapes {} and {}", name_,
                                     name, shape, o);
                shape.c += o.c;
            }
        }
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            const space_edge& e = inputs[i];
            const edge_ref r{id, static_cast<int>(i)};
            if (e.choice >= 0) points_[static_cast<std::size_t>(e.choice)].sites.push_back(r);
            if (e.gate_index >= 0) gates_.push_back({e.gate, r});
        }
        nodes_.push_back({std::move(name), how, std::move(inputs), shape});
        return id;
    }

    const std::string& name() const { return name_; }
    const std::vector<space_node>& nodes() const { return nodes_; }
    const space_node& node_at(int i) const { return nodes_.at(static_cast<std::size_t>(i)); }
    const space_edge& at(edge_ref r) const { return node_at(r.node).inputs.at(static_cast<std::size_t>(r.input)); }
    const std::vector<choice_point>& choice_points() const { return points_; }
    const std::vector<gate_info>& gates() const { return gates_; }
    feature_shape input_shape() const { return nodes_.front().shape; }
    feature_shape output_shape() const { return nodes_.back().shape; }
    // The op registry the space was built with (a rebuilt space must use it too).
    const op_registry& registry() const { return *ops_; }

    // Index of the node called name, or -1.
    int find_node(std::string_view name) const {
        for (std::size_t i = 0; i < nodes_.size(); ++i)
            if (nodes_[i].name == name) return static_cast<int>(i);
        return -1;
    }

private:
    bool has_gate(std::string_view g) const {
        return std::any_of(gates_.begin(), gates_.end(), [&](const gate_info& x) { return x.name == g; });
    }

    // Checks edge e (input i of the new node id) and fills its site, output shape and costs.
    void wire(const std::string& node_name, int id, int i, space_edge& e) const {
        require(e.from >= 0 && e.from < id, "search_space {}: node '{}' input {} comes from node {}, expected 0..{}",
                name_, node_name, i, e.from, id - 1);
        const feature_shape& in = nodes_[static_cast<std::size_t>(e.from)].shape;
        const std::string where = fmt::format("search_space {}: node '{}' input {} (from '{}')", name_, node_name, i,
                                              nodes_[static_cast<std::size_t>(e.from)].name);
        require(e.choice < static_cast<int>(points_.size()), "{}: choice point {} does not exist ({} defined)", where,
                e.choice, points_.size());
        require(e.choice < 0 || e.op.kind.empty(), "{}: has both choice point {} and the fixed op {}", where,
                e.choice, e.op.name);
        require(e.gate.empty() || !e.sink, "{}: a sink edge cannot also be gated", where);
        e.site = {in, e.cout == 0 ? in.c : e.cout, e.stride};
        e.gate_index = -1;
        e.costs.clear();
        const std::vector<op_spec> fixed{e.op};
        const auto& ops = e.choice >= 0 ? points_[static_cast<std::size_t>(e.choice)].candidates : fixed;
        try {
            if (e.choice < 0)
                require(!ops_->kind_of(e.op).zero, "the fixed op {} outputs only zeros", e.op.name);
            for (std::size_t c = 0; c < ops.size(); ++c) {
                const feature_shape out = ops_->out_shape(ops[c], e.site);
                if (c == 0) e.out = out;
                require<shape_error>(out == e.out, "candidates disagree on the output shape: {} gives {}, {} gives {}",
                                     ops[0].name, e.out, ops[c].name, out);
                e.costs.push_back(ops_->kind_of(ops[c]).cost(ops[c], e.site));
            }
        } catch (const shape_error& x) {
            throw shape_error(fmt::format("{}: {}", where, x.what()));
        } catch (const config_error& x) {
            throw config_error(fmt::format("{}: {}", where, x.what()));
        }
    }

    std::string name_;
    const op_registry* ops_;
    std::vector<space_node> nodes_;
    std::vector<choice_point> points_;
    std::vector<gate_info> gates_;
};

}  // namespace hwnas
