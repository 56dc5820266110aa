#!/usr/bin/env bash
# Side-by-side training-step speed of hwnas and PyTorch (Debian's python3-torch)
# on the four workloads of shared/bench/torch_reference.py, at 2 threads.
# hwnas and both PyTorch configurations (default; best = channels-last with
# raised glibc malloc thresholds) run alternately, ROUNDS times, so machine
# drift hits all three alike. Each side reports the median of 25 steps after 5
# warm-up steps; the table shows the median over rounds of those, and ratios.
# Usage: bash benchmarks/compare_torch.sh [ROUNDS] (default 3). Output also in build-bench/compare/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/setup.sh"
HWNAS_PACKAGES+=(python3-torch)
hwnas_install_packages
cd "$HWNAS_ROOT"
rounds="${1:-3}"
hwnas_build build-bench -DHWNAS_BUILD_BENCHMARKS=ON -DHWNAS_BUILD_TESTS=OFF -DHWNAS_BUILD_EXAMPLES=OFF
ref="$HWNAS_ROOT/../shared/bench/torch_reference.py"
[ -f "$ref" ] || { echo "compare_torch: $ref not found (shared/ must sit beside the repository)" >&2; exit 2; }
out=build-bench/compare
mkdir -p "$out"
for r in $(seq 1 "$rounds"); do
  echo "compare_torch: round $r/$rounds" >&2
  build-bench/benchmarks/hwnas_bench --benchmark_filter='train_step_.*/threads:2' \
    --benchmark_format=json --benchmark_out="$out/hwnas_$r.json" >&2
  /usr/bin/python3 "$ref" --threads 2 --json "$out/torch_default_$r.json" >&2
  GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=17179869184 \
    /usr/bin/python3 "$ref" --threads 2 --channels-last --json "$out/torch_best_$r.json" >&2
done
/usr/bin/python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
keys = {"a": "(a) conv3x3 32->32", "b": "(b) MBv2 block e6", "c": "(c) DARTS mixed op", "d": "(d) FBNet supernet 9 cand"}
hw, td, tb = {k: [] for k in keys}, {k: [] for k in keys}, {k: [] for k in keys}
for r in range(1, rounds + 1):
    for b in json.load(open(f"{out}/hwnas_{r}.json"))["benchmarks"]:
        k = b["name"].split("train_step_")[1][0]
        hw[k].append(b["step_median_ms"])
    for dst, name in ((td, "torch_default"), (tb, "torch_best")):
        for res in json.load(open(f"{out}/{name}_{r}.json"))["results"]:
            k = res["name"][1]
            if k == "d" and "7 cand" in res["name"]:
                continue
            dst[k].append(res["step_median_ms"])
print(f"| workload (batch 64, 2 threads) | hwnas ms | torch default ms | torch best ms | hwnas img/s | vs default | vs best |")
print("|---|---|---|---|---|---|---|")
for k, label in keys.items():
    h, d, b = statistics.median(hw[k]), statistics.median(td[k]), statistics.median(tb[k])
    print(f"| {label} | {h:.1f} | {d:.1f} | {b:.1f} | {64 / h * 1e3:.0f} | {d / h:.2f}x | {b / h:.2f}x |")
PY
