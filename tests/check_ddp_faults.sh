#!/usr/bin/env bash
# Faults of ranks started without the launcher, one process per rank with RANK, WORLD_SIZE,
# MASTER_ADDR and MASTER_PORT set by hand (torchrun-style). Used by tests/ddp_failures.cmake:
#   check_ddp_faults.sh lost-peer DDP_CHECK WORLD DYING_RANK
#       every rank trains; DYING_RANK is killed (SIGKILL) mid-run. Each survivor must exit 1 (not
#       134, an abort) with one line that names the lost rank.
#   check_ddp_faults.sh lonely DDP_CHECK
#       rank 0 of 2, --timeout 3, nobody else comes: one line, exit 2, after 3 s and within 3.3 s.
#   check_ddp_faults.sh foreign-listener DDP_CHECK
#       rank 1 of 2, --timeout 3, MASTER_PORT held by a TCP server that accepts and never answers:
#       one line, exit 2, after 3 s and within 3.3 s.
# Times are measured beyond the program's own start-up (a --help run: loading libtorch), which
# the timeout does not cover. Each case is bounded (GUARD_S) so that a hang fails, not blocks.
set -u

mode=${1:?mode}
ddp=${2:?ddp_check binary}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

readonly GUARD_S=20
failed=0
fail() {
  echo "FAIL: $*"
  failed=1
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

now() { date +%s.%N; }

# Prints a file's content under a header, for the log of a failed case.
show() {
  echo "--- $1 ---"
  cat "$1"
}

# Checks that file $1 holds exactly one line and that it matches the extended regex $2.
expect_one_line() {
  local lines
  lines=$(wc -l <"$1")
  if [[ $lines -ne 1 ]] || ! grep -Eq -- "$2" "$1"; then
    fail "expected one line matching '$2' in $1 ($lines line(s))"
    show "$1"
  fi
}

# Seconds from $1 to $2 minus the start-up baseline, compared with [low, high] by awk.
check_elapsed() {
  local start=$1 end=$2 baseline=$3 low=$4 high=$5 what=$6
  local total beyond
  total=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
  beyond=$(awk -v t="$total" -v s="$baseline" 'BEGIN { printf "%.3f", t - s }')
  echo "$what: ${total} s in all, ${beyond} s beyond start-up (${baseline} s)"
  if awk -v t="$total" -v lo="$low" 'BEGIN { exit !(t < lo) }'; then fail "$what: exited after ${total} s, before ${low} s"; fi
  if awk -v b="$beyond" -v hi="$high" 'BEGIN { exit !(b >= hi) }'; then fail "$what: took ${beyond} s beyond start-up, limit ${high} s"; fi
}

startup_baseline() {
  local start end
  start=$(now)
  "$ddp" --help >/dev/null 2>&1
  end=$(now)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}

# Starts rank $1 of 2 against MASTER_PORT $2 with --timeout 3 and checks that it fails the
# rendezvous in one line, exit 2, after 3 s and before 3.3 s (start-up excluded). $3 names the case.
expect_rendezvous_timeout() {
  local rank=$1 port=$2 label=$3 baseline start end code
  baseline=$(startup_baseline)
  start=$(now)
  env RANK="$rank" WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT="$port" \
    timeout -s KILL "$GUARD_S" "$ddp" --timeout 3 >"$work/out" 2>&1
  code=$?
  end=$(now)
  echo "$label exited with code $code: $(cat "$work/out")"
  [[ $code -eq 2 ]] || fail "exit code $code, expected 2"
  expect_one_line "$work/out" "^ddp_check: error: cannot rendezvous at 127\\.0\\.0\\.1:$port as rank $rank of 2: timed out after 3 s .+\$"
  check_elapsed "$start" "$end" "$baseline" 3.0 3.3 "$label with --timeout 3"
}

case "$mode" in
  lost-peer)
    world=${3:?world size}
    dying=${4:?dying rank}
    port=$(free_port)
    for ((rank = 0; rank < world; ++rank)); do
      env RANK=$rank WORLD_SIZE="$world" MASTER_ADDR=127.0.0.1 MASTER_PORT="$port" \
        timeout -s KILL "$GUARD_S" "$ddp" --model mlp --steps 100000 --fail-rank "$dying" --fail-step 3 --timeout 10 \
        >"$work/rank$rank.out" 2>"$work/rank$rank.err" &
      pids+=($!)
    done
    for ((rank = 0; rank < world; ++rank)); do
      wait "${pids[$rank]}"
      code=$?
      if [[ $rank -eq $dying ]]; then
        [[ $code -eq 137 ]] || fail "rank $rank (the dying one) exited with $code, expected 137 (SIGKILL)"
        continue
      fi
      echo "rank $rank exited with code $code: $(cat "$work/rank$rank.err")"
      [[ $code -eq 1 ]] || fail "rank $rank exited with code $code, expected 1"
      expect_one_line "$work/rank$rank.err" "^ddp_check: error: rank $rank of $world lost ranks? ([0-9]+, )*$dying(, [0-9]+)*: .+\$"
      [[ -s "$work/rank$rank.out" ]] && { fail "rank $rank wrote to stdout"; show "$work/rank$rank.out"; }
    done
    ;;
  lonely)
    expect_rendezvous_timeout 0 "$(free_port)" "lonely rank 0"
    ;;
  foreign-listener)
    # Accepts every connection and keeps it open without a byte of answer.
    python3 -c '
import socket, sys, time
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(8)
print(server.getsockname()[1], flush=True)
held = []
while True:
    held.append(server.accept()[0])
' >"$work/port" &
    pids+=($!)
    for _ in $(seq 50); do [[ -s "$work/port" ]] && break; sleep 0.1; done
    port=$(cat "$work/port")
    expect_rendezvous_timeout 1 "$port" "rank 1 against a silent listener"
    ;;
  *)
    echo "unknown mode '$mode'" >&2
    exit 2
    ;;
esac
exit "$failed"
