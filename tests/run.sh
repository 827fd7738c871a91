#!/usr/bin/env bash
# The tests (README command 2): the same set-up as the main job, then the whole suite via ctest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../common/setup.sh"
ctest --test-dir "$PB_BUILD" --output-on-failure -j "$(nproc)"
