#!/usr/bin/env bash
# netns_hosts.sh: simulated hosts on one Linux machine (network namespaces on a bridge) for multi-host DDP runs.
#
#   netns_hosts.sh up N              make hosts 0..N-1 (1 <= N <= 32): namespaces PREFIX_h0.., each with
#                                    eth0 at 10.213.0.(i+1)/24, cabled by veth pairs to a bridge in PREFIX_hub
#   netns_hosts.sh down              kill every process in this set's namespaces and delete them (idempotent)
#   netns_hosts.sh list              one line per host: index, namespace, address
#   netns_hosts.sh addr HOST         the host's address (MASTER_ADDR for host 0)
#   netns_hosts.sh exec HOST CMD...  run CMD in the host: its network and its own host name (PREFIX-hI)
#   netns_hosts.sh kill HOST         the host dies: SIGKILL every process in it, then its namespace and cable go
#   netns_hosts.sh link HOST up|down the host's cable (the bridge port) up or down; its processes live on
#   netns_hosts.sh shape HOST RATE   tbf at RATE (e.g. 10gbit, 500mbit) both ways on the host's cable; "off" removes it
#
# PB_NETNS_PREFIX (default pbnet; [a-z0-9]{1,12}) names the set, so that concurrent tests each
# have their own. The addresses exist only inside the set's namespaces (nothing is added to the
# machine's own network), so sets with the same range never clash with each other or with the
# machine. Needs root, iproute2, util-linux's unshare; `up` undoes what it made if a step fails.
# Errors are one line on stderr; bad input exits 2, a failed operation 1.
set -uo pipefail

readonly program=netns_hosts.sh
# 32 hosts keep a /24 and interface names short, and are already far more ranks than one machine's
# cores can run; 10.213.0.0/24 is a private range seldom used by real networks (it would not clash
# anyway: it exists only inside the set's namespaces).
readonly max_hosts=32
readonly subnet=10.213.0
prefix=${PB_NETNS_PREFIX:-pbnet}

die() {
  echo "$program: error: $2" >&2
  exit "$1"
}

usage_line="usage: $program up N | down | list | addr HOST | exec HOST CMD... | kill HOST | link HOST up|down | shape HOST RATE|off"

[[ $prefix =~ ^[a-z0-9]{1,12}$ ]] || die 2 "PB_NETNS_PREFIX must be 1 to 12 lowercase letters or digits, got '$prefix'"
readonly hub=${prefix}_hub

host_ns() { echo "${prefix}_h$1"; }
host_addr() { echo "$subnet.$(($1 + 1))"; }

# The set's namespaces, hub last (so that hosts go before the bridge they are cabled to).
set_namespaces() {
  ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${prefix}_h[0-9]+\$" | sort -V
  ip netns list 2>/dev/null | awk '{print $1}' | grep -Fx "$hub"
}

# Whether namespace $1 exists (grep -q reads the list from a variable: at the end of a pipe it
# could stop the writer early, and pipefail would turn a match into a failure).
ns_exists() {
  local names
  names=$(ip netns list 2>/dev/null | awk '{print $1}')
  grep -qFx -- "$1" <<<"$names"
}

# Host count of the set, from its namespaces (0 when it is not up).
host_count() { set_namespaces | grep -c -E "^${prefix}_h[0-9]+\$"; }

need_tools() {
  [[ $(id -u) -eq 0 ]] || die 1 "needs root (network namespaces), running as uid $(id -u)"
  command -v ip >/dev/null || die 1 "needs iproute2's ip, not found"
}

# HOST must be an index of a host that exists now.
check_host() {
  [[ $1 =~ ^[0-9]+$ ]] || die 2 "HOST must be a host index (0, 1, ...), got '$1'"
  ns_exists "$(host_ns "$1")" ||
    die 2 "no host $1 in set '$prefix' (up N makes hosts 0..N-1; list shows them)"
}

# Whether host $1 reaches address $2: a TCP connection to port 9 (discard) that is accepted or
# refused has crossed the link (ping is not always installed); one that times out has not.
reaches() {
  local answer
  answer=$(ip netns exec "$(host_ns "$1")" timeout 1 bash -c "exec 3<>/dev/tcp/$2/9" 2>&1) || [[ $answer == *refused* ]]
}

