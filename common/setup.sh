#!/usr/bin/env bash
# Shared set-up for the two README commands: installs the missing Debian/Ubuntu packages,
# configures (once) and builds parallel-bench in build/. Idempotent: a second run installs
# nothing and rebuilds only what changed. Source it; it defines PB_ROOT and PB_BUILD.
# common/setup_cuda.sh sources it with PB_SETUP_FUNCTIONS_ONLY=1 to reuse its functions.
#   PB_SKIP_INSTALL=1   do not touch packages (offline GPU hosts: see README, "GPU machines")
#   PB_BUILD_DIR=dir    build somewhere else than build/
#   PB_CMAKE_ARGS=...   extra configure arguments, e.g. -DCMAKE_PREFIX_PATH=/opt/libtorch
set -euo pipefail

PB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PB_BUILD=${PB_BUILD_DIR:-$PB_ROOT/build}
# The packages the README's "Two commands" section lists. make is among them because installs skip
# recommended packages (python3-torch's pull in a desktop stack), and build-essential, which brings
# make, is only recommended by libtorch-dev.
PB_PACKAGES=(libtorch-dev libgloo-dev libopenblas0-openmp libbenchmark-dev libgtest-dev nlohmann-json3-dev
             python3-torch cmake g++ make)

pb_install_missing() {
  [ "${PB_SKIP_INSTALL:-0}" = 1 ] && return 0
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "setup: error: not a Debian/Ubuntu system; install ${PB_PACKAGES[*]} by hand and set PB_SKIP_INSTALL=1" >&2
    return 2
  fi
  local missing=() p
  for p in "${PB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && { echo "setup: all packages present"; return 0; }
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "setup: error: need root or sudo to install: ${missing[*]}" >&2; return 2; }
    sudo="sudo"
  fi
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# pb_configure_and_build [cmake arguments...]: configures once (with these arguments), then builds.
pb_configure_and_build() {
  if [ ! -f "$PB_BUILD/CMakeCache.txt" ]; then
    local args=(-S "$PB_ROOT" -B "$PB_BUILD" -DCMAKE_BUILD_TYPE=Release "$@")
    command -v ninja >/dev/null 2>&1 && args+=(-G Ninja)
    command -v ccache >/dev/null 2>&1 && args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    # shellcheck disable=SC2086 # PB_CMAKE_ARGS is a list of arguments on purpose
    cmake "${args[@]}" ${PB_CMAKE_ARGS:-}
  fi
  cmake --build "$PB_BUILD" -j "$(nproc)"
}

if [ "${PB_SETUP_FUNCTIONS_ONLY:-0}" != 1 ]; then
  pb_install_missing
  pb_configure_and_build
fi
