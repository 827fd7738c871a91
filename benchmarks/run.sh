#!/usr/bin/env bash
# The main job (README command 1): set up, build, run the default benchmark suite, write JSON
# reports to results/<machine>/, print their summary, and write a Markdown report with SVG charts
# beside each. CPU suites run everywhere; the summary says when GPU cases were skipped, and why.
#   PB_MACHINE=name        results folder name (default: <hostname>-<cores>core)
#   PB_REPETITIONS=n       repetitions per point (default 3; the summary shows medians)
#   PB_MIN_TIME=seconds    minimum time per repetition (default 0.2)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../common/setup.sh"

machine=${PB_MACHINE:-$(hostname -s)-$(nproc)core}
out_dir="$PB_ROOT/results/$machine"
mkdir -p "$out_dir"
repetitions=${PB_REPETITIONS:-3}
min_time=${PB_MIN_TIME:-0.2}

# The default suite: one line per family binary, its report name, repetitions and minimum time
# per repetition (each flag is passed once).
suites=(
  "bench_cpu_training cpu_training $repetitions $min_time"
  # Family 2: its CPU rows (the reference for the GPU rows) are kept to batches 64 and 256 by default.
  "bench_gpu_training gpu_training $repetitions $min_time"
  # A CPU step of the CNN at batch 256 takes ~0.3 s: a second per repetition, not one noisy step.
  "bench_data_parallel data_parallel $repetitions ${PB_DP_MIN_TIME:-1}"
  # Each DDP point starts its ranks as new processes, so two repetitions keep the job short.
  "bench_ddp ddp_training ${PB_DDP_REPETITIONS:-2} $min_time"
)
status=0
for entry in "${suites[@]}"; do
  read -r binary report reps seconds <<<"$entry"
  echo
  echo "######## $binary -> results/$machine/$report.json"
  if "$PB_BUILD/benchmarks/$binary" --out "$out_dir/$report.json" --benchmark_repetitions="$reps" \
    --benchmark_min_time="$seconds"; then
    # The readable report beside the JSON: environment, best settings, SVG charts.
    "$PB_BUILD/benchmarks/pb_report" "$out_dir/$report.json" || status=$?
  else
    status=$?
  fi
done
echo
echo "Reports: results/$machine/*.json, *.md and *.svg. Compare two machines or runs with"
echo "  build/benchmarks/pb_compare results/<baseline>/cpu_training.json results/$machine/cpu_training.json"
exit $status
