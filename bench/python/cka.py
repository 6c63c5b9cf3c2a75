#!/usr/bin/env python3
"""numpy float64 reference timing of linear and debiased linear CKA (the formulas of
diversity/cka.go, from diversity_bench.py) on the benchmark case of
diversity/bench_test.go: 10 members, 10,000 inputs, 512-wide features.

    python3 bench/python/cka.py [rounds]

prints each round's seconds and the median, for comparing with
`go test ./internal/torchblas/ -run '^$' -bench 'LinearCKAs/torch' -count ROUNDS`
(divres's float32-product path, run back to back on the same machine).
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from diversity_bench import bench_inputs, linear_cka  # noqa: E402


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    _, _, feat = bench_inputs()
    times = []
    for r in range(rounds):
        t0 = time.perf_counter()
        out = linear_cka(feat)
        times.append(time.perf_counter() - t0)
        print(f"numpy linear_cka round {r + 1}: {times[-1]:.2f} s  {out}")
    print(f"numpy linear_cka median of {rounds}: {statistics.median(times):.2f} s")


if __name__ == "__main__":
    main()
