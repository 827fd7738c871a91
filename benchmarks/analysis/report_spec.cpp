// ReportSpec as JSON: every field by name; lists and flags may be left out (their defaults), a
// family may not (a spec that names no family describes nothing).
#include "benchmarks/analysis/report_spec.h"

#include <stdexcept>

namespace pb::schema {
namespace {

// Reads `key` into `field` when present; a present field of the wrong type throws.
template <typename T>
void optional_field(const nlohmann::json& j, const char* key, T& field) {
  if (j.contains(key)) j.at(key).get_to(field);
}

}  // namespace

void to_json(nlohmann::json& j, const ChartSpec& s) {
  nlohmann::json fixed = nlohmann::json::object();
  for (const auto& [key, value] : s.fixed) fixed[key] = value;
  j = {{"family", s.family}, {"x", s.x},         {"x_label", s.x_label},         {"split", s.split},
       {"series", s.series}, {"fixed", fixed}, {"ideal_scaling", s.ideal_scaling}, {"log_x", s.log_x}};
}
void from_json(const nlohmann::json& j, ChartSpec& s) {
  j.at("family").get_to(s.family);
  j.at("x").get_to(s.x);
  optional_field(j, "x_label", s.x_label);
  optional_field(j, "split", s.split);
  optional_field(j, "series", s.series);
  s.fixed.clear();
  // An object keeps its keys sorted, not in the order declared: the order does not matter (all must match).
  if (j.contains("fixed")) {
    for (const auto& [key, value] : j.at("fixed").items()) s.fixed.emplace_back(key, value.get<int64_t>());
  }
  optional_field(j, "ideal_scaling", s.ideal_scaling);
  optional_field(j, "log_x", s.log_x);
}

void to_json(nlohmann::json& j, const PhaseChartSpec& s) { j = {{"family", s.family}, {"split", s.split}, {"per", s.per}}; }
void from_json(const nlohmann::json& j, PhaseChartSpec& s) {
  j.at("family").get_to(s.family);
  optional_field(j, "split", s.split);
  j.at("per").get_to(s.per);
}

void to_json(nlohmann::json& j, const RowMatch& s) { j = {{"is", s.is}, {"above", s.above}}; }
void from_json(const nlohmann::json& j, RowMatch& s) {
  optional_field(j, "is", s.is);
  optional_field(j, "above", s.above);
}

void to_json(nlohmann::json& j, const GroupBy& s) { j = {{"key", s.key}, {"heading", s.heading}}; }
void from_json(const nlohmann::json& j, GroupBy& s) {
  j.at("key").get_to(s.key);
  optional_field(j, "heading", s.heading);
}

void to_json(nlohmann::json& j, const BestSpec& s) {
  j = {{"family", s.family},
       {"group_by", s.group_by},
       {"baseline", s.baseline},
       {"not_candidates", s.not_candidates},
       {"peak", s.peak}};
}
void from_json(const nlohmann::json& j, BestSpec& s) {
  j.at("family").get_to(s.family);
  optional_field(j, "group_by", s.group_by);
  optional_field(j, "baseline", s.baseline);
  optional_field(j, "not_candidates", s.not_candidates);
  optional_field(j, "peak", s.peak);
}

void to_json(nlohmann::json& j, const RatioSpec& s) {
  j = {{"family", s.family}, {"title", s.title}, {"text", s.text}, {"row_column", s.row_column},
       {"against_column", s.against_column}, {"row", s.row}, {"against", s.against}, {"same", s.same}};
}
void from_json(const nlohmann::json& j, RatioSpec& s) {
  j.at("family").get_to(s.family);
  optional_field(j, "title", s.title);
  optional_field(j, "text", s.text);
  optional_field(j, "row_column", s.row_column);
  optional_field(j, "against_column", s.against_column);
  optional_field(j, "row", s.row);
  optional_field(j, "against", s.against);
  optional_field(j, "same", s.same);
}

void to_json(nlohmann::json& j, const ReportSpec& s) {
  j = {{"charts", s.charts}, {"phase_charts", s.phase_charts}, {"best", s.best}, {"ratios", s.ratios}, {"derived", s.derived}};
}
void from_json(const nlohmann::json& j, ReportSpec& s) {
  if (!j.is_object()) throw std::invalid_argument("it is not a JSON object");
  optional_field(j, "charts", s.charts);
  optional_field(j, "phase_charts", s.phase_charts);
  optional_field(j, "best", s.best);
  optional_field(j, "ratios", s.ratios);
  optional_field(j, "derived", s.derived);
}

}  // namespace pb::schema
