#pragma once
// The one header users include: tensors, autograd and ops (more modules are
// added here as they land).
#include "hwnas/autograd/backward.hpp"
#include "hwnas/autograd/grad_check.hpp"
#include "hwnas/autograd/var.hpp"
#include "hwnas/core/parallel.hpp"
#include "hwnas/core/rng.hpp"
#include "hwnas/error.hpp"
#include "hwnas/ops/activation.hpp"
#include "hwnas/ops/batch_norm.hpp"
#include "hwnas/ops/elementwise.hpp"
#include "hwnas/ops/linear.hpp"
#include "hwnas/ops/pool.hpp"
#include "hwnas/ops/reduce.hpp"
#include "hwnas/tensor/shape.hpp"
#include "hwnas/tensor/tensor.hpp"
