#pragma once
// Where a search's hardware cost comes from (algorithms.md 2.2-2.4): the
// expected cost of the architecture distribution, differentiable in the
// per-choice-point probabilities, and the cost of one architecture.
// - cost_table: a per-(choice point, candidate) table plus a fixed part, the
//   FBNet lookup table (LAT = fixed + sum_l sum_i m_li LUT[l][i]).
// - macs_cost_table: the table of MACs (millions) from the space's exact
//   costs, standing in until a measured latency table exists for a space.
// - predictor_cost: a fitted latency predictor (latency/predictor.hpp) on the
//   one-hot choice encoding; soft encodings give the differentiable term.
#include <algorithm>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "hwnas/latency/predictor.hpp"
#include "hwnas/ops/channels.hpp"
#include "hwnas/ops/elementwise.hpp"
#include "hwnas/ops/math.hpp"
#include "hwnas/ops/reduce.hpp"
#include "hwnas/space/architecture.hpp"

namespace hwnas {

class cost_model {
public:
    virtual ~cost_model() = default;
    virtual std::string unit() const = 0;
    // E[cost] for probs[p] = the weights over choice point p's candidates; a scalar var.
    virtual var expected(std::span<const var> probs) const = 0;
    virtual double of(const architecture& a) const = 0;
};

// With a space that has edge variables (node-wise DAGs), of(a) counts only the
// choice points a's derived network runs: dead nodes cost nothing.
class cost_table : public cost_model {
public:
    cost_table(std::vector<std::vector<double>> per_candidate, double fixed, std::string unit,
               std::shared_ptr<const search_space> live = nullptr)
        : table_(std::move(per_candidate)), fixed_(fixed), unit_(std::move(unit)), space_(std::move(live)) {
        require(!space_ || space_->choice_points().size() == table_.size(),
                "cost_table: {} table rows for the {} choice points of the space {}", table_.size(),
                space_ ? space_->choice_points().size() : 0, space_ ? space_->name() : "");
        for (const auto& row : table_) {
            tensor t = tensor::uninitialized({static_cast<index_t>(row.size())});
            std::copy(row.begin(), row.end(), t.begin());
            rows_.push_back(var(std::move(t)));
        }
    }
    std::string unit() const override { return unit_; }
    var expected(std::span<const var> probs) const override {
        require(probs.size() == rows_.size(), "cost_table: {} probability vectors for {} choice points", probs.size(),
                rows_.size());
        var total(tensor::scalar(static_cast<float>(fixed_)));
        for (std::size_t p = 0; p < rows_.size(); ++p) total = add(total, sum(mul(probs[p], rows_[p])));
        return total;
    }
    double of(const architecture& a) const override {
        require(a.choices.size() == table_.size(), "cost_table: architecture has {} choices for {} choice points",
                a.choices.size(), table_.size());
        const std::vector<bool> live =
            space_ && !space_->gates().empty() ? live_choice_points(*space_, a) : std::vector<bool>(table_.size(), true);
        double c = fixed_;
        for (std::size_t p = 0; p < table_.size(); ++p)
            if (live[p]) c += table_[p].at(static_cast<std::size_t>(a.choices[p]));
        return c;
    }
    const std::vector<std::vector<double>>& table() const { return table_; }
    double fixed() const { return fixed_; }
    // The additive cost of the cheapest candidate at every choice point: no architecture costs less.
    double cheapest() const {
        double c = fixed_;
        for (const auto& row : table_)
            if (!row.empty()) c += *std::min_element(row.begin(), row.end());
        return c;
    }

private:
    std::vector<std::vector<double>> table_;
    double fixed_;
    std::string unit_;
    std::shared_ptr<const search_space> space_;
    std::vector<var> rows_;
};

// Millions of MACs per candidate, summed over the choice point's sites; the
// fixed edges make the fixed part. Additive: ignores that a `none` edge can
// make other edges dead.
inline cost_table macs_cost_table(const search_space& s) {
    std::vector<std::vector<double>> t;
    for (const auto& p : s.choice_points()) t.emplace_back(p.candidates.size(), 0.0);
    double fixed = 0;
    for (const auto& n : s.nodes())
        for (const auto& e : n.inputs) {
            if (e.choice < 0) {
                fixed += static_cast<double>(e.costs[0].macs) * 1e-6;
                continue;
            }
            for (std::size_t c = 0; c < e.costs.size(); ++c)
                t[static_cast<std::size_t>(e.choice)][c] += static_cast<double>(e.costs[c].macs) * 1e-6;
        }
    return cost_table(std::move(t), fixed, "MMACs", std::make_shared<const search_space>(s));
}

// A fitted predictor over the concatenated per-choice-point op weights of s.
class predictor_cost : public cost_model {
public:
    predictor_cost(const search_space& s, const latency_predictor& p, std::string unit = "ms")
        : p_(&p), unit_(std::move(unit)) {
        std::vector<int> ops;
        for (const auto& c : s.choice_points()) ops.push_back(static_cast<int>(c.candidates.size()));
        layout_ = one_hot_layout(std::move(ops));
    }
    std::string unit() const override { return unit_; }
    var expected(std::span<const var> probs) const override {
        const var row = concat_channels(probs);
        return reshape(p_->predict(reshape(row, {1, row.numel()})), shape{});
    }
    double of(const architecture& a) const override {
        return p_->predict(layout_.encode(std::vector<std::vector<int>>{a.choices}))[0];
    }

private:
    const latency_predictor* p_;
    std::string unit_;
    one_hot_layout layout_;
};

}  // namespace hwnas
