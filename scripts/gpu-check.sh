#!/usr/bin/env bash
# Exercise divres on a GPU machine that has PyTorch (with its libtorch and headers),
# CMake and g++, but no Go.
#
#   scripts/gpu-check.sh prepare   # here, with Go: test binaries into .devcarry/
#   scripts/gpu-check.sh run       # there, from the repository root: build the shim
#                                  # against that PyTorch, run the tests on the GPU
#
# The binaries find the shim through LD_LIBRARY_PATH (their run path points at the
# machine they were built on). Each package's tests run from the package directory,
# as go test does. Output goes to stdout and, when $OUT is set, to $OUT/gpu-check.log.
set -euo pipefail
cd "$(dirname "$0")/.."
CARRY=.devcarry
PKGS="torch cuda nets ensemble"

case "${1:-}" in
prepare)
  export PATH=$PATH:/usr/local/go/bin
  mkdir -p "$CARRY"
  for p in $PKGS; do go test -c -o "$CARRY/$p.test" "./$p"; done
  go build -o "$CARRY/divres" ./cli
  echo "prepared: $(ls $CARRY)"
  ;;
run)
  PY=${PYTHON:-python3}
  prefix=$($PY -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
  torchlib=$($PY -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
  log=${OUT:-/tmp}/gpu-check.log
  {
    $PY -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda, "devices", torch.cuda.device_count())'
    cmake -S torch/shim -B build/shim -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" | grep divres
    cmake --build build/shim -j "$(nproc)" | tail -1
    export LD_LIBRARY_PATH=$PWD/build/shim:$torchlib:${LD_LIBRARY_PATH:-}
    export GOMP_SPINCOUNT=10000
    "$CARRY/divres" version
    for p in $PKGS; do
      echo "== $p"
      (cd "$p" && "../$CARRY/$p.test" -test.count=1 -test.timeout 20m ${GPU_TEST_ARGS:-}) || echo "FAIL: $p"
    done
    echo "== bench"
    "$CARRY/divres" bench train --arch resnet18 --batch 128 --steps 20 --device cuda
    "$CARRY/divres" bench train --arch resnet18 --batch 128 --steps 20 --device cuda --amp bf16
  } 2>&1 | tee "$log"
  ;;
*)
  echo "usage: $0 prepare|run" >&2
  exit 2
  ;;
esac
