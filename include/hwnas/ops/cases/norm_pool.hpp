#pragma once
#include "hwnas/ops/cases/common.hpp"

namespace hwnas {

inline void add_norm_pool_cases(std::vector<op_case>&) {}

}  // namespace hwnas
