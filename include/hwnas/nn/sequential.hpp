#pragma once
// sequential: children applied in order, named by position ("0", "1", ...).
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "hwnas/nn/module.hpp"

namespace hwnas {

class sequential : public module {
public:
    sequential() = default;
    explicit sequential(std::vector<std::shared_ptr<module>> modules) {
        for (auto& m : modules) add(std::move(m));
    }

    sequential& add(std::shared_ptr<module> m) {
        register_module(std::to_string(layers_.size()), m);
        layers_.push_back(std::move(m));
        return *this;
    }

    std::size_t size() const { return layers_.size(); }
    module& operator[](std::size_t i) const {
        require(i < layers_.size(), "sequential: index {} is out of range for {} modules", i, layers_.size());
        return *layers_[i];
    }

    var forward(const var& x) override {
        var h = x;
        for (auto& m : layers_) h = m->forward(h);
        return h;
    }
    std::string type_name() const override { return "sequential"; }
    shape output_shape(const shape& in) const override {
        shape s = in;
        for (const auto& m : layers_) s = m->output_shape(s);
        return s;
    }
    double macs(const shape& in) const override {
        double total = 0;
        shape s = in;
        for (const auto& m : layers_) {
            total += m->macs(s);
            s = m->output_shape(s);
        }
        return total;
    }

private:
    std::vector<std::shared_ptr<module>> layers_;
};

}  // namespace hwnas
