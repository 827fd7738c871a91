# Family 4's link axis (bench_ddp --links): a quick run over a shaped link whose summary has the
# link's rows and an overlap_hidden value, a rate the kernel refuses (one line, exit 2), and shaped
# points skipped with the reason where namespaces cannot be made (not root). As the multihost
# cases: "skipped: <reason>" and exit 77 where this machine cannot make network namespaces.
#
# The checks are one bash script, run once per case (the first argument), written into the build
# folder at configure time: passed inline, its semicolons would split the test's command.
set(LINKS_CHECK [=[
set -u
mode=$1
bench=$2
skip() {
  echo "skipped: $*"
  exit 77
}
fail() {
  echo "FAIL: $*"
  exit 1
}
need_namespaces() {
  [[ $(id -u) -eq 0 ]] || skip "shaped links need root (network namespaces), running as uid $(id -u)"
  command -v ip >/dev/null || skip "iproute2's ip is not installed"
  probe=pblinkprobe$$
  ip netns add "$probe" 2>/dev/null || skip "cannot make network namespaces here"
  ip netns del "$probe"
}
# The summary's overlap_hidden cell of the first row whose name starts with $1 ("-": none).
overlap_hidden() {
  awk -F'  +' -v row="$1" '
    $1 == "benchmark" { for (i = 1; i <= NF; ++i) if ($i == "overlap_hidden") column = i }
    column && index($1, row) == 1 { print $column
      exit }' "$log"
}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
sweep=(--quick --no-peer --models mlp --ranks 1,2 --threads 1 --batch-per-rank 8 --allreduce-bytes 4096,65536)
if [[ $mode == shaped ]]; then
  need_namespaces
  "$bench" --links loopback,1gbit "${sweep[@]}" >"$log" 2>&1 &
  pid=$!
  wait "$pid"
  rc=$?
  cat "$log"
  [[ $rc -eq 0 ]] || fail "bench_ddp exited with $rc"
  ip netns list | grep -q "^pbddp$pid[_]" && fail "the run left its simulated hosts behind: $(ip netns list | grep "^pbddp$pid[_]" | tr '\n' ' ')"
  for row in ddp_cpu/mlp/ranks:2/threads:1/sync:none/bucket_kib:25600/link:1gbit/ \
             ddp_cpu/mlp/ranks:2/threads:1/sync:after_backward/bucket_kib:25600/link:1gbit/ \
             allreduce_gloo/ranks:2/bytes:65536/link:1gbit/; do
    sed -n '/^== Summary/,$p' "$log" | grep -q "^$row" || fail "no summary row $row"
  done
  # Sync after backward costs a 1 Gbit/s all-reduce per step that no sync does not: there is
  # something to hide, so the overlapped point has a value.
  value=$(overlap_hidden ddp_cpu/mlp/ranks:2/threads:1/sync:overlapped/bucket_kib:4096/link:1gbit/)
  echo "overlap_hidden on link 1gbit: $value"
  [[ $value =~ ^-?[0-9]+(\.[0-9]+)?(e-?[0-9]+)?[kMG]?$ ]] || fail "expected an overlap_hidden value on the 1gbit row, got '$value'"
  value=$(overlap_hidden ddp_cpu/mlp/ranks:2/threads:1/sync:overlapped/bucket_kib:4096/iterations)
  [[ $value =~ ^-?[0-9] ]] || [[ $value == - ]] || fail "no overlap_hidden cell on the loopback row, got '$value'"
elif [[ $mode == bad_rate ]]; then
  need_namespaces
  "$bench" --links loopback,100tbit "${sweep[@]}" >"$log" 2>&1
  rc=$?
  cat "$log"
  [[ $rc -eq 2 ]] || fail "exit $rc, expected 2"
  [[ $(wc -l <"$log") -eq 1 ]] || fail "expected one line"
  grep -Eq "^bench_ddp: error: --links: tc refused rate '100tbit' on host 0's cable: .+" "$log" || fail "not the refusal line"
  ip netns list | grep -q "^pbrt[0-9]" && fail "the rate probe left namespaces behind"
elif [[ $mode == no_root ]]; then
  runner=()
  if [[ $(id -u) -eq 0 ]]; then
    command -v setpriv >/dev/null || skip "util-linux's setpriv is not installed"
    runner=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  fi
  "${runner[@]}" "$bench" --links loopback,1gbit "${sweep[@]}" >"$log" 2>&1
  rc=$?
  cat "$log"
  [[ $rc -eq 0 ]] || fail "exit $rc, expected 0 (loopback points ran)"
  grep -Eq "^  [0-9]+ benchmarks \(ddp_cpu/[*], allreduce_gloo/[*]\): skipped: a shaped link needs root \(network namespaces for its simulated hosts\), running as uid [1-9][0-9]*$" "$log" ||
    fail "no skip line with the reason"
  sed -n '/^== Summary/,$p' "$log" | grep -q "^ddp_cpu/mlp/ranks:2/threads:1/sync:overlapped/bucket_kib:25600/iterations" || fail "the loopback rows did not run"
else
  fail "unknown case $mode"
fi
exit 0
]=])
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/links_check.sh "${LINKS_CHECK}")
foreach(case IN ITEMS shaped bad_rate no_root)
  add_test(NAME links_${case} COMMAND bash ${CMAKE_CURRENT_BINARY_DIR}/links_check.sh ${case} $<TARGET_FILE:bench_ddp>)
  set_tests_properties(links_${case} PROPERTIES LABELS "smoke" TIMEOUT 120 SKIP_RETURN_CODE 77 RESOURCE_LOCK cpu_heavy)
endforeach()

# A link word that is neither loopback nor a rate: one line, exit 2, before any point (no root needed).
pb_smoke_test(links_bad_word COMMAND $<TARGET_FILE:bench_ddp> --links loopback,fast --quick --no-peer RC 2
  EXPECT "^bench_ddp: error: --links: expected loopback or a rate such as 1gbit, 500mbit or 10gbit, got 'fast'\n$")

# pb_scaling_model per link, on the committed link report: each shaped link gets its own sweep fit
# (1 Gbit/s: about 0.12 GB/s, the rate less framing) and check table, then a summary per link: the
# three stable 1 Gbit/s points within 15% (fc1's bucket, ready early in backward, hides its all-reduce).
pb_smoke_test(links_scaling_model_per_link
  COMMAND $<TARGET_FILE:pb_scaling_model> ${PROJECT_SOURCE_DIR}/results/cpu-2core-debian/ddp_links.json --models cnn
          --ranks 8 --link-gbit 10
  EXPECT "\n== Link 1gbit: all-reduce fit over allreduce_gloo/ranks:P/bytes:B/link:1gbit ==\nranks +sizes +a +alpha +B +R\\^2\n2 +4 +[0-9.]+ us +[0-9.]+ us +0\\.1[12][0-9]* GB/s +0\\.9"
         "\n== Link 1gbit: measured against the model: step time ==\n"
         "\ncnn +2 +1 +after backward +25600 +[0-9.]+ ms +[0-9.]+ ms +[-+][0-9.]+% +[0-9.]+ ms +[-+][0-9.]+% +sweep ranks:2 +"
         "\n== Link 10gbit: all-reduce fit"
         "\nlink +B \\(2-rank fit\\) +alpha +points +counted +within +largest counted error\nloopback +[0-9.]+ GB/s .*\n1gbit +0\\.1[12][0-9]* GB/s +[0-9.]+ us +9 +3 +3 .*\n10gbit ")
