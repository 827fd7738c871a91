// Family 4's rank program: one rendezvous per launch, a warm-up, then every point of the job (the
// training points and the all-reduce sizes of one rank count) in order; rank 0 writes the figures.
#include "benchmarks/ddp_rank.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <optional>

#include "benchmarks/harness/point.h"
#include "common/data.h"
#include "common/device.h"
#include "common/distributed/dist_env.h"
#include "common/distributed/launcher.h"
#include "common/distributed/process_group.h"
#include "common/distributed/shard.h"
#include "common/json_file.h"
#include "common/timer.h"
#include "common/train.h"

namespace pb::bench::ddp {

namespace {

// Collective and rendezvous timeout inside the ranks; the launcher stops the rest after a failure.
constexpr int64_t kTimeoutMs = 120'000;

const char* kind_name(PointKind kind) { return kind == PointKind::kTrain ? "train" : "allreduce"; }

// As nccl-tests: data that depends on the rank and the position (small integers, so every sum is
// exact in float), every element of the result checked on every rank, the count of wrong elements
// summed over ranks, and the time averaged over ranks.
nlohmann::json run_allreduce(const DdpPoint& point, const dist::DistEnv& env, const dist::Group& group,
                             torch::Device device) {
  nlohmann::json result;
  const int64_t count = std::max<int64_t>(1, point.bytes / 4);
  const auto options = torch::TensorOptions().device(device);
  const torch::Tensor index = torch::arange(count, options.dtype(torch::kLong));
  auto contribution = [&](int64_t rank) { return ((index + 7 * rank) % 13 + 1).to(torch::kFloat); };
  std::vector<torch::Tensor> tensors{contribution(env.rank)};
  torch::Tensor expected = torch::zeros({count}, options);
  for (int64_t r = 0; r < env.world_size; ++r) expected += contribution(r);
  group.group->allreduce(tensors)->wait();  // warm-up (buffers of this size) and the correctness check
  std::vector<torch::Tensor> wrong{tensors[0].ne(expected).sum().to(torch::kDouble).reshape({1})};
  group.group->allreduce(wrong)->wait();
  result["wrong"] = static_cast<int64_t>(wrong[0].item<double>());
  group.group->barrier()->wait();
  // The timed all-reduces sum in place, so the values grow (to inf, in the end): harmless, the
  // bytes and the work stay the same, and the check above already ran on the first sum.
  Timer timer(device);
  for (int64_t i = 0; i < point.iterations; ++i) group.group->allreduce(tensors)->wait();
  synchronize(device);
  std::vector<torch::Tensor> seconds{torch::full({1}, timer.seconds(), options.dtype(torch::kDouble))};
  group.group->allreduce(seconds)->wait();
  result["seconds"] = seconds[0].item<double>() / static_cast<double>(env.world_size);
  return result;
}

// `ddp` is the caller's: a failed collective exits from the caller's catch without unwinding
// through the wrapper, which would wait on the collectives again.
nlohmann::json run_training(const DdpPoint& point, bool phase_sync, const dist::DistEnv& env, const dist::Group& group,
                            torch::Device device, std::optional<dist::DistributedDataParallel>& ddp) {
  const int64_t samples = point.samples();
  TensorData data = make_synthetic_split(point.model, samples, 1, 0).train;
  data.inputs = data.inputs.to(device);
  data.targets = data.targets.to(device);
  const dist::ShardPlan plan(samples, point.batch * env.world_size, env.world_size, 0);
  torch::manual_seed(static_cast<uint64_t>(env.rank));  // different on purpose: broadcast fixes it
  torch::nn::AnyModule model = make_model(point.model);
  model.ptr()->to(device);
  std::vector<torch::Tensor> params = model.ptr()->parameters();
  ddp.reset();  // the previous point's wrapper (and its hooks on another model) goes first
  ddp.emplace(params, group.group, dist::ddp_options(point.sync, point.bucket_kib * 1024));
  ddp->broadcast_parameters();
  torch::optim::SGD optimizer(params, source_optimizer_options(point.model));
  double comm_wait = 0, loss_value = 0;
  int64_t global_samples = 0;
  Timer timer(device);
  // Where each step's time goes on this rank: the batch (indices, rows), then the shared step's
  // phases (ddp_step.h). Laps read the clock; on a GPU they wait only with phase_sync.
  PhaseClock clock(device, phase_sync);
  dist::DdpStepOptions step_options{point.model, point.sync, dist::Zeroing::kZeroGrad, &clock};
  for (int64_t step = 0; step < kWarmupSteps + point.steps; ++step) {
    if (step == kWarmupSteps) {  // everyone starts the clock together
      group.group->barrier()->wait();
      timer.restart();
      comm_wait = 0;
      clock = PhaseClock(device, phase_sync);
    }
    const int64_t s = step % plan.steps_per_epoch();
    if (step >= kWarmupSteps) global_samples += plan.global_batch_size(s);
    const std::vector<int64_t> mine = plan.local_indices(step / plan.steps_per_epoch(), s, env.rank);
    torch::Tensor index = torch::tensor(mine, torch::kLong).to(device);
    torch::Tensor input = data.inputs.index_select(0, index);
    torch::Tensor target = data.targets.index_select(0, index);
    clock.lap(Phase::kLoad);
    const dist::DdpStepResult r =
        dist::ddp_step(model, *ddp, optimizer, input, target, plan.global_batch_size(s), step_options);
    comm_wait += r.wait_seconds;
    // The last step's loss (read once: item() waits for the device). A rank without samples in a
    // short last batch has none, and reports the last loss it had.
    if (r.loss.defined() && step + 1 >= kWarmupSteps + point.steps - 1) loss_value = r.loss.item<double>();
  }
  group.group->barrier()->wait();
  const double seconds = timer.seconds();
  // Correctness: with gradients synchronised every rank must hold rank 0's parameters exactly.
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flat{torch::cat([&] {
    std::vector<torch::Tensor> parts;
    for (const auto& p : params) parts.push_back(p.reshape({-1}));
    return parts;
  }())};
  torch::Tensor mine_flat = flat[0].clone();
  group.group->broadcast(flat)->wait();
  std::vector<torch::Tensor> spread{(mine_flat - flat[0]).abs().max().reshape({1})};
  c10d::AllreduceOptions max;
  max.reduceOp = c10d::ReduceOp::MAX;
  group.group->allreduce(spread, max)->wait();
  nlohmann::json result;
  result["seconds"] = seconds;
  result["samples"] = global_samples;
  result["comm_wait_seconds"] = comm_wait;
  if (device.is_cpu() || phase_sync) {
    for (Phase p : kStepPhases) result["phase_seconds"][phase_name(p)] = clock.times()[p];
  }
  // With sync the loss is this rank's share of the global mean: times the ranks, about that mean.
  const bool synced = point.sync != dist::SyncMode::kNone;
  result["final_loss"] = synced ? loss_value * static_cast<double>(env.world_size) : loss_value;
  result["param_spread"] = spread[0].item<double>();
  return result;
}

}  // namespace

std::string DdpPoint::name() const {
  std::vector<NamePart> parts;
  std::string prefix;
  if (kind == PointKind::kAllreduce) {
    prefix = "allreduce_" + backend();
    parts = {{"ranks", std::to_string(ranks)}, {"bytes", std::to_string(bytes)}};
  } else {
    prefix = "ddp_" + device + "/" + model_name(model);
    parts = {{"ranks", std::to_string(ranks)}, {"threads", std::to_string(threads)},
             {"sync", dist::sync_mode_name(sync)}, {"bucket_kib", std::to_string(bucket_kib)}};
  }
  if (link != kLoopback) parts.emplace_back("link", link);
  return run_name(prefix, parts);
}

nlohmann::json to_json(const DdpPoint& p) {
  return {{"kind", kind_name(p.kind)}, {"device", p.device},        {"ranks", p.ranks},
          {"threads", p.threads},      {"model", model_name(p.model)}, {"sync", dist::sync_mode_name(p.sync)},
          {"bucket_kib", p.bucket_kib}, {"steps", p.steps},           {"batch", p.batch},
          {"bytes", p.bytes},          {"iterations", p.iterations}, {"link", p.link}};
}

// The fields of the other kind may be left out, and the link (loopback) too: benchmarks/
// netns_link_rates.sh writes all-reduce points by hand.
DdpPoint point_from_json(const nlohmann::json& j) {
  DdpPoint p;
  p.link = j.value("link", std::string(kLoopback));
  p.kind = j.at("kind") == "allreduce" ? PointKind::kAllreduce : PointKind::kTrain;
  p.device = j.at("device");
  p.ranks = j.at("ranks");
  p.threads = j.at("threads");
  if (p.kind == PointKind::kTrain) {
    p.model = parse_model_kind(j.at("model"));
    p.sync = dist::parse_sync_mode(j.at("sync"));
    p.bucket_kib = j.at("bucket_kib");
    p.steps = j.at("steps");
    p.batch = j.at("batch");
  } else {
    p.bytes = j.at("bytes");
    p.iterations = j.at("iterations");
  }
  return p;
}

nlohmann::json to_json(const RankJob& job) {
  nlohmann::json points = nlohmann::json::array();
  for (const DdpPoint& p : job.points) points.push_back(to_json(p));
  return {{"device", job.device}, {"ranks", job.ranks}, {"rounds", job.rounds}, {"phase_sync", job.phase_sync},
          {"points", points}};
}

RankJob job_from_json(const nlohmann::json& j) {
  RankJob job;
  job.device = j.at("device");
  job.ranks = j.at("ranks");
  job.rounds = j.at("rounds");
  job.phase_sync = j.at("phase_sync");
  for (const nlohmann::json& p : j.at("points")) job.points.push_back(point_from_json(p));
  return job;
}

int run_rank_program(const std::string& job_path, const std::string& result_path) {
  const RankJob job = job_from_json(read_json_file(job_path));
  const dist::DistEnv env = dist::read_dist_env();
  const bool cuda = job.device == "cuda";
  const torch::Device device = cuda ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(env.local_rank))
                                    : torch::Device(torch::kCPU);
  // One rendezvous for every point of this rank count: connecting (a TCP store, the backend's
  // mesh of connections) costs far more than a small point measures, and repeated per point it
  // made the sweep slow while adding nothing to any figure.
  const dist::Group group = dist::connect_or_exit("bench_ddp", env, device, std::chrono::milliseconds(kTimeoutMs));
  nlohmann::json results = nlohmann::json::array();
  // Declared outside the try below: a failed collective (a lost peer, a timeout) exits from its
  // catch without unwinding through the wrapper, which would wait on the collectives again.
  std::optional<dist::DistributedDataParallel> ddp;
  try {
    // Warm-up: the first collectives on a new group set up its connections and buffers.
    std::vector<torch::Tensor> warm{torch::ones({1024}, torch::TensorOptions().device(device))};
    for (int i = 0; i < 3; ++i) group.group->allreduce(warm)->wait();
    group.group->barrier()->wait();
    if (env.rank == 0) {
      std::cout << "connected " << env.world_size << " rank(s) once for " << job.points.size() << " point(s) x "
                << job.rounds << " round(s)" << std::endl;
    }
    for (size_t i = 0; i < job.points.size(); ++i) results.push_back(nlohmann::json::array());
    // Round by round: the repetitions of a point are measured apart, between the other points.
    for (int64_t round = 0; round < job.rounds; ++round) {
      for (size_t i = 0; i < job.points.size(); ++i) {
        const DdpPoint& point = job.points[i];
        torch::set_num_threads(static_cast<int>(point.threads));
        results[i].push_back(point.kind == PointKind::kAllreduce
                                 ? run_allreduce(point, env, group, device)
                                 : run_training(point, job.phase_sync, env, group, device, ddp));
        group.group->barrier()->wait();
      }
    }
  } catch (const std::exception& error) {
    dist::exit_on_collective_failure("bench_ddp", group, error);
  }
  if (env.rank == 0) write_file_atomic(result_path, nlohmann::json{{"results", results}}.dump());
  return 0;
}

}  // namespace pb::bench::ddp
