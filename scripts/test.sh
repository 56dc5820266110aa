#!/usr/bin/env bash
# Runs the whole test suite: optimized build, then the same suite under
# AddressSanitizer + UndefinedBehaviorSanitizer; the examples are compiled
# (not run) so that they cannot rot.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
hwnas_install_packages
cd "$HWNAS_ROOT"
start=$(date +%s)
phase_done() { echo "hwnas: $1 done at $(( $(date +%s) - start )) s" >&2; }
hwnas_build build -DHWNAS_BUILD_TESTS=ON -DHWNAS_BUILD_EXAMPLES=OFF
phase_done "optimized build"
(cd build && ctest -j "$(nproc)" --output-on-failure)
phase_done "optimized tests"
# -O1 -g1: the level ASan recommends, and line tables are all its stack traces
# need (RelWithDebInfo's default is -O2 -g).
hwnas_build build-sanitize -DHWNAS_BUILD_TESTS=ON -DHWNAS_BUILD_EXAMPLES=OFF -DHWNAS_SANITIZE=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG"
phase_done "sanitizer build"
(cd build-sanitize && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest -j "$(nproc)" --output-on-failure -E cmake_consumer)
phase_done "sanitizer tests"
# The examples only need to compile and link here: at -O0 they cost about a third
# of the CPU time of -O3.
hwnas_build build-examples -DHWNAS_BUILD_TESTS=OFF -DHWNAS_BUILD_EXAMPLES=ON -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG=-O0
phase_done "examples build"
echo "hwnas: test suite finished in $(( $(date +%s) - start )) s" >&2
