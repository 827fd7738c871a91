#!/usr/bin/env bash
# The CUDA configuration: torch 2.11 (CUDA 13.0, C++17) from the Python package index in .venv/,
# configured and built in build-cuda/. Idempotent: a second run installs nothing and rebuilds only
# what changed. Source it (it defines PB_ROOT, PB_BUILD and PB_TORCH_PYTHON) or run it.
#   PB_TORCH_PYTHON=python  use this interpreter's torch instead of .venv (a GPU host's python3)
#   PB_SKIP_INSTALL=1       install nothing: Debian packages and pip are not touched. Build
#                           dependencies come from the system or from .deps/root, which
#                           common/fetch_deps.sh fills on a machine with Debian's archive
#   PB_BUILD_DIR=dir        build somewhere else than build-cuda/
#   PB_CMAKE_ARGS=...       extra configure arguments
set -euo pipefail

PB_SETUP_FUNCTIONS_ONLY=1 PB_BUILD_DIR=${PB_BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build-cuda} \
  source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

# torch 2.12+ needs C++20 and 2.14+ CUDA 13.2: 2.11 is the newest that matches this project
# (C++17) and the CUDA 13.0 toolkits of the project's machines and the GPU hosts.
PB_TORCH_PIN=2.11.0
PB_VENV=$PB_ROOT/.venv

pb_cuda_fail() {
  echo "setup-cuda: error: $*" >&2
  exit 2
}

# The CUDA toolkit: libtorch's CMake files need nvcc and the CUDA headers even to compile C++.
pb_cuda_check_toolkit() {
  if ! command -v nvcc >/dev/null 2>&1; then
    [ -x "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc" ] ||
      pb_cuda_fail "nvcc not found: install the CUDA toolkit 13.0 and put its bin/ on PATH, or set CUDA_HOME"
    export PATH="${CUDA_HOME:-/usr/local/cuda}/bin:$PATH"
  fi
}

# Prints "<version> <cuda version> <cmake prefix>" of an interpreter's torch, or fails.
pb_cuda_torch_info() {
  "$1" -c 'import torch; print(torch.__version__, torch.version.cuda, torch.utils.cmake_prefix_path)' 2>/dev/null
}

# The interpreter whose torch the build uses: $PB_TORCH_PYTHON, else .venv (installed when
# missing). Sets PB_TORCH_INFO to its "<version> <cuda version> <cmake prefix>".
pb_cuda_torch() {
  if [ -n "${PB_TORCH_PYTHON:-}" ]; then
    PB_TORCH_INFO=$(pb_cuda_torch_info "$PB_TORCH_PYTHON") || pb_cuda_fail "PB_TORCH_PYTHON=$PB_TORCH_PYTHON cannot import torch"
    echo "setup-cuda: using torch ${PB_TORCH_INFO%% *} of $PB_TORCH_PYTHON; nothing installed"
    return 0
  fi
  PB_TORCH_PYTHON=$PB_VENV/bin/python
  PB_TORCH_INFO=$(pb_cuda_torch_info "$PB_TORCH_PYTHON" || true)
  if [[ -n "$PB_TORCH_INFO" && "$PB_TORCH_INFO" == "$PB_TORCH_PIN"* ]]; then
    echo "setup-cuda: torch ${PB_TORCH_INFO%% *} already in ${PB_VENV#"$PB_ROOT/"}/; nothing installed"
    return 0
  fi
  [ "${PB_SKIP_INSTALL:-0}" = 1 ] && pb_cuda_fail "no torch $PB_TORCH_PIN in $PB_VENV and PB_SKIP_INSTALL=1 (set PB_TORCH_PYTHON to an interpreter with torch)"
  local python=${PB_PYTHON_FOR_VENV:-python3}
  if [ ! -x "$PB_VENV/bin/python" ]; then
    "$python" -m venv "$PB_VENV" 2>/dev/null || {
      # Debian's python3 makes venvs only with python3-venv.
      local packages=("${PB_PACKAGES[@]}")
      PB_PACKAGES=(python3-venv)
      pb_install_missing >/dev/null
      PB_PACKAGES=("${packages[@]}")
      rm -rf "$PB_VENV"
      "$python" -m venv "$PB_VENV"
    } || pb_cuda_fail "cannot create a venv with $python"
  fi
  # numpy only silences torch's warning at import; the peer does not need it.
  "$PB_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "torch==$PB_TORCH_PIN" numpy ||
    pb_cuda_fail "pip could not install torch==$PB_TORCH_PIN into $PB_VENV"
  PB_TORCH_INFO=$(pb_cuda_torch_info "$PB_TORCH_PYTHON") || pb_cuda_fail "torch was installed but does not import"
  echo "setup-cuda: installed torch ${PB_TORCH_INFO%% *} (CUDA $(echo "$PB_TORCH_INFO" | cut -d' ' -f2)) and numpy into ${PB_VENV#"$PB_ROOT/"}/ ($(du -sh "$PB_VENV" | cut -f1))"
}

pb_cuda_check_toolkit
# The build tools and the non-torch dependencies, as for the default build, without Debian's
# libtorch and its Python torch (the venv's torch replaces both here).
PB_PACKAGES=(libgloo-dev libbenchmark-dev libgtest-dev nlohmann-json3-dev cmake g++ make)
pb_cuda_deps="$PB_ROOT/.deps/root/usr"  # an offline host's, from common/fetch_deps.sh
[ -d "$pb_cuda_deps" ] && PB_SKIP_INSTALL=1
pb_install_missing
pb_cuda_torch

pb_cuda_args=(-DPB_PEER_PYTHON="$PB_TORCH_PYTHON")
pb_cuda_prefix=$(echo "$PB_TORCH_INFO" | cut -d' ' -f3)
if [ -d "$pb_cuda_deps" ]; then
  pb_cuda_prefix="$pb_cuda_prefix;$pb_cuda_deps"
  pb_cuda_args+=(-DPB_GLOO_INCLUDE="$pb_cuda_deps/include")
fi
pb_cuda_args+=(-DCMAKE_PREFIX_PATH="$pb_cuda_prefix")
pb_configure_and_build "${pb_cuda_args[@]}"
