#pragma once
#include "hwnas/ops/cases/common.hpp"

namespace hwnas {

inline void add_conv_cases(std::vector<op_case>&) {}

}  // namespace hwnas
