#!/usr/bin/env bash
# divres set-up and entry points for a fresh Debian machine.
#
#   ./build.sh          install what is missing, find libtorch, build the shim
#   ./build.sh test     the above, then vet and run the whole test suite
#   ./build.sh run      the above, then run the main job on the embedded default data
#   ./build.sh bench    the above, then the benchmarks
#
# libtorch is looked for in this order: $LIBTORCH (an unpacked libtorch, CPU or CUDA),
# the libtorch inside an installed PyTorch Python package ($PYTHON or python3), and
# Debian's libtorch-dev (installed when nothing else is found). Idempotent: a second
# run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
BUILD=$ROOT/build/shim
export PATH=$PATH:/usr/local/go/bin

log() { printf '\033[1mbuild.sh:\033[0m %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; fi
fi

# missing_packages prints those of its arguments that are not installed.
missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

# apt_install installs what is missing of its arguments (the package lists are
# updated once per build.sh run; dpkg skips its fsyncs: a machine that dies mid-way
# gets a fresh image anyway).
APT_UPDATED=""
apt_install() {
  local missing
  missing=$(missing_packages "$@")
  [ -z "$missing" ] && return 0
  command -v apt-get >/dev/null || die "missing packages $missing and no apt-get to install them"
  log "installing" $missing
  if [ -z "$APT_UPDATED" ]; then
    $SUDO apt-get update -qq
    APT_UPDATED=1
  fi
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -o Dpkg::Options::=--force-unsafe-io $missing >/dev/null
}

# prebuild_go compiles divres's Go dependencies that need no libtorch (module
# download included) in the background, while apt installs libtorch: on a fresh
# machine the two take about as long. It needs the C compiler (cgo is part of every
# package's build configuration), so it starts after g++ is installed.
PREBUILD_PID=""
prebuild_go() {
  (
    go mod download
    pkgs=$(go list -deps -f '{{if not .Standard}}{{if not .CgoFiles}}{{.ImportPath}}{{end}}{{end}}' ./cli |
      grep -v '^github.com/divres/divres' || true)
    # shellcheck disable=SC2086
    [ -z "$pkgs" ] || go build $pkgs
  ) >"$ROOT/build/prebuild.log" 2>&1 &
  PREBUILD_PID=$!
}

find_libtorch() {
  if [ -n "${LIBTORCH:-}" ]; then
    [ -f "$LIBTORCH/share/cmake/Torch/TorchConfig.cmake" ] || die "LIBTORCH=$LIBTORCH has no share/cmake/Torch/TorchConfig.cmake"
    echo "$LIBTORCH/share/cmake|LIBTORCH"
    return
  fi
  local py
  for py in ${PYTHON:-} python3 /usr/bin/python3; do
    command -v "$py" >/dev/null 2>&1 || continue
    local p
    p=$("$py" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)' 2>/dev/null) || continue
    if [ -f "$p/Torch/TorchConfig.cmake" ]; then
      echo "$p|PyTorch package ($py)"
      return
    fi
  done
  if [ -f /usr/lib/x86_64-linux-gnu/cmake/Torch/TorchConfig.cmake ] || [ -f /usr/lib/aarch64-linux-gnu/cmake/Torch/TorchConfig.cmake ]; then
    echo "/usr|Debian libtorch-dev"
    return
  fi
  echo ""
}

# setup installs what is missing (and the extra packages given), finds libtorch and
# builds the shim.
setup() {
  command -v go >/dev/null || die "Go is not installed (need Go ≥ 1.26 on PATH or in /usr/local/go)"
  mkdir -p "$ROOT/build"
  apt_install cmake g++ make dataset-fashion-mnist
  local found late=("$@")
  found=$(find_libtorch)
  if [ -z "$found" ]; then
    # Debian's libtorch, with OpenBLAS (only "recommended" by libtorch-dev, and the
    # reference BLAS it otherwise falls back to is ~1.7x slower on small nets).
    late+=(libtorch-dev libopenblas0-pthread)
  elif [ "${found#*|}" = "Debian libtorch-dev" ]; then
    late+=(libopenblas0-pthread)
  fi
  if [ -n "$(missing_packages "${late[@]}")" ]; then
    prebuild_go
    apt_install "${late[@]}"
    [ -z "$PREBUILD_PID" ] || wait "$PREBUILD_PID" || log "Go prebuild failed (see build/prebuild.log); the build below reports the cause"
  fi
  [ -z "$found" ] && found=$(find_libtorch)
  [ -n "$found" ] || die "no libtorch found"
  local prefix=${found%%|*} source=${found#*|}

  # Rebuild from scratch when the libtorch changed.
  if [ -f "$BUILD/.libtorch" ] && [ "$(cat "$BUILD/.libtorch")" != "$prefix" ]; then
    log "libtorch changed; rebuilding the shim"
    rm -rf "$BUILD"
  fi
  mkdir -p "$BUILD"
  if [ ! -f "$BUILD/CMakeCache.txt" ] || [ ! -f "$BUILD/cmake.log" ]; then
    cmake -S torch/shim -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >"$BUILD/cmake.log" 2>&1 ||
      { cat "$BUILD/cmake.log" >&2; die "cmake failed"; }
    echo "$prefix" >"$BUILD/.libtorch"
  fi
  cmake --build "$BUILD" -j "$(nproc)" >"$BUILD/make.log" 2>&1 || { tail -50 "$BUILD/make.log" >&2; die "shim build failed"; }

  local info cuda blas
  info=$(grep -o 'divres: libtorch .*' "$BUILD/cmake.log" | tail -1 || true)
  cuda=$(echo "$info" | grep -q 'CUDA: ON' && echo "CUDA" || echo "CPU")
  blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo "bundled")
  log "libtorch: ${info#divres: libtorch } (from $source); build: $cuda; BLAS: $blas"
  go mod download
}

cmd=${1:-setup}
[ $# -gt 0 ] && shift
case "$cmd" in
  setup) setup ;;
  test)
    # Headless Chromium renders the study report (study/report_test.go); Slurm
    # and munge run the study on a real local cluster (cli/study_slurm_test.go).
    setup chromium slurm-wlm munge
    # libgomp reads its wait policy when libtorch is loaded. Test binaries run in
    # parallel, so idle OpenMP threads must sleep at once (PASSIVE), or steps become
    # erratic and several times slower on few cores. The divres binary (run) picks its
    # own short spin instead (README, Threads). Users may override either.
    export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
    log "go vet ./..."
    go vet ./...
    log "go test ./..."
    go test -count=1 -timeout 45m "$@" ./...
    ;;
  run)
    setup
    go build -o divres ./cli
    ./divres study --out "${DIVRES_RUN:-runs/default}" "$@"
    ;;
  bench)
    setup
    export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
    go test -run '^$' -bench . -benchtime "${BENCHTIME:-1x}" "$@" ./...
    ;;
  *) die "unknown command $cmd (want setup, test, run or bench)" ;;
esac
