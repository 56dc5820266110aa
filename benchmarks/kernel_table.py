#!/usr/bin/env python3
"""Markdown tables from a hwnas_bench JSON output (--benchmark_format=json).

Convolutions: GFLOP/s beside OpenBLAS sgemm on the same GEMM shape (ratio);
depthwise: GB/s beside the measured triad bandwidth at the same thread count;
the MBConv block (GFLOP/s), batch norm and pooling (GB/s): their own rates.
Usage: kernel_table.py BENCH.json > table.md
"""
import json
import sys
from collections import defaultdict

bench = json.load(open(sys.argv[1]))["benchmarks"]
by_name = {b["name"].replace("/real_time", ""): b for b in bench if b.get("run_type", "iteration") == "iteration"}

triad = {}
for name, b in by_name.items():
    if name.startswith("memory_triad/threads:"):
        triad[int(name.split(":")[1])] = b["GB/s"] / 1e9 if b["GB/s"] > 1e6 else b["GB/s"]


def rate(b, key):
    v = b.get(key, 0.0)
    return v / 1e9 if v > 1e6 else v  # counters are per second; GFLOP/s and GB/s already scaled


conv_rows = defaultdict(dict)
dw_rows = []
block_rows = []
other_rows = []
for name, b in by_name.items():
    parts = name.split("/")
    if name.startswith("sgemm."):
        continue
    if parts[0] in ("conv3x3", "pointwise_expand", "pointwise_project", "grouped_pointwise_g2"):
        ref = by_name.get("sgemm." + name)
        g, r = rate(b, "GFLOP/s"), rate(ref, "GFLOP/s") if ref else float("nan")
        conv_rows[(parts[1], parts[2], parts[3], parts[4])][parts[0]] = (g, r)
    elif parts[0].startswith("depthwise_"):
        threads = int(parts[3][1:])
        dw_rows.append((parts[0], parts[1], parts[2], parts[3], parts[4], rate(b, "GFLOP/s"), rate(b, "GB/s"),
                        triad.get(threads, float("nan"))))
    elif parts[0].startswith("mbconv"):
        block_rows.append((parts[1], parts[2], parts[3], parts[4], b["real_time"], b["time_unit"], rate(b, "GFLOP/s")))
    elif parts[0].startswith("bm_"):
        other_rows.append((name, b["real_time"], b["time_unit"], rate(b, "bytes")))

if triad:
    print("Memory bandwidth (triad a = b + s*c, 3 x 128 MiB): " +
          ", ".join(f"{t} thread{'s' if t > 1 else ''} {v:.1f} GB/s" for t, v in sorted(triad.items())) + "\n")

ops = ["conv3x3", "pointwise_expand", "pointwise_project", "grouped_pointwise_g2"]
print("GEMM-type convolutions, GFLOP/s (hwnas / OpenBLAS sgemm on the same GEMM shape = ratio):\n")
print("| shape | batch/threads | mode | " + " | ".join(ops) + " |")
print("|---|---|---|" + "---|" * len(ops))
for (shape, b, t, mode), cols in conv_rows.items():
    cells = [f"{cols[o][0]:.1f} / {cols[o][1]:.1f} = {cols[o][0] / cols[o][1]:.2f}" if o in cols else "-" for o in ops]
    print(f"| {shape} | {b}/{t} | {mode} | " + " | ".join(cells) + " |")

print("\nDepthwise convolutions (c: block channels, 6c: expanded), GB/s of compulsory traffic and share of the triad "
      "bandwidth at the same thread count:\n")
print("| op | shape | batch/threads | mode | GFLOP/s | GB/s | of triad |")
print("|---|---|---|---|---|---|---|")
for op, shape, b, t, mode, g, gb, tr in dw_rows:
    print(f"| {op} | {shape} | {b}/{t} | {mode} | {g:.1f} | {gb:.1f} | {gb / tr:.0%} |")

if block_rows:
    print("\nMobileNetV2 block (e6, k3, ReLU6, residual):\n")
    print("| shape | batch/threads | mode | time | GFLOP/s |")
    print("|---|---|---|---|---|")
    for shape, b, t, mode, tm, unit, g in block_rows:
        print(f"| {shape} | {b}/{t} | {mode} | {tm:.1f} {unit} | {g:.1f} |")

if other_rows:
    print("\nBatch norm and pooling (bytes: every tensor read or written once):\n")
    print("| benchmark | time | GB/s |")
    print("|---|---|---|")
    for name, tm, unit, gb in other_rows:
        print(f"| {name} | {tm:.1f} {unit} | {gb:.1f} |")
