#!/usr/bin/env bash
# Shared set-up for the README commands: installs the Debian packages hwnas
# needs (only those missing), then configures and builds into build/ (or
# $HWNAS_BUILD_DIR) with the given extra CMake arguments.
set -euo pipefail
HWNAS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HWNAS_PACKAGES=(g++ cmake ccache libeigen3-dev xtensor-dev xtl-dev libxsimd-dev libopenblas-dev libfmt-dev
  doctest-dev libbenchmark-dev zlib1g-dev nlohmann-json3-dev dataset-fashion-mnist)

hwnas_install_packages() {
  local missing=()
  for p in "${HWNAS_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "hwnas: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
}

# hwnas_build DIR [cmake args...]: configure (once) and build DIR.
hwnas_build() {
  local dir="$1"; shift
  cmake -S "$HWNAS_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >&2
  cmake --build "$dir" -j "$(nproc)" >&2
}
