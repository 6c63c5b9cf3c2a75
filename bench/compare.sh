#!/usr/bin/env bash
# Back-to-back comparison of the binding's small-net benchmark with the same model in
# Debian's python3-torch and in C++ calling libtorch directly, several rounds, same
# thread count and OpenMP settings on every side.
#
#   bench/compare.sh [rounds] [threads...]      (after ./build.sh; default 5 rounds, 1 and 2 threads)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
shift || true
threads=${*:-1 2}
export PATH=$PATH:/usr/local/go/bin
export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-10000}
mkdir -p build/bench
cmake -S bench/cpp -B build/bench -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$(cat build/shim/.libtorch)" >/dev/null
cmake --build build/bench -j "$(nproc)" >/dev/null
go test -c -o build/bench/torch.test ./torch
for t in $threads; do
  for r in $(seq "$rounds"); do
    gotrain=$(BENCH_THREADS=$t build/bench/torch.test -test.run '^$' -test.bench 'SmallNetTrainStep' -test.benchtime 40x 2>&1 |
      awk '{for(i=1;i<NF;i++) if($(i+1)=="median-ms/step") print $i}')
    goinfer=$(BENCH_THREADS=$t build/bench/torch.test -test.run '^$' -test.bench 'SmallNetInfer1' -test.benchtime 2000x 2>&1 |
      awk '{for(i=1;i<NF;i++) if($(i+1)=="median-µs/forward") print $i}')
    go="$gotrain $goinfer"
    py=$(/usr/bin/python3 bench/python/smallnet.py "$t" | awk '/train/{s=$6} /inference/{f=$5} END{print s, f}')
    cpp=$(build/bench/smallnet "$t" | awk '/train/{s=$6} /inference/{f=$5} END{print s, f}')
    echo "threads=$t round=$r  go: $go  python: $py  c++: $cpp   (train ms/step b256, infer µs b1)"
  done
done
