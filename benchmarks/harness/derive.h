// Metrics a family derives from other points (speed-up over a baseline, efficiency, sync
// overhead), computed once the run has finished from its medians: the same whatever
// --benchmark_filter, the repetitions or the order the points ran in. A metric whose baseline did
// not run is not guessed: its rows say why it is missing, and the summary prints that once.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "benchmarks/analysis/report_schema.h"

namespace pb::bench {

// The key of the text a row carries when some of its derived metrics are missing:
// "speedup, efficiency: the baseline dp_cpu/cnn/mode:single/replicas:1/threads:1 did not run".
constexpr const char* kDerivedMissingKey = "derived_missing";

class Derivation {
 public:
  // Reads the C++ rows of `report` (a finished Google Benchmark report); `report` must outlive this.
  explicit Derivation(nlohmann::json* report);

  // The median of `counter` over the repetitions of the point registered as `point`; none when
  // the point did not run (filtered out), failed, was skipped or has no such finite counter.
  std::optional<double> median(const std::string& point, const std::string& counter) const;
  // Writes `counter` = value on the point's rows: its repetitions and its mean and median
  // aggregates (not stddev or cv, which a derived value does not have).
  void set(const std::string& point, const std::string& counter, double value);
  // Records on the point's rows that `metrics` (e.g. "speedup, efficiency") are missing, and why.
  void missing(const std::string& point, const std::string& metrics, const std::string& why);
  // missing() for the usual reason: "<what> <baseline> did not run (not in the sweep, filtered
  // out, skipped or failed)", what being e.g. "its baseline" or "its 1-rank baseline".
  void missing_baseline(const std::string& point, const std::string& metrics, const std::string& what,
                        const std::string& baseline);

 private:
  nlohmann::json* report_;
  std::vector<schema::Benchmark> benchmarks_;
};

}  // namespace pb::bench
