#pragma once
// The one list of op cases. Each case names an op configuration, makes its
// inputs from a seeded generator, applies the op, and states its forward
// FLOPs. Tests grad-check every case; benchmarks time them.
#include "hwnas/ops/cases/basic.hpp"
#include "hwnas/ops/cases/conv.hpp"
#include "hwnas/ops/cases/misc.hpp"
#include "hwnas/ops/cases/norm_pool.hpp"

namespace hwnas {

inline std::vector<op_case> op_cases() {
    std::vector<op_case> c;
    add_basic_cases(c);
    add_conv_cases(c);
    add_norm_pool_cases(c);
    add_misc_cases(c);
    return c;
}

}  // namespace hwnas
