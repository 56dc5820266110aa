// Every op case in the registry passes a finite-difference gradient check.
#include <doctest/doctest.h>

#include <hwnas/ops/registry.hpp>

namespace test_op_gradients {

TEST_CASE("every registered op case passes the gradient check") {
    for (const auto& oc : hwnas::op_cases()) {
        SUBCASE(oc.name.c_str()) {
            hwnas::rng g(42);
            auto inputs = oc.make_inputs(g);
            auto r = hwnas::grad_check(oc.apply, inputs, oc.check, oc.differentiable);
            INFO(oc.name, ": ", r.message, " (max abs error ", r.max_abs_error, ")");
            CHECK(r.ok);
            CHECK(r.checked > 0);
        }
    }
}

}  // namespace test_op_gradients
