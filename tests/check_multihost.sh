#!/usr/bin/env bash
# DDP across simulated hosts (common/distributed/netns_hosts.sh), one case per run:
#   check_multihost.sh CASE DDP_CHECK SOURCE_DIR
#   train            2 hosts x 2 ranks started as torchrun starts them across nodes (RANK, LOCAL_RANK,
#                    WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR = host 0, GLOO_SOCKET_IFNAME):
#                    every rank must match single-process training (ddp_check compares)
#   torchrun         the same under SOURCE_DIR/.venv/bin/torchrun --nnodes 2 --no-python, one per host
#   no_ifname        the same without GLOO_SOCKET_IFNAME: Gloo binds to loopback, so a one-line
#                    error that says to set it, exit 2, within the rendezvous timeout
#   kill_host        host 1 dies mid-run (every process killed, its namespace deleted): ranks 0 and 1
#                    exit 1 with one line naming ranks 2 and 3, within --timeout + 5 s of the kill
#   kill_store_host  the same for host 0, where rank 0 serves the store: ranks 2 and 3 name rank 0
#   link_down        host 1's cable goes down mid-run (its ranks live on): all four exit 1 within
#                    --timeout + 5 s, ranks 0 and 1 naming ranks 2 and 3, ranks 2 and 3 naming rank 0
#   agent_store      ranks as torchrun starts them where its agent shares its store (TORCHELASTIC_USE_AGENT_STORE):
#                    every rank is a client of a store already served on host 0, here by a Python of
#                    the binary's torch (TORCH_VERSION, the 4th argument) standing in for the agent
#   script_input     netns_hosts.sh's bad input: one line, exit 2 (a host count it does not support,
#                    a rate tc refuses or that is no rate, a host that is not there)
# Prints "skipped: <reason>" and exits 77 where namespaces cannot be made (not root, no ip), for
# torchrun where the venv is missing, for agent_store where no Python has the binary's torch. Every namespace made is removed, also on failure.
set -uo pipefail

case_name=${1:?case}
ddp=${2:?ddp_check binary}
source_dir=${3:?source dir}
torch_version=${4:-}
hosts_script=$source_dir/common/distributed/netns_hosts.sh
readonly SKIP=77 TIMEOUT_S=5 GUARD_S=40 NPROC=2 NHOSTS=2
readonly WORLD=$((NPROC * NHOSTS))

skip() {
  echo "skipped: $*"
  exit "$SKIP"
}
[[ $(id -u) -eq 0 ]] || skip "making network namespaces needs root (running as uid $(id -u))"
command -v ip >/dev/null || skip "iproute2's ip is not installed"
command -v unshare >/dev/null || skip "util-linux's unshare is not installed"

# A set of namespaces per case and build (the binary's path): concurrent tests of two builds
# never share one, and a rerun finds (and removes) what a killed run of the same test left.
build_tag=$(printf '%s' "$ddp" | cksum | cut -c1-5)
declare -A short=([train]=tr [torchrun]=tt [no_ifname]=ni [kill_host]=kh [kill_store_host]=ks [link_down]=ld
  [agent_store]=as [script_input]=si)
[[ -n ${short[$case_name]:-} ]] || { echo "unknown case '$case_name'"; exit 2; }
export PB_NETNS_PREFIX=mh${short[$case_name]}$build_tag
hosts() { bash "$hosts_script" "$@"; }

