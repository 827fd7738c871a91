#!/usr/bin/env bash
# The main job (README command 1): set up, build, run the default benchmark suite, write JSON
# reports to results/<machine>/ and print their summary. CPU suites run everywhere; GPU cases
# are recorded as skipped, with the reason, on a machine without CUDA.
#   PB_MACHINE=name        results folder name (default: <hostname>-<cores>core)
#   PB_REPETITIONS=n       repetitions per point (default 3; the summary shows medians)
#   PB_MIN_TIME=seconds    minimum time per repetition (default 0.2)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../common/setup.sh"

machine=${PB_MACHINE:-$(hostname -s)-$(nproc)core}
out_dir="$PB_ROOT/results/$machine"
mkdir -p "$out_dir"
bench_flags=(--benchmark_repetitions="${PB_REPETITIONS:-3}" --benchmark_display_aggregates_only=true
             --benchmark_min_time="${PB_MIN_TIME:-0.2}")

# The default suite: one line per family binary and its report name.
suites=(
  "bench_cpu_training cpu_training"
)
status=0
for entry in "${suites[@]}"; do
  read -r binary report <<<"$entry"
  echo
  echo "######## $binary -> results/$machine/$report.json"
  "$PB_BUILD/benchmarks/$binary" --out "$out_dir/$report.json" "${bench_flags[@]}" || status=$?
done
echo
echo "Reports: results/$machine/ (compare them across machines; see results/README.md)"
exit $status
