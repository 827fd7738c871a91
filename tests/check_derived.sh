#!/usr/bin/env bash
# Derived metrics come from the finished run's medians (benchmarks/harness/derive.h): whatever the
# order the points ran in (random interleaving, repetitions) every point has its speed-up and
# efficiency, equal to its median rate over its baseline's median rate; a filter that drops the
# baseline leaves them out and says why, on the row and once in the summary.
#   check_derived.sh <bench_data_parallel> <work dir>
set -euo pipefail
bench=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
"$bench" --quick --no-peer --models mlp --benchmark_repetitions=3 --benchmark_enable_random_interleaving=true \
  --out "$work/shuffled.json" >"$work/shuffled.log" 2>&1 || { cat "$work/shuffled.log"; exit 1; }
"$bench" --quick --no-peer --models mlp --benchmark_filter=mode:persistent \
  --out "$work/filtered.json" >"$work/filtered.log" 2>&1 || { cat "$work/filtered.log"; exit 1; }
grep -q "^Not derived:" "$work/filtered.log" || { echo "FAIL: the filtered run's summary does not say what was not derived"; exit 1; }
grep -q "speedup, efficiency: its baseline dp_cpu/mlp/mode:single/replicas:1/threads:1 did not run" "$work/filtered.log" ||
  { echo "FAIL: the filtered run does not name the missing baseline"; exit 1; }
python3 - "$work/shuffled.json" "$work/filtered.json" <<'PY'
import json, statistics, sys
shuffled, filtered = (json.load(open(p))["benchmarks"] for p in sys.argv[1:3])
def measured(rows):
    return [r for r in rows if r.get("run_type") == "iteration" and not r.get("error_occurred")]
rates = {}
for r in measured(shuffled):
    rates.setdefault(r["run_name"], []).append(r["samples_per_s"])
base = next(n for n in rates if "/mode:single/replicas:1/threads:1/" in n)
base_rate = statistics.median(rates[base])
checked = 0
for r in measured(shuffled):
    name = r["run_name"]
    assert "speedup" in r and "efficiency" in r, "no speed-up on " + name
    want = statistics.median(rates[name]) / base_rate
    assert abs(r["speedup"] - want) <= 1e-9 * want, "%s: speedup %g, medians give %g" % (name, r["speedup"], want)
    checked += 1
assert measured(filtered), "the filtered run measured nothing"
for r in measured(filtered):
    assert "speedup" not in r, "a speed-up without its baseline on " + r["run_name"]
    assert "did not run" in r.get("derived_missing", ""), "no reason on " + r["run_name"]
print("derived from medians on %d rows in shuffled order; %d filtered rows say why they have none"
      % (checked, len(measured(filtered))))
PY
