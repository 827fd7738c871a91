#!/usr/bin/env bash
# The tests of the CUDA configuration: common/setup_cuda.sh (torch 2.11 with CUDA 13.0 in .venv/,
# built in build-cuda/), then the whole suite through ctest. Without a GPU every program still
# starts (none needs the driver) and the CUDA-only tests skip, saying why.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../common/setup_cuda.sh"
ctest --test-dir "$PB_BUILD" --output-on-failure -j "$(nproc)"
