#!/usr/bin/env bash
# The main job (README command 1): set up, build, run the benchmark suite, write JSON reports to
# results/<machine>/, print their summary, and write a Markdown report with SVG charts beside each.
# CPU suites run everywhere; the summary says when GPU cases were skipped, and why.
#   bash benchmarks/run.sh [--full] [--dry-run] [--help]
#   --full                 today's whole sweep of every family, instead of the default sweep
#   --dry-run              print the sweep and the commands it would run; set up, build, run nothing
#   PB_MACHINE=name        results folder name (default: <hostname>-<cores>core)
#   PB_REPETITIONS=n       repetitions per point (default 3; the summary shows medians)
#   PB_MIN_TIME=seconds    minimum time per repetition (default 0.2)
#   PB_DP_MIN_TIME=seconds minimum time per repetition of family 3 (default 1: a CNN step is ~0.3 s)
#   PB_DDP_REPETITIONS=n   repetitions of family 4 (default 2)
set -euo pipefail

# --help prints the comment above, this script's own documentation.
usage() {
  sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}"
}
full=0
dry_run=0
for arg in "$@"; do
  case "$arg" in
    --full) full=1 ;;
    --dry-run) dry_run=1 ;;
    --help | -h) usage; exit 0 ;;
    *) echo "run.sh: error: unknown option '$arg' (expected --full, --dry-run or --help)" >&2; exit 2 ;;
  esac
done

repetitions=${PB_REPETITIONS:-3}
min_time=${PB_MIN_TIME:-0.2}
# Family 4 on a machine with 4 cores or more keeps its 4-rank points; on fewer, 4 ranks oversubscribe
# the cores and take as long as the 1- and 2-rank points together, a contrast left to --full.
ddp_flags="--ranks 1,2"
[ "$(nproc)" -ge 4 ] && ddp_flags=""

# One line per family: binary, report name, repetitions, minimum time per repetition (each flag is
# passed once), the minutes it measures on the 2-core reference machine with its Python peer, and
# the flags that narrow today's whole sweep to the default one. Every default point is also a
# --full point, under the same name, so pb_compare matches a default run against a --full report.
# Minutes: measured for family 1's --full, family 2 and family 4's default, the rest estimated
# from those runs and the reference reports (docs/benchmarks.md, "The main job").
default_suites=(
  # Family 1: workers 0 (the baseline), 2 (one per core: the winner with a loading cost) and 4
  # (oversubscribed); libtorch's default loader against deep-nice, the preset that wins.
  "bench_cpu_training cpu_training $repetitions $min_time 3 --workers 0,2,4 --loaders default,deep-nice"
  # Family 2: its CPU rows (the reference for the GPU rows) are kept to batches 64 and 256 already.
  "bench_gpu_training gpu_training $repetitions $min_time 1"
  # Family 3: a CPU step of the CNN at batch 256 takes ~0.3 s: a second per repetition, not one
  # noisy step. Replicas 1, 2, 4: the single device, and the winner (4 replicas) against 2 threads.
  "bench_data_parallel data_parallel $repetitions ${PB_DP_MIN_TIME:-1} 3 --replicas 1,2,4"
  # Family 4: every sync mode and bucket size, and every all-reduce size, on 1 and 2 ranks. Two
  # repetitions: the Python peer starts its ranks as new processes for each.
  "bench_ddp ddp_training ${PB_DDP_REPETITIONS:-2} $min_time 2 $ddp_flags"
)
full_suites=(
  "bench_cpu_training cpu_training $repetitions $min_time 7"
  "bench_gpu_training gpu_training $repetitions $min_time 1"
  "bench_data_parallel data_parallel $repetitions ${PB_DP_MIN_TIME:-1} 3"
  "bench_ddp ddp_training ${PB_DDP_REPETITIONS:-2} $min_time 8"
)
# total_minutes <suite lines...>: the sum of their minutes (the fifth word of each).
total_minutes() {
  local entry words total=0
  for entry in "$@"; do
    read -ra words <<<"$entry"
    total=$((total + words[4]))
  done
  echo $total
}
default_minutes=$(total_minutes "${default_suites[@]}")
full_minutes=$(total_minutes "${full_suites[@]}")
if [ $full = 1 ]; then
  suites=("${full_suites[@]}")
  echo "The whole sweep (--full): about $full_minutes minutes of measuring on a 2-core machine; the default: about $default_minutes."
else
  suites=("${default_suites[@]}")
  echo "The default sweep: about $default_minutes minutes of measuring on a 2-core machine; --full (the whole sweep): about $full_minutes."
fi

machine=${PB_MACHINE:-$(hostname -s)-$(nproc)core}
# A dry run stops here, before common/setup.sh installs and builds: the paths it prints are the
# ones setup.sh defines (relative to the checkout when inside it), the commands the ones run below.
if [ $dry_run = 1 ]; then
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  build=${PB_BUILD_DIR:-$root/build}
  build=${build#"$root"/}
  for entry in "${suites[@]}"; do
    read -r binary report reps seconds minutes flags <<<"$entry"
    echo "$binary (about $minutes min): $build/benchmarks/$binary --out results/$machine/$report.json" \
      "--benchmark_repetitions=$reps --benchmark_min_time=$seconds${flags:+ $flags}"
  done
  exit 0
fi

source "$(dirname "${BASH_SOURCE[0]}")/../common/setup.sh"
out_dir="$PB_ROOT/results/$machine"
mkdir -p "$out_dir"
status=0
for entry in "${suites[@]}"; do
  read -r binary report reps seconds minutes flags <<<"$entry"
  read -ra narrowing <<<"$flags"
  echo
  echo "######## $binary -> results/$machine/$report.json (about $minutes min on 2 cores)"
  if "$PB_BUILD/benchmarks/$binary" --out "$out_dir/$report.json" --benchmark_repetitions="$reps" \
    --benchmark_min_time="$seconds" "${narrowing[@]}"; then
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