work=$(mktemp -d)
pids=()
cleanup() {
  hosts down  # kills what runs in the hosts first: their wrappers then end without bash's "Killed"
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
  local left
  left=$(ip netns list | grep "^${PB_NETNS_PREFIX}_" | tr '\n' ' ')
  if [[ -n $left ]]; then
    echo "FAIL: namespaces left behind: $left"
    exit 1
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

failed=0
fail() {
  echo "FAIL: $*"
  failed=1
}
now() { date +%s.%N; }
show() {
  echo "--- $1 ---"
  cat "$1"
}

probe_error=$(ip netns add "${PB_NETNS_PREFIX}_probe" 2>&1) || skip "cannot make network namespaces here: $probe_error"
ip netns del "${PB_NETNS_PREFIX}_probe"
hosts down  # what a killed run of this test may have left
hosts up "$NHOSTS" || { echo "FAIL: netns_hosts.sh up $NHOSTS"; exit 1; }
master=$(hosts addr 0)
port=29500  # free: nothing else runs in these namespaces

ifname_setting=GLOO_SOCKET_IFNAME=eth0  # every host's interface to the others is its eth0

# Starts rank $2 of host $1 in the background, as torchrun would on node $1, with ddp_check's
# arguments after; its exit code and end time go to rank$RANK.end, its output to rank$RANK.out/err.
start_rank() {
  local host=$1 local_rank=$2 rank=$(($1 * NPROC + $2))
  shift 2
  (
    env -u GLOO_SOCKET_IFNAME RANK=$rank LOCAL_RANK=$local_rank WORLD_SIZE=$WORLD LOCAL_WORLD_SIZE=$NPROC \
      GROUP_RANK=$host MASTER_ADDR="$master" MASTER_PORT=$port ${ifname_setting} \
      bash "$hosts_script" exec "$host" timeout -s KILL "$GUARD_S" "$ddp" "$@" >"$work/rank$rank.out" 2>"$work/rank$rank.err"
    echo "$? $(now)" >"$work/rank$rank.end"
  ) 2>/dev/null &  # not bash's "Killed" notes of the ranks a fault kills
  pids+=($!)
}

start_all() {
  local host local_rank
  for ((host = 0; host < NHOSTS; ++host)); do
    for ((local_rank = 0; local_rank < NPROC; ++local_rank)); do start_rank "$host" "$local_rank" "$@"; done
  done
}

# Waits until host 1's ranks are connected to host 0's by Gloo (2 x 2 pairs, and 2 store
# connections) and training is under way; fails if a rank ended before.
wait_for_training() {
  local deadline=$((SECONDS + 20)) connections
  while ((SECONDS < deadline)); do
    connections=$(ip netns exec "${PB_NETNS_PREFIX}_h1" ss -Htn state established dst "$master" 2>/dev/null | wc -l)
    ((connections >= NPROC * NPROC + NPROC)) && break
    sleep 0.2
  done
  sleep 1
  for ((rank = 0; rank < WORLD; ++rank)); do
    if [[ -s $work/rank$rank.end ]]; then
      fail "rank $rank ended before the fault ($(cut -d' ' -f1 "$work/rank$rank.end")): $(cat "$work/rank$rank.err")"
      exit 1
    fi
  done
  ((connections >= NPROC * NPROC + NPROC)) || { fail "host 1 has $connections connections to host 0 after 20 s"; exit 1; }
}

# Checks that rank $1 exited with code $2, within $3 s of time $4, with one line on stderr
# matching the extended regex $5.
expect_exit() {
  local rank=$1 code=$2 limit=$3 since=$4 pattern=$5 end got elapsed lines
  read -r got end <"$work/rank$rank.end"
  elapsed=$(awk -v a="$since" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
  echo "rank $rank: exit $got after ${elapsed} s: $(cat "$work/rank$rank.err")"
  [[ $got -eq $code ]] || fail "rank $rank exited with $got, expected $code"
  awk -v e="$elapsed" -v l="$limit" 'BEGIN { exit !(e > l) }' && fail "rank $rank took ${elapsed} s, limit $limit s"
  lines=$(wc -l <"$work/rank$rank.err")
  if [[ $lines -ne 1 ]] || ! grep -Eq -- "$pattern" "$work/rank$rank.err"; then
    fail "rank $rank: expected one line matching '$pattern' ($lines line(s))"
    show "$work/rank$rank.err"
  fi
}

wait_ranks() {
  local pid
  for pid in "${pids[@]}"; do wait "$pid"; done
  pids=()
}

limit=$((TIMEOUT_S + 5))
run_args=(--model mlp --steps 100000 --timeout "$TIMEOUT_S")
# Every rank exited 0 and reported that it ended with single-process training's parameters.
expect_every_rank_matched() {
  for ((rank = 0; rank < WORLD; ++rank)); do
    cat "$work/rank$rank.out"
    read -r code _ <"$work/rank$rank.end"
    [[ $code -eq 0 ]] || { fail "rank $rank exited with $code"; show "$work/rank$rank.err"; }
    grep -Eq "^rank $rank/$WORLD gloo: .* \\(match\\)" "$work/rank$rank.out" || fail "rank $rank did not match single-process training"
  done
}

case $case_name in
  train)
    start=$(now)
    start_all --model mlp --timeout 20
    wait_ranks
    echo "2 hosts x 2 ranks: $(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s"
    expect_every_rank_matched
    ;;
  torchrun)
    torchrun=$source_dir/.venv/bin/torchrun
    [[ -x $torchrun ]] || skip "no $torchrun (tests/run_cuda.sh sets up the venv)"
    # Rendezvous through c10d, hosted by host 0's agent; torchrun picks the workers' MASTER_PORT.
    # The agents do not share their store with the workers (TORCH_DISABLE_SHARE_RDZV_TCP_STORE):
    # the venv's torch speaks another store protocol than a build against libtorch 1.13.
    # is_host says which agent hosts the rendezvous: these hosts' names resolve nowhere.
    start=$(now)
    for ((host = 0; host < NHOSTS; ++host)); do
      env TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1 GLOO_SOCKET_IFNAME=eth0 \
        bash "$hosts_script" exec "$host" timeout -s KILL "$GUARD_S" "$torchrun" --nnodes "$NHOSTS" \
        --nproc-per-node "$NPROC" --node-rank "$host" --rdzv-backend c10d --rdzv-endpoint "$master:29400" \
        --rdzv-id pb_multihost --rdzv-conf "is_host=$((host == 0 ? 1 : 0))" --local-addr "$(hosts addr "$host")" \
        --no-python "$ddp" --model mlp --timeout 20 >"$work/node$host.log" 2>&1 &
      pids+=($!)
    done
    for ((host = 0; host < NHOSTS; ++host)); do
      wait "${pids[$host]}" || { fail "torchrun on host $host exited with $?"; show "$work/node$host.log"; }
    done
    pids=()
    echo "torchrun, 2 nodes x 2 ranks: $(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s"
    grep -h "^rank " "$work"/node*.log
    for ((rank = 0; rank < WORLD; ++rank)); do
      grep -Eqh "^rank $rank/$WORLD gloo: .* \\(match\\)" "$work"/node*.log ||
        fail "rank $rank did not match single-process training"
    done
    ;;
  no_ifname)
    ifname_setting=
    start=$(now)
    start_all --model mlp --timeout 3
    wait_ranks
    # A rank that connects to a peer's (loopback) address fails at once with the hint; one that
    # waits for peers to connect to it times out. Which rank does which varies from run to run.
    hinted=0
    for ((rank = 0; rank < WORLD; ++rank)); do
      expect_exit "$rank" 2 30 "$start" "^ddp_check: error: (cannot create the process group at $master:$port as rank $rank of $WORLD: .*\\[127\\..*\\(a peer's Gloo address is loopback: set GLOO_SOCKET_IFNAME to the interface the hosts share\\)|cannot rendezvous at $master:$port as rank $rank of $WORLD: timed out after 3 s .+)\$"
      grep -q "set GLOO_SOCKET_IFNAME" "$work/rank$rank.err" && hinted=$((hinted + 1))
    done
    ((hinted > 0)) || fail "no rank said to set GLOO_SOCKET_IFNAME"
    ;;
  kill_host | kill_store_host)
    dead=$([[ $case_name == kill_host ]] && echo 1 || echo 0)
    start_all "${run_args[@]}"
    wait_for_training
    fault=$(now)
    hosts kill "$dead" || fail "netns_hosts.sh kill $dead"
    wait_ranks
    for ((rank = 0; rank < WORLD; ++rank)); do
      if ((rank / NPROC == dead)); then
        read -r code _ <"$work/rank$rank.end"
        [[ $code -eq 137 ]] || fail "rank $rank on the killed host exited with $code, expected 137 (SIGKILL)"
      elif ((dead == 1)); then
        # Both of host 1's ranks, or (when a survivor learns of the loss through the other survivor,
        # as Gloo's ring order allows) one of them: never a rank that is alive.
        expect_exit "$rank" 1 "$limit" "$fault" "^ddp_check: error: rank $rank of $WORLD lost (ranks 2, 3|rank [23]): .+\$"
      else
        expect_exit "$rank" 1 "$limit" "$fault" "^ddp_check: error: rank $rank of $WORLD lost rank 0: .+ \\(the store on rank 0 does not answer either.*\\)\$"
      fi
    done
    ;;
  link_down)
    start_all "${run_args[@]}"
    wait_for_training
    fault=$(now)
    hosts link 1 down || fail "netns_hosts.sh link 1 down"
    wait_ranks
    for rank in 0 1; do
      expect_exit "$rank" 1 "$limit" "$fault" "^ddp_check: error: rank $rank of $WORLD timed out waiting for ranks 2, 3: .+\$"
    done
    for rank in 2 3; do
      expect_exit "$rank" 1 "$limit" "$fault" "^ddp_check: error: rank $rank of $WORLD timed out waiting for rank 0: .+ \\(the store on rank 0 does not answer either.*\\)\$"
    done
    ;;
  agent_store)
    # The store protocol changed between torch versions: the stand-in must be the binary's torch.
    major_minor() { grep -oE '^[0-9]+\.[0-9]+' <<<"$1"; }
    python=
    for candidate in /usr/bin/python3 "$source_dir/.venv/bin/python"; do
      version=$("$candidate" -c 'import torch; print(torch.__version__)' 2>/dev/null) || continue
      [[ $(major_minor "$version") == "$(major_minor "$torch_version")" ]] && python=$candidate && break
    done
    [[ -n $python ]] || skip "no Python here has torch $torch_version, the binary's, to serve its store"
    # As the agent: the store at MASTER_ADDR:MASTER_PORT, with a key of its own beside the ranks'.
    (bash "$hosts_script" exec 0 "$python" -c '
import datetime, sys, time
import torch.distributed as dist
store = dist.TCPStore(sys.argv[1], int(sys.argv[2]), 1, True, datetime.timedelta(seconds=60), wait_for_workers=False)
store.set("torchelastic/agent", "up")
print("serving", flush=True)
time.sleep(60)
' "$master" "$port" >"$work/agent.log" 2>&1 || true) 2>/dev/null &  # no "Killed" note at the end
    pids+=($!)
    for _ in $(seq 100); do grep -q serving "$work/agent.log" && break; sleep 0.1; done
    grep -q serving "$work/agent.log" || { fail "the stand-in agent store did not start"; show "$work/agent.log"; exit 1; }
    export TORCHELASTIC_USE_AGENT_STORE=True TORCHELASTIC_RESTART_COUNT=1
    start_all --model mlp --timeout 20
    for ((rank = 0; rank < WORLD; ++rank)); do wait "${pids[$((rank + 1))]}"; done
    expect_every_rank_matched
    ;;
  script_input)
    # Each: the arguments, then the one line expected on stderr; exit code 2.
    expect_refusal() {
      local pattern=$1 output code
      shift
      output=$(hosts "$@" 2>&1)
      code=$?
      echo "netns_hosts.sh $*: exit $code: $output"
      [[ $code -eq 2 ]] || fail "netns_hosts.sh $*: exit $code, expected 2"
      [[ $(printf '%s\n' "$output" | wc -l) -eq 1 && $output =~ $pattern ]] || fail "netns_hosts.sh $*: expected one line matching '$pattern'"
    }
    expect_refusal "^netns_hosts.sh: error: host count must be between 1 and 32, got 33\$" up 33
    expect_refusal "^netns_hosts.sh: error: host count must be between 1 and 32, got 0\$" up 0
    expect_refusal "^netns_hosts.sh: error: host count must be an integer between 1 and 32, got 'two'\$" up two
    expect_refusal "^netns_hosts.sh: error: tc refused rate '100tbit' on host 0's cable: .+\$" shape 0 100tbit
    expect_refusal "^netns_hosts.sh: error: rate must be a number and a unit such as 1gbit, 500mbit or 10gbps, got 'fast'\$" shape 0 fast
    expect_refusal "^netns_hosts.sh: error: no host 5 in set '$PB_NETNS_PREFIX' " exec 5 true
    expect_refusal "^netns_hosts.sh: error: link state must be up or down, got 'sideways'\$" link 1 sideways
    # A refused rate leaves no half-shaped cable behind.
    [[ -z $(tc -n "${PB_NETNS_PREFIX}_h0" qdisc show dev eth0 | grep tbf) ]] || fail "a refused rate left a tbf qdisc on host 0"
    ;;
esac
exit "$failed"
