// What a benchmark family declares about its report (charts, the baseline of its best settings,
// rows that are no way to train, comparison tables, derived metrics), as JSON-serialisable data:
// the family fills it next to its point struct, the harness writes it into the report's context
// (kReportSpecKey), and pb_report reads it from there, so the analysis holds no family's names.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace pb::schema {

// The context key of the spec in a report: a JSON object (to_json of a ReportSpec).
constexpr const char* kReportSpecKey = "pb_report_spec";

// A line chart: `x` is the argument on the x axis; one chart per model and per value of the
// `split` settings; one series per value combination of the `series` settings; only runs whose
// `fixed` arguments have the given values take part.
struct ChartSpec {
  std::string family;
  std::string x, x_label;
  std::vector<std::string> split, series;
  std::vector<std::pair<std::string, int64_t>> fixed;
  bool ideal_scaling = true;  // draw baseline * x / x0 as a dashed reference
  bool log_x = false;         // sizes spanning decades
};

// Where the time goes: for rows carrying phase_<name>_s counters (seconds per iteration), one
// stacked-bar chart per model and per value of the `split` settings, one bar per setting.
struct PhaseChartSpec {
  std::string family;
  std::vector<std::string> split;
  std::string per;  // what one iteration is: "epoch" or "step"
};

// Rows whose settings have all these values ("sync" is "none") and whose integer settings are all
// above these bounds ("ranks" above 1).
struct RowMatch {
  std::map<std::string, std::string> is;
  std::map<std::string, int64_t> above;
};

// A setting that is a condition of the run, not a choice (a loading cost, a device): one best line
// per value, named in the line's heading by `heading` with "{}" replaced by the value
// (", {} µs loading per sample", " on {}").
struct GroupBy {
  std::string key, heading;
};

// How a family's best settings are found: per model (and group_by values), the row with the best
// headline figure, against the baseline row of the same group.
struct BestSpec {
  std::string family;
  std::vector<GroupBy> group_by;
  // The baseline's settings ({"workers": "0", "threads": "1"}); a value of kSmallest means the
  // smallest value of that argument in the group. Empty: no baseline, no ratio.
  std::map<std::string, std::string> baseline;
  std::vector<RowMatch> not_candidates;  // rows that are not a way to train (never "best")
  // Non-empty for a sweep over this argument (bytes): the line gives the peak and where it is.
  std::string peak;
};
constexpr const char* kSmallest = "smallest";

// A table comparing rows with rows of the same model in the same report: each row matching `row`
// against the first one matching `against` with the same values of the `same` settings.
struct RatioSpec {
  std::string family;
  std::string title, text;          // the Markdown section's heading and its one paragraph
  std::string row_column, against_column;  // column names ("cuda", "cpu")
  std::map<std::string, std::string> row, against;
  std::vector<std::string> same;
};

struct ReportSpec {
  std::vector<ChartSpec> charts;
  std::vector<PhaseChartSpec> phase_charts;
  std::vector<BestSpec> best;
  std::vector<RatioSpec> ratios;
  std::vector<std::string> derived;  // counters the family's derive step sets (speedup, ...)
};

// JSON, field by field ("fixed" as an object {"threads": 1}); from_json throws
// nlohmann::json::exception for a missing or mistyped field, std::invalid_argument for a spec
// that is not an object.
void to_json(nlohmann::json& j, const ChartSpec& s);
void from_json(const nlohmann::json& j, ChartSpec& s);
void to_json(nlohmann::json& j, const PhaseChartSpec& s);
void from_json(const nlohmann::json& j, PhaseChartSpec& s);
void to_json(nlohmann::json& j, const RowMatch& s);
void from_json(const nlohmann::json& j, RowMatch& s);
void to_json(nlohmann::json& j, const GroupBy& s);
void from_json(const nlohmann::json& j, GroupBy& s);
void to_json(nlohmann::json& j, const BestSpec& s);
void from_json(const nlohmann::json& j, BestSpec& s);
void to_json(nlohmann::json& j, const RatioSpec& s);
void from_json(const nlohmann::json& j, RatioSpec& s);
void to_json(nlohmann::json& j, const ReportSpec& s);
void from_json(const nlohmann::json& j, ReportSpec& s);

}  // namespace pb::schema
