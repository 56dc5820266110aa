#!/usr/bin/env bash
# The main job: examples/swiftnet_search with its defaults. Profiles this CPU,
# trains the fixed MobileNetV2-style baseline, runs GRAM search on
# Fashion-MNIST under a latency budget (0.6x the baseline's measured latency),
# prunes to the budget, fine-tunes and evaluates; about 15 minutes on 2 cores.
# Results in out/main/ (summary.md first); a killed run resumes when started
# again. Extra arguments go to the example (e.g. --compare, --full, --help).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
hwnas_install_packages
cd "$HWNAS_ROOT"
hwnas_build build -DHWNAS_BUILD_TESTS=OFF -DHWNAS_BUILD_EXAMPLES=ON
exec build/examples/swiftnet_search --out out/main "$@"
