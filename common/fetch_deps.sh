#!/usr/bin/env bash
# For an offline GPU host that has torch but not this project's other build dependencies (Google
# Benchmark, GoogleTest/GoogleMock, nlohmann/json, Gloo's headers): downloads Debian's packages on
# a machine that reaches Debian's archive and unpacks them into .deps/root, an ignored folder that
# travels with the checkout (about 10 MB). common/setup_cuda.sh then uses it and installs nothing.
# Binaries from Debian bookworm run on newer glibc systems (Ubuntu 22.04+) as well.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command -v apt-get >/dev/null 2>&1 || { echo "fetch-deps: error: needs apt-get (Debian or Ubuntu)" >&2; exit 2; }
rm -rf "$top/.deps"
mkdir -p "$top/.deps/debs"
cd "$top/.deps/debs"
apt-get download libbenchmark-dev libbenchmark1debian libgtest-dev libgmock-dev nlohmann-json3-dev \
  libgloo-dev 2>&1 | grep -v "^W: Download is performed unsandboxed" || true
for f in *.deb; do dpkg -x "$f" ../root; done
rm -rf "$top/.deps/debs"
echo "fetch-deps: unpacked $(ls ../root/usr/lib/x86_64-linux-gnu/cmake 2>/dev/null | tr '\n' ' ')into .deps/root ($(du -sh ../root | cut -f1))"
