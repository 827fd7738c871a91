#!/usr/bin/env bash
# netns_link_rates.sh: what tbf shaping of simulated hosts' links achieves, by a TCP stream and Gloo all-reduces.
#
#   benchmarks/netns_link_rates.sh BUILD_DIR [RATE...]      (default rates: none 1gbit 10gbit 25gbit)
#
# Makes 2 hosts with common/distributed/netns_hosts.sh, shapes both cables to each RATE ("none":
# unshaped), and measures host 1 -> host 0: one TCP stream for 2 s (python3 sockets: no iperf
# needed), then Gloo all-reduces of 1, 16 and 64 MiB between one rank per host (bench_ddp's rank
# mode, BUILD_DIR/benchmarks/bench_ddp). For 2 ranks, an all-reduce of B bytes sends and receives
# B bytes per rank, so B x 8 / time is the rate each link carried. Not part of benchmarks/run.sh:
# it needs root, and its figures depend on this machine's CPUs more than on any network.
set -uo pipefail

program=netns_link_rates.sh
die() {
  echo "$program: error: $2" >&2
  exit "$1"
}
[[ $# -ge 1 ]] || die 2 "usage: $program BUILD_DIR [RATE...] (RATE: none, or tc's form such as 1gbit)"
build=$1
shift
rates=("$@")
((${#rates[@]} > 0)) || rates=(none 1gbit 10gbit 25gbit)
for rate in "${rates[@]}"; do  # before any namespace is made (netns_hosts.sh shape checks again)
  [[ ${rate,,} =~ ^(none|[0-9]+(\.[0-9]+)?(bit|kbit|mbit|gbit|tbit|bps|kbps|mbps|gbps))$ ]] ||
    die 2 "rate must be none or a number and a unit such as 1gbit or 500mbit, got '$rate'"
done
bench=$build/benchmarks/bench_ddp
[[ -x $bench ]] || die 2 "no $bench (build the bench_ddp target)"
hosts_script=$(cd "$(dirname "$0")/.." && pwd)/common/distributed/netns_hosts.sh
export PB_NETNS_PREFIX=${PB_NETNS_PREFIX:-pbrates}
hosts() { bash "$hosts_script" "$@"; }

work=$(mktemp -d)
trap 'hosts down; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
hosts up 2 || exit 1
master=$(hosts addr 0)

# Receives on host 0, sends from host 1 for $1 seconds; prints the receiver's Gbit/s.
tcp_rate() {
  local seconds=$1
  cat >"$work/tcp.py" <<'EOF'
import socket, sys, time
if sys.argv[1] == "recv":
    server = socket.socket()
    server.bind((sys.argv[2], 5001))
    server.listen(1)
    print("listening", flush=True)
    connection, _ = server.accept()
    buffer, received, start = bytearray(4 << 20), 0, None
    while True:
        count = connection.recv_into(buffer)
        if not count:
            break
        start = start or time.perf_counter()  # from the first byte: not the connection set-up
        received += count
    print("%.3f" % (received * 8 / (time.perf_counter() - start) / 1e9))
else:
    connection = socket.create_connection((sys.argv[2], 5001))
    data, end = b"x" * (4 << 20), time.perf_counter() + float(sys.argv[3])
    while time.perf_counter() < end:
        connection.sendall(data)
    connection.close()
EOF
  hosts exec 0 python3 "$work/tcp.py" recv "$master" >"$work/tcp.out" 2>&1 &
  for _ in $(seq 50); do grep -q listening "$work/tcp.out" && break; sleep 0.1; done
  hosts exec 1 python3 "$work/tcp.py" send "$master" "$seconds" || echo "send failed" >>"$work/tcp.out"
  wait
  tail -n 1 "$work/tcp.out"
}

# One Gloo all-reduce point: $1 bytes, $2 iterations, one rank per host; prints Gbit/s.
allreduce_rate() {
  local bytes=$1 iterations=$2 host
  rm -f "$work/result.json"
  # bench_ddp's rank program: a job of one all-reduce point (benchmarks/ddp_rank.h), read from a file.
  printf '{"device":"cpu","ranks":2,"rounds":1,"phase_sync":false,"points":[{"kind":"allreduce","device":"cpu","ranks":2,"threads":1,"bytes":%s,"iterations":%s}]}\n' \
    "$bytes" "$iterations" >"$work/job.json"
  for host in 0 1; do
    env RANK=$host LOCAL_RANK=0 WORLD_SIZE=2 LOCAL_WORLD_SIZE=1 GROUP_RANK=$host MASTER_ADDR="$master" \
      MASTER_PORT=29500 GLOO_SOCKET_IFNAME=eth0 PB_RANK_RESULT="$work/result.json" \
      PB_RANK_JOB="$work/job.json" \
      bash "$hosts_script" exec "$host" "$bench" >"$work/rank$host.log" 2>&1 &
  done
  wait
  python3 -c '
import json, sys
result = json.load(open(sys.argv[1]))["results"][0][0]
assert result["wrong"] == 0, "wrong sum"
print("%.2f" % (int(sys.argv[2]) * int(sys.argv[3]) * 8 / result["seconds"] / 1e9))
' "$work/result.json" "$bytes" "$iterations" 2>/dev/null || echo "failed"
}

echo "host 1 -> host 0, Gbit/s (tbf counts Ethernet frames: TCP payload is at most ~95.6% of the rate)"
printf '%-10s %12s %12s %12s %12s\n' link "TCP stream" "AR 1 MiB" "AR 16 MiB" "AR 64 MiB"
for rate in "${rates[@]}"; do
  if [[ $rate == none ]]; then
    hosts shape 0 off && hosts shape 1 off
  else
    hosts shape 0 "$rate" && hosts shape 1 "$rate" || exit 2
  fi
  tcp=$(tcp_rate 2)
  small=$(allreduce_rate 1048576 20)
  medium=$(allreduce_rate 16777216 8)
  large=$(allreduce_rate 67108864 3)
  printf '%-10s %12s %12s %12s %12s\n' "$rate" "$tcp" "$small" "$medium" "$large"
done
