// The Python peer: runs benchmarks/peer_python/peer.py, with an interpreter that has torch, on the
// points a suite has just measured, and merges its rows (named peer_python/<C++ name>) into the
// suite's report, so that the C++/Python ratio of every workflow and setting comes from one run.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pb::bench {

// The prefix of every peer row's name; the rest is the name of the C++ row it mirrors.
constexpr const char* kPeerPrefix = "peer_python/";

struct PeerSettings {
  std::string python;  // interpreter; "" = $PB_PYTHON, else python3 on PATH, else /usr/bin/python3
  int64_t repetitions = 1;
  double min_time = 0.5;  // seconds per repetition, as --benchmark_min_time
};

// The first candidate interpreter that can `import torch`, or "" with *why set to a one-line reason.
std::string find_python_with_torch(const std::string& requested, std::string* why);

// Thrown when a stop signal (pb::StopSignals: SIGINT, SIGTERM, SIGHUP) arrived while the peer ran:
// the peer has been stopped and its files removed; the caller exits without writing anything.
struct Interrupted {
  int signal;
};

// Runs `job` ({"workflow": ..., "points": [{"name": ..., ...}, ...]}); returns {"context": {...},
// "benchmarks": [rows]}. When no interpreter has torch, every point comes back as a row skipped
// with the reason; when the peer fails or times out, as a row with the peer's error. Throws only
// Interrupted, and only while a pb::StopSignals is alive.
nlohmann::json run_python_peer(nlohmann::json job, const PeerSettings& settings);

// Appends the peer's rows and context to a Google Benchmark report.
void merge_peer_result(nlohmann::json& report, const nlohmann::json& peer_result);

// "dp_cpu/cnn/mode:0/replicas:1/threads:1/real_time" -> {mode: 0, replicas: 1, threads: 1}.
std::map<std::string, int64_t> name_args(const std::string& name);
// The index-th '/'-separated segment of a name ("" when there are fewer).
std::string name_segment(const std::string& name, size_t index);

// The measured runs of a report that a peer job can mirror: iteration rows of the first
// repetition, without errors.
std::vector<const nlohmann::json*> first_repetition_runs(const nlohmann::json& report);

// One C++ benchmark and its Python peer: samples/s of each (medians with repetitions).
struct PeerRatio {
  std::string name;  // the C++ name
  double cpp = 0, python = 0;
  double ratio() const { return cpp / python; }
};
std::vector<PeerRatio> peer_ratios(const nlohmann::json& report);
// The "C++ / Python" table of peer_ratios, for the console summary; nothing when there are none.
void print_peer_ratios(const nlohmann::json& report, std::ostream& out);

}  // namespace pb::bench
