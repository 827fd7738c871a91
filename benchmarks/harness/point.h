// A benchmark point's run name, built from the typed point a family declares: the family's
// struct owns its arguments, and the same struct builds the name, the peer's job and the rows,
// so nothing has to parse a name back into arguments.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace pb::bench {

// One argument of a run name: its key and its value in words or digits ("mode", "persistent").
using NamePart = std::pair<std::string, std::string>;

// "dp_cpu/cnn" + {{"mode", "persistent"}, {"replicas", "2"}} -> "dp_cpu/cnn/mode:persistent/replicas:2".
// Throws std::invalid_argument for a key or value that is empty or holds '/' or ':' (the name
// would no longer read back as key:value segments).
std::string run_name(const std::string& prefix, const std::vector<NamePart>& args);

// Whether a report row's run name belongs to the point registered as `registered`: equal, or
// `registered` followed by Google Benchmark's own suffixes ("/real_time", "/iterations:2", ...).
bool is_run_of(const std::string& run_name, const std::string& registered);

// The point of `points` (anything with a `std::string name() const`) that a report row's
// run name belongs to, or nullptr.
template <typename Point>
const Point* find_point(const std::vector<Point>& points, const std::string& run_name_of_row) {
  for (const Point& p : points) {
    if (is_run_of(run_name_of_row, p.name())) return &p;
  }
  return nullptr;
}

}  // namespace pb::bench
