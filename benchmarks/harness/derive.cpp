// Derived metrics from a finished run's medians (derive.h).
#include "benchmarks/harness/derive.h"

#include <cmath>

#include "benchmarks/harness/point.h"

namespace pb::bench {

namespace {

// The rows a derived value belongs on: the point's repetitions and its mean and median.
bool takes_derived(const nlohmann::json& row, const std::string& point) {
  if (!row.is_object() || row.value("error_occurred", false)) return false;
  const std::string run = row.value("run_name", row.value("name", std::string()));
  if (!is_run_of(run, point)) return false;
  if (row.value("run_type", std::string("iteration")) != "aggregate") return true;
  const std::string aggregate = row.value("aggregate_name", std::string());
  return aggregate == "mean" || aggregate == "median";
}

}  // namespace

Derivation::Derivation(nlohmann::json* report)
    : report_(report), benchmarks_(schema::read_benchmarks(*report, "")) {}

std::optional<double> Derivation::median(const std::string& point, const std::string& counter) const {
  for (const schema::Benchmark& b : benchmarks_) {
    if (schema::is_peer_name(b.name) || !is_run_of(b.name, point) || !b.error.empty()) continue;
    const auto it = b.counters.find(counter);
    if (it != b.counters.end() && std::isfinite(it->second)) return it->second;
  }
  return std::nullopt;
}

void Derivation::set(const std::string& point, const std::string& counter, double value) {
  for (auto& row : (*report_)["benchmarks"]) {
    if (takes_derived(row, point)) row[counter] = value;
  }
}

void Derivation::missing(const std::string& point, const std::string& metrics, const std::string& why) {
  for (auto& row : (*report_)["benchmarks"]) {
    if (!takes_derived(row, point)) continue;
    std::string text = row.value(kDerivedMissingKey, std::string());
    row[kDerivedMissingKey] = (text.empty() ? "" : text + "; ") + metrics + ": " + why;
  }
}

void Derivation::missing_baseline(const std::string& point, const std::string& metrics, const std::string& what,
                                  const std::string& baseline) {
  missing(point, metrics, what + " " + baseline + " did not run (not in the sweep, filtered out, skipped or failed)");
}

}  // namespace pb::bench
