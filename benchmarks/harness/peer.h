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

#include "benchmarks/analysis/report_schema.h"

namespace pb::bench {

// The prefix of every peer row's name; the rest is the name of the C++ row it mirrors.
using schema::kPeerPrefix;

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

// Reading reports is the report schema's (benchmarks/analysis/report_schema.h): first_repetition_runs
// (the measured runs a peer job can mirror: iteration rows of the first repetition, without
// errors), named here for the suites' peer_job. Suites never parse run names: their typed points
// build them (point.h).
using schema::first_repetition_runs;

// One C++ benchmark and its Python peer: the same metric (samples/s) of each, medians with
// repetitions; the pairing rule is schema::peer_ratios.
using PeerRatio = schema::PeerRatio;
std::vector<PeerRatio> peer_ratios(const nlohmann::json& report);
// The "C++ / Python" table of peer_ratios, for the console summary; nothing when there are none.
void print_peer_ratios(const nlohmann::json& report, std::ostream& out);

}  // namespace pb::bench
