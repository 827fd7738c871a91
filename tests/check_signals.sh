#!/usr/bin/env bash
# Signals and output files, one case per run: check_signals.sh <case> <build dir>. A launcher
# signalled alone forwards the signal and leaves no rank behind; ranks die with a killed launcher;
# an interrupt during the Python peer stops it, exits 130/143 and leaves the previous report as it
# was; an --out that cannot be replaced is refused before the run.
set -uo pipefail
case_name=$1
build=$2
ddp_check=$build/tests/ddp_check
bench=$build/benchmarks/bench_cpu_training
work=$(mktemp -d)
launcher_pid=
cleanup() {
  [[ -n $launcher_pid ]] && kill -9 "$launcher_pid" 2>/dev/null
  pkill -9 -f "$work/" 2>/dev/null
  chattr -i "$work"/* 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [[ -f $work/log ]] && { echo "--- output ---"; cat "$work/log"; }; exit 1; }

# Waits up to $2 seconds for the command in $1 to succeed.
wait_for() {
  local deadline=$((SECONDS + $2))
  until eval "$1"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# The PIDs of processes whose environment marks them as ranks of launcher $1 (they may have been
# re-parented to PID 1, so they are found by their mark, not by their parent).
ranks_of() {
  grep -lsz "^PB_LAUNCHER_PID=$1\$" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3
}

# Starts ddp_check as 2 ranks training for long, in a session of its own (so that the signal sent
# below reaches the launcher alone, as `kill PID` does, not the group as Ctrl-C does).
start_ranks() {
  setsid "$ddp_check" --nproc 2 --model linear --steps 100000 --stop-timeout 3 >"$work/log" 2>&1 &
  launcher_pid=$!
  wait_for '[[ $(ranks_of $launcher_pid | wc -l) -eq 2 ]]' 30 || fail "the 2 ranks did not start"
  sleep 1
}

expect_no_ranks_within() {
  wait_for '[[ -z $(ranks_of $1) ]]' "$2" || fail "ranks still running $2 s after: $(ranks_of "$1" | tr '\n' ' ')"
}

# A fake interpreter for the peer: it "has torch", then as the peer it only marks that it started
# and sleeps, so that the run is inside its peer phase for as long as the test needs.
make_fake_python() {
  cat >"$work/python" <<EOF
#!/usr/bin/env bash
[[ \$1 == -c ]] && exit 0
touch "$work/peer_started"
exec -a "$work/peer" sleep 120
EOF
  chmod +x "$work/python"
}

case $case_name in
  launcher_forwards_sigterm | launcher_forwards_sigint)
    signal=TERM code=143
    [[ $case_name == launcher_forwards_sigint ]] && signal=INT code=130
    start_ranks
    kill -s "$signal" "$launcher_pid"
    wait_for '! kill -0 $launcher_pid 2>/dev/null' 10 || fail "launcher still running 10 s after SIG$signal"
    wait "$launcher_pid"
    rc=$?
    expect_no_ranks_within "$launcher_pid" 2
    launcher_pid=
    [[ $rc -eq $code ]] || fail "launcher exit code $rc, expected $code"
    grep -q "launcher: SIG$signal received; stopping the ranks" "$work/log" || fail "no stop line"
    ;;
  ranks_die_with_killed_launcher)
    start_ranks
    kill -9 "$launcher_pid"
    expect_no_ranks_within "$launcher_pid" 3
    ;;
  peer_interrupted_sigint | peer_interrupted_sigterm)
    signal=INT code=130
    [[ $case_name == peer_interrupted_sigterm ]] && signal=TERM code=143
    make_fake_python
    echo previous >"$work/report.json"
    setsid "$bench" --quick --python "$work/python" --benchmark_filter='linear/workers:0/threads:1/load_us:0/loader:default' \
      --out "$work/report.json" >"$work/log" 2>&1 &
    launcher_pid=$!
    wait_for '[[ -e $work/peer_started ]]' 120 || fail "the peer phase did not start"
    temp_dirs=$(ls -d /tmp/pb_peer_* 2>/dev/null | wc -l)
    kill -s "$signal" "$launcher_pid"
    wait_for '! kill -0 $launcher_pid 2>/dev/null' 10 || fail "benchmark still running 10 s after SIG$signal"
    wait "$launcher_pid"
    rc=$?
    launcher_pid=
    [[ $rc -eq $code ]] || fail "exit code $rc, expected $code"
    [[ $(cat "$work/report.json") == previous ]] || fail "the previous report was replaced"
    [[ -z $(ls "$work" | grep -v '^\(log\|python\|peer_started\|report.json\)$') ]] || fail "files left: $(ls "$work")"
    pgrep -f "$work/peer" >/dev/null && fail "the peer is still running"
    [[ $(ls -d /tmp/pb_peer_* 2>/dev/null | wc -l) -lt $temp_dirs ]] || fail "the peer's temporary folder is left"
    grep -q "bench_cpu_training: SIG$signal received; stopped" "$work/log" || fail "no stop line"
    ;;
  out_immutable)
    echo previous >"$work/report.json"
    chattr +i "$work/report.json" 2>/dev/null || { echo "skipped: chattr +i is not supported here"; exit 0; }
    start=$SECONDS
    "$bench" --quick --no-peer --out "$work/report.json" >"$work/log" 2>&1
    rc=$?
    [[ $rc -eq 2 ]] || fail "exit code $rc, expected 2"
    ((SECONDS - start < 10)) || fail "refused only after the run"
    grep -qx "bench_cpu_training: error: cannot replace '$work/report.json': it is immutable or append-only (see lsattr)" \
      "$work/log" || fail "unexpected message"
    ;;
  *)
    echo "unknown case '$case_name'"
    exit 2
    ;;
esac
echo "ok: $case_name"
