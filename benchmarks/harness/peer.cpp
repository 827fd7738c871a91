// Running the Python peer program and pairing its rows with the C++ rows they mirror.
#include "benchmarks/harness/peer.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include "benchmarks/harness/summary.h"
#include "common/json_file.h"
#include "common/process.h"

#ifndef PB_PEER_SCRIPT
#error "PB_PEER_SCRIPT must name benchmarks/peer_python/peer.py (set by benchmarks/CMakeLists.txt)"
#endif

namespace pb::bench {
namespace {

// The longest a peer job may run: the main job's longest family takes ~5 minutes in Python.
constexpr int kPeerTimeoutSeconds = 3600;
// `import torch` takes 1-3 s; a stuck interpreter (a hung network file system) must not hang the run.
constexpr double kImportTimeoutSeconds = 120;

// Runs a command in its own process group (not through a shell, whose system() would ignore
// SIGINT); returns its exit code. A stop signal received meanwhile stops it and throws
// Interrupted, so that nothing is written after an interrupt.
int run_command(const std::vector<std::string>& argv, const std::string& stderr_path, double timeout_s,
                bool* timed_out = nullptr) {
  ChildResult result;
  try {
    result = run_child(argv, "", stderr_path, timeout_s);
  } catch (const std::runtime_error&) {
    return -1;
  }
  if (result.stop_signal != 0) throw Interrupted{result.stop_signal};
  if (timed_out != nullptr) *timed_out = result.timed_out;
  return result.exit_code;
}


std::string last_line_of(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

// A row for a point the peer did not measure, in the shape Google Benchmark gives a skip.
nlohmann::json unmeasured_row(const nlohmann::json& point, int64_t repetitions, const std::string& message) {
  const std::string name = kPeerPrefix + point.value("name", std::string("?"));
  return {{"name", name},           {"run_name", name},     {"run_type", "iteration"},
          {"repetitions", repetitions}, {"repetition_index", 0}, {"threads", 1},
          {"iterations", 0},        {"real_time", 0},       {"cpu_time", 0},
          {"time_unit", "ms"},      {"error_occurred", true}, {"error_message", message}};
}

nlohmann::json unmeasured(const nlohmann::json& job, const std::string& message) {
  nlohmann::json result = {{"context", nlohmann::json::object()}, {"benchmarks", nlohmann::json::array()}};
  for (const auto& point : job["points"]) {
    result["benchmarks"].push_back(unmeasured_row(point, job.value("repetitions", int64_t{1}), message));
  }
  return result;
}

}  // namespace

std::string find_python_with_torch(const std::string& requested, std::string* why) {
  std::vector<std::string> candidates;
  if (!requested.empty()) {
    candidates.push_back(requested);
  } else if (const char* env = std::getenv("PB_PYTHON"); env != nullptr && *env != '\0') {
    candidates.push_back(env);
  } else {
    // The interpreter whose torch the build found (a venv's: the same torch as the C++ side),
    // then PATH (a venv), then Debian's python3-torch.
    if (*PB_PEER_PYTHON != '\0') candidates.push_back(PB_PEER_PYTHON);
    for (const char* python : {"python3", "/usr/bin/python3"}) candidates.emplace_back(python);
  }
  std::string tried;
  for (const std::string& python : candidates) {
    if (run_command({python, "-c", "import torch"}, "/dev/null", kImportTimeoutSeconds) == 0) return python;
    tried += (tried.empty() ? "" : ", ") + python;
  }
  *why = "no Python with torch found (tried " + tried + "; install python3-torch or set PB_PYTHON)";
  return "";
}

nlohmann::json run_python_peer(nlohmann::json job, const PeerSettings& settings) {
  job["repetitions"] = settings.repetitions;
  job["min_time"] = settings.min_time;
  std::string why;
  const std::string python = find_python_with_torch(settings.python, &why);
  if (python.empty()) return unmeasured(job, "skipped: " + why);

  // A private directory (mkdtemp: unique, mode 0700) for the job, the result and the peer's errors.
  // Removed however run_python_peer ends, an interrupt included.
  std::optional<TempDir> temp;
  try {
    temp.emplace("pb_peer_");
  } catch (const std::runtime_error&) {
    return unmeasured(job, "python peer: cannot create a temporary directory");
  }
  const std::string& dir = temp->path();
  const std::string job_path = dir + "/job.json", out_path = dir + "/out.json", err_path = dir + "/err.txt";
  nlohmann::json result;
  try {
    write_file_atomic(job_path, job.dump(2));
    // A peer that hangs must not hold the suite's results hostage: it is stopped after the limit.
    bool timed_out = false;
    const int rc = run_command({python, PB_PEER_SCRIPT, job_path, out_path}, err_path, kPeerTimeoutSeconds, &timed_out);
    if (timed_out) {
      result = unmeasured(job, "python peer timed out after " + std::to_string(kPeerTimeoutSeconds) + " s");
    } else if (rc != 0) {
      // Its whole error output for the reader, its last line for the report.
      std::cerr << std::ifstream(err_path).rdbuf();
      const std::string line = last_line_of(err_path);
      result = unmeasured(job, "python peer failed (exit " + std::to_string(rc) + ")" + (line.empty() ? "" : ": " + line));
    } else {
      result = read_json_file(out_path);
      if (!result.is_object() || !result.contains("benchmarks") || !result["benchmarks"].is_array()) {
        result = unmeasured(job, "python peer wrote no \"benchmarks\" list");
      }
    }
  } catch (const Interrupted&) {
    throw;
  } catch (const std::exception& error) {
    result = unmeasured(job, std::string("python peer: ") + error.what());
  }
  if (!result.contains("context") || !result["context"].is_object()) result["context"] = nlohmann::json::object();
  result["context"]["peer_python"] = python;
  return result;
}

void merge_peer_result(nlohmann::json& report, const nlohmann::json& peer_result) {
  for (const auto& row : peer_result["benchmarks"]) report["benchmarks"].push_back(row);
  if (peer_result.contains("context") && peer_result["context"].is_object()) {
    for (const auto& [key, value] : peer_result["context"].items()) report["context"][key] = value;
  }
}

std::vector<PeerRatio> peer_ratios(const nlohmann::json& report) {
  return schema::peer_ratios(schema::read_benchmarks(report, ""));
}

void print_peer_ratios(const nlohmann::json& report, std::ostream& out) {
  const std::vector<PeerRatio> ratios = peer_ratios(report);
  if (ratios.empty()) return;
  size_t width = 9;
  for (const PeerRatio& r : ratios) width = std::max(width, r.name.size());
  out << "\n== C++ / Python peer (samples/s, same work, same libtorch) ==\n"
      << std::left << std::setw(static_cast<int>(width)) << "benchmark" << std::right << "  " << std::setw(12) << "C++"
      << "  " << std::setw(12) << "Python" << "  " << std::setw(10) << "C++/Python" << "\n";
  for (const PeerRatio& r : ratios) {
    std::ostringstream ratio;
    ratio << std::fixed << std::setprecision(2) << r.ratio() << "x";
    out << std::left << std::setw(static_cast<int>(width)) << r.name << std::right << "  " << std::setw(12)
        << format_value(r.cpp) << "  " << std::setw(12) << format_value(r.python) << "  " << std::setw(10) << ratio.str()
        << "\n";
  }
}

}  // namespace pb::bench
