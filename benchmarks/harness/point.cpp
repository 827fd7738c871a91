// Run names from typed points (point.h).
#include "benchmarks/harness/point.h"

#include <stdexcept>

namespace pb::bench {

namespace {

void check_part(const std::string& text, const std::string& what) {
  if (text.empty() || text.find_first_of("/:") != std::string::npos) {
    throw std::invalid_argument("run name " + what + " '" + text + "' must be non-empty without '/' or ':'");
  }
}

}  // namespace

std::string run_name(const std::string& prefix, const std::vector<NamePart>& args) {
  std::string name = prefix;
  for (const auto& [key, value] : args) {
    check_part(key, "key");
    check_part(value, "value");
    name += "/" + key + ":" + value;
  }
  return name;
}

bool is_run_of(const std::string& run_name_of_row, const std::string& registered) {
  if (run_name_of_row.compare(0, registered.size(), registered) != 0) return false;
  if (run_name_of_row.size() == registered.size()) return true;
  // Only Google Benchmark's suffixes may follow; a longer argument list is another point.
  const std::string rest = run_name_of_row.substr(registered.size());
  for (const char* suffix : {"/real_time", "/manual_time", "/process_time", "/iterations:", "/repeats:",
                             "/min_time:", "/min_warmup_time:"}) {
    if (rest.compare(0, std::string(suffix).size(), suffix) == 0) return true;
  }
  return false;
}

}  // namespace pb::bench
