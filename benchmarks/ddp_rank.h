// Family 4's points and its rank program: the suite (ddp_training.cpp) launches one set of ranks
// per device and rank count with a job listing every point of that count; each rank runs them in
// order (ddp_rank.cpp) and rank 0 writes every point's figures back.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/distributed/ddp_step.h"
#include "common/models.h"
#include "common/timer.h"

namespace pb::bench::ddp {

// Steps each rank runs untimed before a training point's clock starts (connections, allocator).
constexpr int64_t kWarmupSteps = 5;
// Dataset sizes: enough distinct samples for every timed step of the largest world.
constexpr int64_t kSmallModelSamples = 8192, kCnnSamples = 1024;
// The environment variables that make a process of bench_ddp a rank: the job's file and the file
// rank 0 writes the figures to, both in the launch's private folder.
constexpr const char* kJobVariable = "PB_RANK_JOB";
constexpr const char* kResultVariable = "PB_RANK_RESULT";

enum class PointKind { kTrain, kAllreduce };

// The link word of ranks that talk over this machine's loopback (no simulated hosts).
constexpr const char* kLoopback = "loopback";

// The phases of a DDP step: the rank program records rank 0's seconds of each over a point
// (phase_seconds), the suite turns them into phase_<name>_s counters.
constexpr pb::Phase kStepPhases[] = {pb::Phase::kLoad, pb::Phase::kForward, pb::Phase::kBackward,
                                     pb::Phase::kAllReduce, pb::Phase::kOptimizer};

// One point of the family, as the suite registers it and a rank runs it. Its name carries what
// tells points apart, sync mode in words: "ddp_cpu/cnn/ranks:2/threads:1/sync:overlapped/
// bucket_kib:4096", "allreduce_gloo/ranks:2/bytes:4096"; steps, batch and iterations follow from
// the settings. A point on a shaped link ends in "/link:1gbit"; loopback adds nothing, so the
// names of loopback runs (every report before the link axis) stay as they were.
struct DdpPoint {
  PointKind kind = PointKind::kTrain;
  std::string device = "cpu";  // cpu (Gloo) or cuda (NCCL, one rank per GPU)
  int64_t ranks = 1;
  int64_t threads = 1;  // intra-op threads per rank
  // kLoopback (ranks on this machine's loopback), or a rate in tc's words ("1gbit"): one rank per
  // simulated host (common/distributed/netns_hosts.sh), each host's cable shaped to that rate.
  std::string link = kLoopback;
  // A training point:
  ModelKind model = ModelKind::kLinear;
  dist::SyncMode sync = dist::SyncMode::kNone;
  int64_t bucket_kib = 0;
  int64_t steps = 0;  // timed steps, after kWarmupSteps
  int64_t batch = 0;  // samples per rank per step
  // An all-reduce point:
  int64_t bytes = 0;
  int64_t iterations = 0;  // timed all-reduces

  std::string name() const;
  // The backend's word in all-reduce names: gloo or nccl.
  std::string backend() const { return device == "cuda" ? "nccl" : "gloo"; }
  int64_t samples() const { return model == ModelKind::kCnn ? kCnnSamples : kSmallModelSamples; }
};

nlohmann::json to_json(const DdpPoint& point);
DdpPoint point_from_json(const nlohmann::json& json);

// What one launch runs: `rounds` times (the --benchmark_repetitions) every point, in order.
struct RankJob {
  std::string device = "cpu";
  int64_t ranks = 1;
  int64_t rounds = 1;
  // On GPUs, wait for the device at every phase boundary (phase counters in GPU time).
  bool phase_sync = false;
  std::vector<DdpPoint> points;
};

nlohmann::json to_json(const RankJob& job);
RankJob job_from_json(const nlohmann::json& json);

// The rank program: reads the job at `job_path`, connects once, warms up, runs every round of
// every point; rank 0 writes {"results": [[figures of round 0, round 1, ...] per point]} to
// `result_path`. Returns the process's exit code; a failed collective exits from inside.
int run_rank_program(const std::string& job_path, const std::string& result_path);

}  // namespace pb::bench::ddp
