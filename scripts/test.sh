#!/usr/bin/env bash
# Runs the whole test suite: optimized build, then the same suite under
# AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
hwnas_install_packages
cd "$HWNAS_ROOT"
start=$(date +%s)
hwnas_build build -DHWNAS_BUILD_TESTS=ON -DHWNAS_BUILD_EXAMPLES=ON
(cd build && ctest -j "$(nproc)" --output-on-failure)
hwnas_build build-sanitize -DHWNAS_BUILD_TESTS=ON -DHWNAS_BUILD_EXAMPLES=OFF -DHWNAS_SANITIZE=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
(cd build-sanitize && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest -j "$(nproc)" --output-on-failure -E cmake_consumer)
echo "hwnas: test suite finished in $(( $(date +%s) - start )) s" >&2
