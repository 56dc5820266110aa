#!/usr/bin/env bash
# The kernel tables of benchmarks/README.md: every conv (beside OpenBLAS sgemm
# on its GEMM shape), depthwise (beside the triad bandwidth), batch norm,
# pooling and MBConv benchmark of hwnas_bench, then kernel_table.py.
# Usage: bash benchmarks/kernel_table.sh [FILTER] (a Google Benchmark regex;
# default: everything but the training steps and the layout study).
# Output: build-bench/kernels.json and build-bench/kernels.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/setup.sh"
hwnas_install_packages
cd "$HWNAS_ROOT"
hwnas_build build-bench -DHWNAS_BUILD_BENCHMARKS=ON -DHWNAS_BUILD_TESTS=OFF -DHWNAS_BUILD_EXAMPLES=OFF
filter="${1:--train_step_|layout_}"
build-bench/benchmarks/hwnas_bench --benchmark_filter="$filter" --benchmark_min_time=0.2 \
  --benchmark_format=json --benchmark_out=build-bench/kernels.json >&2
/usr/bin/python3 benchmarks/kernel_table.py build-bench/kernels.json | tee build-bench/kernels.md
