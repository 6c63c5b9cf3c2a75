#!/usr/bin/env bash
# Exercise divres on a GPU machine that has PyTorch (with its libtorch and headers),
# CMake and g++, but no Go: one prepared run.
#
#   scripts/gpu-check.sh prepare   # here, with Go: test binaries, the divres binary
#                                  # and a small Fashion-MNIST subset, packed into
#                                  # .devcarry/bundle.tgz (about 25 MB: what travels
#                                  # must stay under 64 MiB with the working tree)
#   scripts/gpu-check.sh run       # there, from the repository root (carry .devcarry):
#                                  # build the shim against that PyTorch, run the
#                                  # CUDA tests and a training benchmark on the GPU
#
# The CUDA tests skip on a machine without a GPU; on one they cover tensors and
# autocast (torch, cuda), attributions (attrib: saliency, integrated gradients,
# SmoothGrad, Grad-CAM against the CPU's maps), member outputs, layer outputs and
# diversity (ensemble), an NCL joint training epoch (ensemble) and the NAS pipeline
# (nas: base run, progressive shrinking, search). nets runs its whole suite.
# GPU_TEST_ARGS replaces every package's -test.run selection (for example
# GPU_TEST_ARGS='-test.run . -test.v').
#
# The binaries find the shim through LD_LIBRARY_PATH (their run path points at the
# machine they were built on). Each package's tests run from the package directory,
# as go test does. Output goes to stdout and, when $OUT is set, to $OUT/gpu-check.log.
# The exit status is non-zero when a package failed.
set -euo pipefail
cd "$(dirname "$0")/.."
CARRY=.devcarry
BIN=$CARRY/work
# package:-test.run pattern
TESTS="torch:CUDA cuda:. nets:. attrib:CUDA ensemble:CUDA nas:CUDA"
FMNIST=${FMNIST:-/usr/share/datasets/fashion-mnist}

case "${1:-}" in
prepare)
  export PATH=$PATH:/usr/local/go/bin
  rm -rf "$CARRY"
  mkdir -p "$BIN"
  for e in $TESTS; do
    p=${e%%:*}
    go test -c -ldflags='-s -w' -o "$BIN/$p.test" "./$p"
  done
  go build -ldflags='-s -w' -o "$BIN/divres" ./cli
  # 512 training and 256 test images of Fashion-MNIST, uncompressed IDX files.
  python3 - "$FMNIST" "$BIN/fmnist" <<'EOF'
import gzip, os, struct, sys
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
for split, n in (("train", 512), ("t10k", 256)):
    for kind, size in (("images-idx3", 28 * 28), ("labels-idx1", 1)):
        with gzip.open(os.path.join(src, f"{split}-{kind}-ubyte.gz")) as f:
            magic, = struct.unpack(">I", f.read(4))
            nd = magic & 0xFF
            dims = list(struct.unpack(">" + "I" * nd, f.read(4 * nd)))
            body = f.read(n * size)
        dims[0] = n
        with open(os.path.join(dst, f"{split}-{kind}-ubyte"), "wb") as o:
            o.write(struct.pack(">I", magic) + struct.pack(">" + "I" * nd, *dims) + body)
EOF
  tar -C "$BIN" -czf "$CARRY/bundle.tgz" .
  rm -rf "$BIN"
  echo "prepared $CARRY/bundle.tgz ($(du -h "$CARRY/bundle.tgz" | cut -f1))"
  ;;
run)
  [ -f "$CARRY/bundle.tgz" ] || { echo "gpu-check: no $CARRY/bundle.tgz: run '$0 prepare' first and carry $CARRY" >&2; exit 2; }
  rm -rf "$BIN"
  mkdir -p "$BIN"
  tar -C "$BIN" -xzf "$CARRY/bundle.tgz"
  PY=${PYTHON:-python3}
  prefix=$($PY -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
  torchlib=$($PY -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
  log=${OUT:-/tmp}/gpu-check.log
  failed=$(mktemp)
  {
    $PY -c 'import torch; print("PyTorch", torch.__version__, "CUDA", torch.version.cuda, "devices", torch.cuda.device_count())'
    cmake -S torch/shim -B build/shim -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" | grep divres
    cmake --build build/shim -j "$(nproc)" | tail -1
    export LD_LIBRARY_PATH=$PWD/build/shim:$torchlib:${LD_LIBRARY_PATH:-}
    export GOMP_SPINCOUNT=10000
    export DIVRES_TEST_DATA=$PWD/$BIN/fmnist
    "$BIN/divres" version
    for e in $TESTS; do
      p=${e%%:*}
      echo "== $p"
      # shellcheck disable=SC2086 # GPU_TEST_ARGS is a list of flags
      (cd "$p" && "../$BIN/$p.test" -test.count=1 -test.timeout 20m ${GPU_TEST_ARGS:--test.run "${e#*:}" -test.v}) ||
        { echo "FAIL: $p"; echo "$p" >>"$failed"; }
    done
    echo "== bench"
    "$BIN/divres" bench train --arch resnet18 --batch 128 --steps 20 --device cuda
    "$BIN/divres" bench train --arch resnet18 --batch 128 --steps 20 --device cuda --amp bf16
  } 2>&1 | tee "$log"
  if [ -s "$failed" ]; then
    echo "gpu-check: failed: $(tr '\n' ' ' <"$failed")" | tee -a "$log"
    exit 1
  fi
  ;;
*)
  echo "usage: $0 prepare|run" >&2
  exit 2
  ;;
esac
