#!/usr/bin/env bash
# The main job. Until examples/swiftnet_search lands this runs the best example
# there is: train_fixed, a MobileNetV2-style network trained on Fashion-MNIST.
# Extra arguments go to the example; results land in out/main/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
hwnas_install_packages
cd "$HWNAS_ROOT"
hwnas_build build -DHWNAS_BUILD_TESTS=OFF -DHWNAS_BUILD_EXAMPLES=ON
exec build/examples/train_fixed --out out/main "$@"