remove_namespace() {
  local ns=$1 pids
  # A namespace lives on while a process is in it: kill them first, and wait until they are gone.
  pids=$(ip netns pids "$ns" 2>/dev/null)
  [[ -n $pids ]] && kill -9 $pids 2>/dev/null
  for _ in $(seq 50); do
    [[ -z $(ip netns pids "$ns" 2>/dev/null) ]] && break
    sleep 0.1
  done
  ip netns del "$ns" 2>/dev/null
}

cmd_down() {
  local ns
  for ns in $(set_namespaces); do remove_namespace "$ns"; done
  [[ -z $(set_namespaces) ]] || die 1 "could not delete namespaces: $(set_namespaces | tr '\n' ' ')"
}

cmd_up() {
  [[ $# -eq 1 ]] || die 2 "$usage_line"
  [[ $1 =~ ^[0-9]+$ ]] || die 2 "host count must be an integer between 1 and $max_hosts, got '$1'"
  local count=$((10#$1)) i ns
  ((count >= 1 && count <= max_hosts)) || die 2 "host count must be between 1 and $max_hosts, got $1"
  need_tools
  command -v unshare >/dev/null || die 1 "needs util-linux's unshare, not found"
  [[ -z $(set_namespaces) ]] ||
    die 1 "set '$prefix' is already up (netns_hosts.sh down removes it; PB_NETNS_PREFIX names another)"
  # From here on, any failure (or an interrupt) removes everything made so far.
  local step error
  trap 'cmd_down 2>/dev/null' EXIT
  trap 'exit 130' INT TERM
  run_step() {
    step="$*"
    if ! error=$("$@" 2>&1); then
      die 1 "up $count failed at '$step': $(echo "$error" | head -n 1)"
    fi
  }
  run_step ip netns add "$hub"
  run_step ip -n "$hub" link add br0 type bridge
  run_step ip -n "$hub" link set br0 up
  for ((i = 0; i < count; ++i)); do
    ns=$(host_ns "$i")
    run_step ip netns add "$ns"
    # Made inside the hub and moved: nothing ever appears in the machine's own namespace.
    run_step ip -n "$hub" link add "h$i" type veth peer name eth0 netns "$ns"
    run_step ip -n "$hub" link set "h$i" master br0
    run_step ip -n "$hub" link set "h$i" up
    run_step ip -n "$ns" addr add "$(host_addr "$i")/24" dev eth0
    run_step ip -n "$ns" link set eth0 up
    run_step ip -n "$ns" link set lo up
  done
  # The bridge forwards only once its ports leave the listening state: with STP off (the default)
  # that is immediate, but check the hosts see each other before declaring the set up.
  if ((count > 1)); then
    for _ in $(seq 30); do
      reaches 1 "$(host_addr 0)" && break
      sleep 0.1
    done
    reaches 1 "$(host_addr 0)" || die 1 "up $count failed: host 1 cannot reach host 0 at $(host_addr 0)"
  fi
  trap - EXIT INT TERM
}

cmd_list() {
  local count i
  count=$(host_count)
  ((count > 0)) || die 1 "set '$prefix' is not up"
  for ((i = 0; i < count; ++i)); do echo "$i $(host_ns "$i") $(host_addr "$i")"; done
}

cmd_exec() {
  [[ $# -ge 2 ]] || die 2 "$usage_line"
  check_host "$1"
  local host=$1
  shift
  # Its own UTS namespace gives the host its own name, as a real machine has: the ranks then see
  # peers on other hosts as remote (they name a lost peer by process id only on their own host).
  exec ip netns exec "$(host_ns "$host")" unshare --uts -- \
    sh -c 'hostname "$0" && exec "$@"' "${prefix}-h$host" "$@"
}

cmd_kill() {
  [[ $# -eq 1 ]] || die 2 "$usage_line"
  check_host "$1"
  # Killing the processes is the death; deleting the namespace (with its end of the cable, which
  # takes the bridge's end too) makes sure nothing of the host answers afterwards.
  remove_namespace "$(host_ns "$1")"
  ns_exists "$(host_ns "$1")" && die 1 "host $1's namespace is still there"
  return 0
}

cmd_link() {
  [[ $# -eq 2 ]] || die 2 "$usage_line"
  check_host "$1"
  [[ $2 == up || $2 == down ]] || die 2 "link state must be up or down, got '$2'"
  # The bridge's end: the host sees its carrier go (NO-CARRIER), as when a switch port dies.
  local error
  error=$(ip -n "$hub" link set "h$1" "$2" 2>&1) || die 1 "link $1 $2: $(echo "$error" | head -n 1)"
}

# RATE as tc reads it: a number and a unit (bit, kbit, mbit, gbit, tbit, bps, kbps, mbps, gbps);
# printed as bytes per second, or nothing when it is not one.
rate_bytes() {
  local number unit
  [[ ${1,,} =~ ^([0-9]+(\.[0-9]+)?)(bit|kbit|mbit|gbit|tbit|bps|kbps|mbps|gbps)$ ]] || return 1
  number=${BASH_REMATCH[1]}
  unit=${BASH_REMATCH[3]}
  awk -v n="$number" -v u="$unit" 'BEGIN {
    f["bit"] = 1 / 8; f["kbit"] = 1e3 / 8; f["mbit"] = 1e6 / 8; f["gbit"] = 1e9 / 8; f["tbit"] = 1e12 / 8
    f["bps"] = 1; f["kbps"] = 1e3; f["mbps"] = 1e6; f["gbps"] = 1e9
    printf "%.0f\n", n * f[u] }'
}

cmd_shape() {
  [[ $# -eq 2 ]] || die 2 "$usage_line"
  check_host "$1"
  local ns host_dev=eth0 hub_dev="h$1" rate=$2 bytes burst error
  ns=$(host_ns "$1")
  command -v tc >/dev/null || die 1 "needs iproute2's tc, not found"
  if [[ $rate == off ]]; then
    tc -n "$ns" qdisc del dev "$host_dev" root 2>/dev/null
    tc -n "$hub" qdisc del dev "$hub_dev" root 2>/dev/null
    return 0
  fi
  bytes=$(rate_bytes "$rate") || die 2 "rate must be a number and a unit such as 1gbit, 500mbit or 10gbps, got '$rate'"
  ((bytes >= 1000)) || die 2 "rate $rate is below 8 kbit/s, which tbf cannot shape usefully"
  # The bucket holds 4 ms at the rate (at least 64 KiB, one full offloaded segment): smaller
  # buckets at gigabit rates cannot be refilled often enough by the kernel's timer and the link
  # runs below the rate. The queue holds 20 ms more before tbf drops.
  burst=$((bytes / 250))
  ((burst < 65536)) && burst=65536
  # Both ends: what the host sends leaves through eth0, what it receives through the bridge's end.
  local target_ns target_dev
  for target in "$ns:$host_dev" "$hub:$hub_dev"; do
    target_ns=${target%%:*}
    target_dev=${target#*:}
    if ! error=$(tc -n "$target_ns" qdisc replace dev "$target_dev" root tbf rate "$rate" burst "$burst" latency 20ms 2>&1); then
      # Not half shaped: the other direction may have taken the rate already.
      tc -n "$ns" qdisc del dev "$host_dev" root 2>/dev/null
      tc -n "$hub" qdisc del dev "$hub_dev" root 2>/dev/null
      die 2 "tc refused rate '$rate' on host $1's cable: $(echo "$error" | head -n 1)"
    fi
  done
}

[[ $# -ge 1 ]] || die 2 "$usage_line"
command=$1
shift
case $command in
  up) cmd_up "$@" ;;
  down) need_tools; [[ $# -eq 0 ]] || die 2 "$usage_line"; cmd_down ;;
  list) need_tools; cmd_list ;;
  addr) [[ $# -eq 1 ]] || die 2 "$usage_line"; need_tools; check_host "$1"; host_addr "$1" ;;
  exec) need_tools; cmd_exec "$@" ;;
  kill) need_tools; cmd_kill "$@" ;;
  link) need_tools; cmd_link "$@" ;;
  shape) need_tools; cmd_shape "$@" ;;
  -h | --help | help) echo "$usage_line" ;;
  *) die 2 "unknown command '$command' ($usage_line)" ;;
esac
