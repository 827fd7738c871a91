#!/usr/bin/env bash
# The GPU check, one command on a machine with an NVIDIA GPU: builds the CUDA configuration
# (common/setup_cuda.sh), runs the CUDA tests, then a short GPU suite: family 2 (GPU training and
# copies), family 3 on the GPUs present, family 4 over NCCL where there are 2+ GPUs. Writes
# results/<machine>/ (JSON, Markdown, SVG and the test log). Sized for under 8 minutes on one GPU.
#   PB_TORCH_PYTHON=python  the torch to build against (default: python3 when its torch has CUDA,
#                           as on an offline GPU host; else .venv, installed from pip when missing)
#   PB_MACHINE=name         results folder name (default: <gpu name>-<count>gpu)
#   PB_GPU_MIN_TIME=s       minimum time per benchmark point (default 0.1)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${PB_TORCH_PYTHON:-}" ] &&
   python3 -c 'import sys, torch; sys.exit(0 if torch.version.cuda else 1)' >/dev/null 2>&1; then
  export PB_TORCH_PYTHON=python3
fi
export PB_BUILD_DIR=${PB_BUILD_DIR:-$root/build-cuda}
source "$root/common/setup_cuda.sh"

gpus=$("$PB_TORCH_PYTHON" -c 'import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)' 2>/dev/null || echo 0)
if [ "$gpus" -lt 1 ]; then
  echo "gpu-check: error: no CUDA device is visible to $PB_TORCH_PYTHON's torch (no GPU, no driver, or CUDA_VISIBLE_DEVICES hides them)" >&2
  exit 2
fi
name=$("$PB_TORCH_PYTHON" -c 'import torch; print(torch.cuda.get_device_name(0))' | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9-')
machine=${PB_MACHINE:-${name#nvidia-}-${gpus}gpu}
out="$PB_ROOT/results/$machine"
mkdir -p "$out"
echo "gpu-check: $gpus GPU(s) ($name); results in results/$machine/"
start=$SECONDS

echo
echo "######## CUDA tests"
status=0
# Every test whose name says CUDA or GPU, then the whole suite (which also runs them on the GPU).
ctest --test-dir "$PB_BUILD" -R 'Cuda|Gpu|cuda|gpu' --output-on-failure 2>&1 | tee "$out/cuda_tests.txt" || status=1

flags=(--benchmark_repetitions=1 --benchmark_min_time="${PB_GPU_MIN_TIME:-0.1}")
run_suite() {  # run_suite <binary> <report> [flags...]
  local binary=$1 report=$2
  shift 2
  echo
  echo "######## $binary -> results/$machine/$report.json"
  if "$PB_BUILD/benchmarks/$binary" --out "$out/$report.json" "${flags[@]}" "$@"; then
    "$PB_BUILD/benchmarks/pb_report" "$out/$report.json" || status=1
  else
    status=1
  fi
}
run_suite bench_gpu_training gpu_training --cpu-batches 256
run_suite bench_data_parallel data_parallel --devices cuda --replicas 1,2,4 --benchmark_min_time=0.3
if [ "$gpus" -ge 2 ]; then
  run_suite bench_ddp ddp_training --devices cuda --models mlp,cnn
else
  echo
  echo "gpu-check: family 4 over NCCL skipped: it needs 2 GPUs, this machine has 1"
fi
echo
echo "gpu-check: done in $((SECONDS - start)) s after the build; reports in results/$machine/"
exit $status
