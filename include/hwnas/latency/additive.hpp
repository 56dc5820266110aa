#pragma once
// Additive (lookup-table) predictor: cost = constant + sum over positions of
// cost[position][op] — FBNet's LUT model, linear in the encoding, so on a
// soft encoding it is the expected cost sum_p sum_k w_pk * cost_pk.
// Built from a measured table, or fitted by ridge-regularized least squares
// on one-hot encodings of end-to-end measurements (Mills et al.'s block
// profiling). The one-hot columns of a position sum to one, so costs are
// determined only up to a shift per position; the ridge term picks the
// minimum-norm split and leaves the predictions unchanged.
#include <span>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "hwnas/latency/predictor.hpp"
#include "hwnas/ops/linear.hpp"
#include "hwnas/tensor/eigen_map.hpp"

namespace hwnas {

struct additive_options {
    // Penalty ridge * N * |costs|^2 (N training rows); the constant is not penalized.
    double ridge = 1e-6;
};

class additive_predictor : public latency_predictor {
public:
    explicit additive_predictor(additive_options o = {}) : o_(o) {
        require(o.ridge > 0 && std::isfinite(o.ridge), "additive_predictor: ridge {}, expected a finite value > 0",
                o.ridge);
    }

    // From a lookup table: table[p][k] is the cost of op k at position p;
    // constant is the fixed part (stem, head). Ready to predict, no fit needed.
    additive_predictor(const std::vector<std::vector<double>>& table, double constant) : additive_predictor() {
        std::vector<int> ops;
        for (std::size_t p = 0; p < table.size(); ++p) {
            for (std::size_t k = 0; k < table[p].size(); ++k)
                require(std::isfinite(table[p][k]), "additive_predictor: table entry [{}][{}] is {}, expected finite",
                        p, k, table[p][k]);
            ops.push_back(static_cast<int>(table[p].size()));
        }
        require(std::isfinite(constant), "additive_predictor: constant {}, expected finite", constant);
        const one_hot_layout layout(std::move(ops));  // validates: no empty table or position
        costs_.resize(static_cast<std::size_t>(layout.width()));
        for (std::size_t p = 0; p < table.size(); ++p)
            std::copy(table[p].begin(), table[p].end(), costs_.begin() + layout.offset(p));
        constant_ = constant;
        set_input_width(layout.width());
        make_vars();
    }

    std::string name() const override { return "additive"; }

    // Fitted or given cost of each encoding column, and the constant.
    const std::vector<double>& costs() const { return costs_; }
    double constant() const { return constant_; }

protected:
    void do_fit(const tensor& encodings, std::span<const double> targets) override {
        const Eigen::MatrixXd x = as_matrix(encodings).cast<double>();
        const Eigen::Map<const Eigen::VectorXd> y(targets.data(), static_cast<Eigen::Index>(targets.size()));
        const Eigen::RowVectorXd x_mean = x.colwise().mean();
        const double y_mean = y.mean();
        const Eigen::MatrixXd xc = x.rowwise() - x_mean;  // centering leaves the constant unpenalized
        Eigen::MatrixXd gram = xc.transpose() * xc;
        gram.diagonal().array() += o_.ridge * static_cast<double>(x.rows());
        const Eigen::VectorXd w = gram.ldlt().solve(xc.transpose() * (y.array() - y_mean).matrix());
        costs_.assign(w.data(), w.data() + w.size());
        constant_ = y_mean - x_mean.dot(w);
        make_vars();
    }

    std::vector<double> do_predict(const tensor& encodings) const override {
        const Eigen::Map<const Eigen::VectorXd> w(costs_.data(), static_cast<Eigen::Index>(costs_.size()));
        const Eigen::VectorXd p = (as_matrix(encodings).cast<double>() * w).array() + constant_;
        return {p.data(), p.data() + p.size()};
    }

    var do_predict(const var& encodings) const override { return linear(encodings, w_, b_); }

private:
    // Constant (no-grad) copies of the table for the differentiable path.
    void make_vars() {
        tensor w = tensor::uninitialized({static_cast<index_t>(costs_.size()), 1});
        std::transform(costs_.begin(), costs_.end(), w.begin(), [](double c) { return static_cast<float>(c); });
        w_ = var(std::move(w));
        b_ = var(tensor::from({1}, {static_cast<float>(constant_)}));
    }

    additive_options o_;
    std::vector<double> costs_;
    double constant_ = 0;
    var w_, b_;
};

}  // namespace hwnas
