#pragma once
// Additive (lookup-table) predictor: cost = constant + sum over positions of
// cost[position][op] — FBNet's LUT model, linear in the encoding, so on a
// soft encoding it is the expected cost sum_p sum_k w_pk * cost_pk.
// Built from a measured table, or fitted by ridge-regularized least squares
// on one-hot encodings of end-to-end measurements (Mills et al.'s block
// profiling), optionally robust and relative (additive_options::huber_delta). The one-hot columns of a position sum to one, so costs are
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
    // Penalty ridge * (sum of row weights) * |costs|^2; the constant is not penalized.
    double ridge = 1e-6;
    // 0: least squares on the cost. > 0: a robust relative fit, the Huber loss
    // with this delta on the relative error (p - y) / y, by iteratively
    // reweighted least squares: it aims at MAPE rather than squared ms, and
    // outlying measurements pull it less.
    double huber_delta = 0;
    int irls_iterations = 20;
};

class additive_predictor : public latency_predictor {
public:
    explicit additive_predictor(additive_options o = {}) : o_(o) {
        require(o.ridge > 0 && std::isfinite(o.ridge), "additive_predictor: ridge {}, expected a finite value > 0",
                o.ridge);
        require(o.huber_delta >= 0 && std::isfinite(o.huber_delta) && o.irls_iterations >= 1,
                "additive_predictor: huber delta {} with {} iterations, expected delta >= 0 and iterations >= 1",
                o.huber_delta, o.irls_iterations);
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
        if (o_.huber_delta == 0) {
            solve(x, y, Eigen::VectorXd::Ones(y.size()));
            return;
        }
        // Relative errors: row weight 1 / y^2, times the Huber weight of the last residual.
        const Eigen::VectorXd relative = y.array().square().inverse();
        Eigen::VectorXd huber = Eigen::VectorXd::Ones(y.size());
        for (int it = 0; it < o_.irls_iterations; ++it) {
            solve(x, y, relative.cwiseProduct(huber));
            const Eigen::VectorXd r = (((x * cost_vector()).array() + constant_ - y.array()) / y.array()).abs();
            huber = (r.array() <= o_.huber_delta).select(1.0, o_.huber_delta / r.array());
        }
    }

    std::vector<double> do_predict(const tensor& encodings) const override {
        const Eigen::VectorXd p = (as_matrix(encodings).cast<double>() * cost_vector()).array() + constant_;
        return {p.data(), p.data() + p.size()};
    }

    var do_predict(const var& encodings) const override { return linear(encodings, w_, b_); }

private:
    Eigen::Map<const Eigen::VectorXd> cost_vector() const {
        return {costs_.data(), static_cast<Eigen::Index>(costs_.size())};
    }
    // Weighted ridge least squares for the costs and the constant.
    void solve(const Eigen::MatrixXd& x, const Eigen::Ref<const Eigen::VectorXd>& y, const Eigen::VectorXd& w) {
        const double total = w.sum();
        const Eigen::RowVectorXd x_mean = (w.transpose() * x) / total;
        const double y_mean = w.dot(y) / total;
        const Eigen::MatrixXd xc = x.rowwise() - x_mean;  // centering leaves the constant unpenalized
        Eigen::MatrixXd gram = xc.transpose() * w.asDiagonal() * xc;
        gram.diagonal().array() += o_.ridge * total;
        const Eigen::VectorXd c = gram.ldlt().solve(xc.transpose() * (w.array() * (y.array() - y_mean)).matrix());
        costs_.assign(c.data(), c.data() + c.size());
        constant_ = y_mean - x_mean.dot(c);
        make_vars();
    }

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
