// Benchmark family 4: distributed data parallel on c10d. Training throughput of the three source
// models over ranks x threads per rank x gradient sync (none / after backward / overlapped) x
// bucket size, and all-reduce bandwidth over message sizes, per backend (Gloo on CPU, NCCL on GPU).
// Each point launches its ranks as processes of this binary (PB_RANK_JOB in their environment);
// rank 0 times them and hands the figures back in a file.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <thread>

#include "benchmarks/harness/harness.h"
#include "common/data.h"
#include "common/device.h"
#include "common/distributed/ddp.h"
#include "common/distributed/launcher.h"
#include "common/process.h"
#include "common/distributed/shard.h"
#include "common/json_file.h"
#include "common/timer.h"
#include "common/train.h"

namespace {

// Samples per rank per step, the default of --batch-per-rank (weak scaling, as DDP is used): four
// times the source 002's batch of 32.
constexpr int64_t kBatchPerRank = 128;
// Dataset sizes: enough distinct samples for every timed step of the largest world.
constexpr int64_t kSmallModelSamples = 8192, kCnnSamples = 1024;
// Timed steps after kWarmupSteps: about a second per point on one core.
constexpr int64_t kWarmupSteps = 5;
constexpr int64_t kSmallModelSteps = 500, kCnnSteps = 20;
// Collective and rendezvous timeout inside the ranks; the launcher stops the rest after a failure.
constexpr int64_t kTimeoutMs = 120'000;

enum Sync : int64_t { kNoSync = 0, kAfterBackward = 1, kOverlapped = 2 };

struct Settings {
  std::vector<std::string> models{"linear", "mlp", "cnn"};
  std::vector<std::string> devices{"cpu", "cuda"};
  std::vector<int64_t> ranks{1, 2, 4};
  std::vector<int64_t> threads{1, 2};  // > 1 only where ranks x threads fit in the cores
  std::vector<int64_t> bucket_kib{25 * 1024, 4 * 1024};
  std::vector<int64_t> allreduce_bytes{8, 64, 512, 4096, 32768, 262144, 2097152, 16777216, 134217728, 268435456};
  int64_t small_steps = kSmallModelSteps, cnn_steps = kCnnSteps;
  int64_t batch = kBatchPerRank;
  bool ranks_given = false;  // --ranks on the command line: use it on GPUs too
  // On GPUs, wait for the device at every phase boundary so that the phase counters are GPU time
  // (which slows the step); without it cuda rows carry no phase counters. CPU ranks never wait.
  bool phase_sync = false;
};

// The phases of a DDP step, recorded per point as phase_<name>_s: rank 0's seconds per step.
constexpr pb::Phase kStepPhases[] = {pb::Phase::kLoad, pb::Phase::kForward, pb::Phase::kBackward,
                                     pb::Phase::kAllReduce, pb::Phase::kOptimizer};

Settings& settings() {
  static Settings s;
  return s;
}

// ---- inside a rank ------------------------------------------------------------------------------

// Runs the job described by PB_RANK_JOB; rank 0 writes its figures to PB_RANK_RESULT.
int run_rank_job(const nlohmann::json& job, const std::string& result_path) {
  const pb::dist::DistEnv env = pb::dist::read_dist_env();
  const bool cuda = job["device"] == "cuda";
  const torch::Device device = cuda ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(env.local_rank))
                                    : torch::Device(torch::kCPU);
  torch::set_num_threads(job["threads"].get<int>());
  const pb::dist::Group group =
      pb::dist::connect_or_exit("bench_ddp", env, device, std::chrono::milliseconds(kTimeoutMs));
  nlohmann::json result;
  // Declared outside the try below: a failed collective (a lost peer, a timeout) exits from its
  // catch without unwinding through the wrapper, which would wait on the collectives again.
  std::optional<pb::dist::DistributedDataParallel> ddp;
  try {
    if (job["kind"] == "allreduce") {
      const int64_t bytes = job["bytes"];
      const int64_t iterations = job["iterations"];
      // As nccl-tests: data that depends on the rank and the position (small integers, so every
      // sum is exact in float), every element of the result checked on every rank, the count of
      // wrong elements summed over ranks, and the time averaged over ranks.
      const int64_t count = std::max<int64_t>(1, bytes / 4);
      const auto options = torch::TensorOptions().device(device);
      const torch::Tensor index = torch::arange(count, options.dtype(torch::kLong));
      auto contribution = [&](int64_t rank) { return ((index + 7 * rank) % 13 + 1).to(torch::kFloat); };
      std::vector<torch::Tensor> tensors{contribution(env.rank)};
      torch::Tensor expected = torch::zeros({count}, options);
      for (int64_t r = 0; r < env.world_size; ++r) expected += contribution(r);
      group.group->allreduce(tensors)->wait();  // warm-up (connections, buffers) and the correctness check
      std::vector<torch::Tensor> wrong{tensors[0].ne(expected).sum().to(torch::kDouble).reshape({1})};
      group.group->allreduce(wrong)->wait();
      result["wrong"] = static_cast<int64_t>(wrong[0].item<double>());
      group.group->barrier()->wait();
      pb::Timer timer(device);
      for (int64_t i = 0; i < iterations; ++i) group.group->allreduce(tensors)->wait();
      pb::synchronize(device);
      // (the values grow from here on: same bytes, same work)
      std::vector<torch::Tensor> seconds{torch::full({1}, timer.seconds(), options.dtype(torch::kDouble))};
      group.group->allreduce(seconds)->wait();
      result["seconds"] = seconds[0].item<double>() / static_cast<double>(env.world_size);
    } else {
      const pb::ModelKind kind = pb::parse_model_kind(job["model"]);
      const int64_t steps = job["steps"], sync = job["sync"], batch = job["batch"];
      const int64_t samples = kind == pb::ModelKind::kCnn ? kCnnSamples : kSmallModelSamples;
      pb::TensorData data = pb::make_synthetic_split(kind, samples, 1, 0).train;
      data.inputs = data.inputs.to(device);
      data.targets = data.targets.to(device);
      const pb::dist::ShardPlan plan(samples, batch * env.world_size, env.world_size, 0);
      torch::manual_seed(static_cast<uint64_t>(env.rank));  // different on purpose: broadcast fixes it
      torch::nn::AnyModule model = pb::make_model(kind);
      model.ptr()->to(device);
      std::vector<torch::Tensor> params = model.ptr()->parameters();
      ddp.emplace(params, group.group, pb::dist::DdpOptions{job["bucket_bytes"].get<int64_t>(), sync == kOverlapped});
      ddp->broadcast_parameters();
      torch::optim::SGD optimizer(params, pb::source_optimizer_options(kind));
      double comm_wait = 0, loss_value = 0;
      int64_t global_samples = 0;
      pb::Timer timer(device);
      // Where each step's time goes on this rank: the batch (indices, rows), forward with the
      // loss, backward (which launches the overlapped buckets), the wait for the all-reduce, the
      // optimizer (zero_grad, step). Laps read the clock; on a GPU they wait only with phase_sync.
      const bool phase_sync = job.value("phase_sync", false);
      pb::PhaseClock clock(device, phase_sync);
      for (int64_t step = 0; step < kWarmupSteps + steps; ++step) {
        if (step == kWarmupSteps) {  // everyone starts the clock together
          group.group->barrier()->wait();
          timer.restart();
          comm_wait = 0;
          clock = pb::PhaseClock(device, phase_sync);
        }
        const int64_t s = step % plan.steps_per_epoch();
        if (step >= kWarmupSteps) global_samples += plan.global_batch_size(s);
        const std::vector<int64_t> mine = plan.local_indices(step / plan.steps_per_epoch(), s, env.rank);
        torch::Tensor index = torch::tensor(mine, torch::kLong).to(device);
        torch::Tensor input = data.inputs.index_select(0, index);
        torch::Tensor target = data.targets.index_select(0, index);
        clock.lap(pb::Phase::kLoad);
        optimizer.zero_grad();
        clock.lap(pb::Phase::kOptimizer);
        torch::Tensor output = model.forward(input);
        torch::Tensor loss = sync == kNoSync ? pb::compute_loss(kind, output, target)
                                             : pb::dist::scaled_loss(kind, output, target, plan.global_batch_size(s));
        clock.lap(pb::Phase::kForward);
        loss.backward();
        clock.lap(pb::Phase::kBackward);
        if (sync != kNoSync) {
          ddp->finish_gradient_sync();
          comm_wait += ddp->last_wait_seconds();
          clock.lap(pb::Phase::kAllReduce);
        }
        optimizer.step();
        if (step + 1 == kWarmupSteps + steps) loss_value = loss.item<double>();
        clock.lap(pb::Phase::kOptimizer);
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
      result["seconds"] = seconds;
      result["samples"] = global_samples;
      result["comm_wait_seconds"] = comm_wait;
      if (device.is_cpu() || phase_sync) {
        for (pb::Phase p : kStepPhases) result["phase_seconds"][pb::phase_name(p)] = clock.times()[p];
      }
      result["final_loss"] = sync == kNoSync ? loss_value : loss_value * static_cast<double>(env.world_size);
      result["param_spread"] = spread[0].item<double>();
    }
    group.group->barrier()->wait();
  } catch (const std::exception& error) {
    pb::dist::exit_on_collective_failure("bench_ddp", group, error);
  }
  if (env.rank == 0) pb::write_file_atomic(result_path, result.dump());
  return 0;
}

// ---- in the harness process ---------------------------------------------------------------------

// Launches `ranks` processes for `job` and returns rank 0's figures, or "" with the reason.
std::string launch(nlohmann::json job, int64_t ranks, nlohmann::json* result) {
  // Rank 0's figures come back through a private folder (mkdtemp: unique, mode 0700), as the
  // peer's do: a predictable /tmp name could be raced or left behind by another run.
  std::optional<pb::TempDir> dir;
  try {
    dir.emplace("pb_ddp_");
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  const std::string path = dir->path() + "/result.json";
  ::setenv("PB_RANK_JOB", job.dump().c_str(), 1);
  ::setenv("PB_RANK_RESULT", path.c_str(), 1);
  const int code = pb::dist::launch_local_ranks({"bench_ddp"}, {ranks, "127.0.0.1", 0, 10});
  ::unsetenv("PB_RANK_JOB");
  ::unsetenv("PB_RANK_RESULT");
  if (code != 0) return "a rank failed with exit code " + std::to_string(code);
  try {
    *result = pb::read_json_file(path);
  } catch (const pb::FileError& error) {
    return error.what();
  }
  return "";
}

std::string device_skip_reason(const std::string& device, int64_t ranks) {
  if (device != "cuda") return "";
  std::string reason = pb::dist::nccl_unavailable_reason();
  if (reason.empty() && static_cast<int64_t>(torch::cuda::device_count()) < ranks) {
    reason = "needs " + std::to_string(ranks) + " GPUs (one rank per GPU), this machine has " +
             std::to_string(torch::cuda::device_count());
  }
  return reason.empty() ? "" : "skipped: " + reason;
}

// samples/s of the 1-rank runs, and step seconds of the no-sync runs, for efficiency and overhead.
std::map<std::string, double>& one_rank_rate() {
  static std::map<std::string, double> rates;
  return rates;
}
std::map<std::string, double>& no_sync_step() {
  static std::map<std::string, double> steps;
  return steps;
}

// One launch of `job` on `ranks` processes per benchmark iteration, timed by rank 0's seconds over
// `operations`. Returns false, with the reason recorded, when the point is skipped (no such
// device here) or a launch failed; *result then holds nothing useful.
bool run_launches(benchmark::State& state, const std::string& device, int64_t ranks, const nlohmann::json& job,
                  double operations, nlohmann::json* result) {
  const std::string skip = device_skip_reason(device, ranks);
  if (!skip.empty()) {
    pb::bench::skip_point(state, skip);
    return false;
  }
  for (auto _ : state) {
    const std::string error = launch(job, ranks, result);
    if (!error.empty()) {
      pb::bench::skip_point(state, error);
      return false;
    }
    state.SetIterationTime((*result)["seconds"].get<double>() / operations);
  }
  return true;
}

void train(benchmark::State& state, const std::string& device, const std::string& model) {
  const int64_t ranks = state.range(0), threads = state.range(1), sync = state.range(2), bucket_kib = state.range(3);
  const int64_t steps = model == "cnn" ? settings().cnn_steps : settings().small_steps;
  nlohmann::json job = {{"kind", "train"}, {"device", device}, {"model", model}, {"threads", threads},
                        {"sync", sync}, {"bucket_bytes", bucket_kib * 1024}, {"steps", steps},
                        {"batch", settings().batch}, {"phase_sync", settings().phase_sync}};
  nlohmann::json result;
  if (!run_launches(state, device, ranks, job, 1, &result)) return;
  if (result["param_spread"].get<double>() != 0 && sync != kNoSync) {
    pb::bench::skip_point(state, "ranks disagree on the parameters after synchronised training");
    return;
  }
  const double seconds = result["seconds"], samples = result["samples"];
  const double step_s = seconds / static_cast<double>(steps);
  const std::string key = device + "/" + model + "/" + std::to_string(threads);
  state.counters["samples_per_s"] = benchmark::Counter(samples * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["step_ms"] = step_s * 1e3;
  state.counters["comm_wait_ms"] = result["comm_wait_seconds"].get<double>() / static_cast<double>(steps) * 1e3;
  state.counters["final_loss"] = result["final_loss"].get<double>();
  state.counters["param_spread"] = result["param_spread"].get<double>();
  // Rank 0's phases, seconds per step (plain values, not rates); absent on GPUs without --phase-sync.
  if (result.contains("phase_seconds")) {
    for (pb::Phase p : kStepPhases) {
      state.counters[std::string("phase_") + pb::phase_name(p) + "_s"] =
          result["phase_seconds"].value(pb::phase_name(p), 0.0) / static_cast<double>(steps);
    }
  }
  if (ranks == 1 && sync == kNoSync) one_rank_rate()[key] = samples / seconds;
  if (one_rank_rate().count(key)) {
    state.counters["scaling_efficiency"] = samples / seconds / (static_cast<double>(ranks) * one_rank_rate()[key]);
  }
  const std::string sync_key = key + "/" + std::to_string(ranks);
  if (sync == kNoSync) no_sync_step()[sync_key] = step_s;
  if (sync != kNoSync && no_sync_step().count(sync_key)) {
    state.counters["sync_overhead"] = step_s / no_sync_step()[sync_key] - 1;
  }
}

void allreduce(benchmark::State& state, const std::string& device) {
  const int64_t ranks = state.range(0), bytes = state.range(1);
  // About 64 MiB of traffic per point, at least 5 and at most 1,000 operations.
  const int64_t iterations = std::clamp<int64_t>((int64_t{64} << 20) / std::max<int64_t>(bytes, 1), 5, 1000);
  nlohmann::json job = {{"kind", "allreduce"}, {"device", device}, {"threads", 1}, {"bytes", bytes}, {"iterations", iterations}};
  nlohmann::json result;
  if (!run_launches(state, device, ranks, job, static_cast<double>(iterations), &result)) return;
  const int64_t wrong = result["wrong"].get<int64_t>();
  state.counters["wrong"] = static_cast<double>(wrong);
  if (wrong != 0) {
    pb::bench::skip_point(state, "all-reduce produced " + std::to_string(wrong) + " wrong element(s) across ranks");
    return;
  }
  // nccl-tests' definitions: algorithm bandwidth = size / time; bus bandwidth = algbw x 2(n-1)/n,
  // the traffic each link carries in a ring all-reduce, comparable across rank counts.
  const double seconds = result["seconds"].get<double>() / static_cast<double>(iterations);
  const double algbw = static_cast<double>(bytes) / seconds / 1e9;
  state.counters["algbw_GBps"] = algbw;
  state.counters["busbw_GBps"] = algbw * 2.0 * static_cast<double>(ranks - 1) / static_cast<double>(ranks);
  state.counters["time_us"] = seconds * 1e6;
}

void register_benchmarks(const pb::bench::HarnessOptions& options) {
  Settings& s = settings();
  if (options.quick) {
    s.small_steps = std::min<int64_t>(s.small_steps, 20);
    s.cnn_steps = std::min<int64_t>(s.cnn_steps, 2);
  }
  for (const std::string& device : s.devices) {
    // On GPUs one rank per GPU: 1, 2, 4, ... and every GPU of this machine, unless --ranks says so.
    std::vector<int64_t> ranks_list = s.ranks;
    const int64_t gpus = device == "cuda" && pb::dist::nccl_unavailable_reason().empty()
                             ? static_cast<int64_t>(torch::cuda::device_count())
                             : 0;
    if (gpus > 0 && !s.ranks_given) {
      ranks_list.clear();
      for (int64_t r = 1; r < gpus; r *= 2) ranks_list.push_back(r);
      ranks_list.push_back(gpus);
    }
    for (const std::string& model : s.models) {
      auto* bench = benchmark::RegisterBenchmark(("ddp_" + device + "/" + model).c_str(), train, device, model);
      bench->ArgNames({"ranks", "threads", "sync", "bucket_kib"})->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);
      const auto cores = static_cast<int64_t>(std::max(1u, std::thread::hardware_concurrency()));
      for (int64_t threads : s.threads)
        for (int64_t ranks : ranks_list) {
          // One thread per rank always (4 ranks on 2 cores shows oversubscription); more only if
          // they fit: 1 rank x 2 threads against 2 ranks x 1 thread is the comparison that matters.
          if (threads > 1 && ranks * threads > cores) continue;
          bench->Args({ranks, threads, kNoSync, s.bucket_kib.front()});  // the baseline: no communication
          if (ranks == 1) continue;
          bench->Args({ranks, threads, kAfterBackward, s.bucket_kib.front()});
          for (int64_t kib : s.bucket_kib) bench->Args({ranks, threads, kOverlapped, kib});
        }
    }
    const std::string backend = device == "cuda" ? "nccl" : "gloo";
    auto* bench = benchmark::RegisterBenchmark(("allreduce_" + backend).c_str(), allreduce, device);
    bench->ArgNames({"ranks", "bytes"})->UseManualTime()->Iterations(1)->Unit(benchmark::kMicrosecond);
    for (int64_t ranks : ranks_list)
      for (int64_t bytes : s.allreduce_bytes)
        if (ranks > 1) bench->Args({ranks, bytes});
  }
}

// The Python peer: torch's DistributedDataParallel (which always overlaps) on the same points.
nlohmann::json peer_job(const nlohmann::json& report, const pb::bench::HarnessOptions&) {
  const Settings& s = settings();
  nlohmann::json job = {{"workflow", "ddp"}, {"points", nlohmann::json::array()}};
  for (const nlohmann::json* run : pb::bench::first_repetition_runs(report)) {
    const std::string name = (*run)["run_name"], family = pb::bench::name_segment(name, 0);
    auto args = pb::bench::name_args(name);
    if ((family != "ddp_cpu" && family != "ddp_cuda") || args["sync"] != kOverlapped) continue;
    const std::string model = pb::bench::name_segment(name, 1);
    job["points"].push_back({{"name", name}, {"model", model}, {"device", family == "ddp_cuda" ? "cuda" : "cpu"},
                             {"ranks", args["ranks"]}, {"threads", args["threads"]}, {"bucket_kib", args["bucket_kib"]},
                             {"batch_per_rank", s.batch}, {"steps", model == "cnn" ? s.cnn_steps : s.small_steps},
                             {"warmup_steps", kWarmupSteps}, {"samples", model == "cnn" ? kCnnSamples : kSmallModelSamples}});
  }
  return job;
}

}  // namespace

int main(int argc, char** argv) {
  if (const char* job = std::getenv("PB_RANK_JOB")) {  // started by launch(): this process is a rank
    try {
      return run_rank_job(nlohmann::json::parse(job), std::getenv("PB_RANK_RESULT"));
    } catch (const std::exception& error) {
      const std::string what = error.what();
      std::cerr << "bench_ddp: error: " << what.substr(0, what.find('\n')) << std::endl;
      return 1;
    }
  }
  pb::bench::Suite suite;
  suite.program = "bench_ddp";
  suite.purpose = "Family 4: DDP training over ranks x sync mode x bucket size, and all-reduce bandwidth.";
  suite.add_options = [](pb::Cli& cli) {
    Settings& s = settings();
    cli.option("models", &s.models, "models: linear (000), mlp (001), cnn (002)")
        .option("devices", &s.devices, "cpu (Gloo) and/or cuda (NCCL, one rank per GPU)")
        .option("ranks", &s.ranks, "rank counts (processes on this machine; default on GPUs: 1, 2, 4, ... all)", 1, 64)
        .option("threads", &s.threads, "intra-op threads per rank", 1, 1024)
        .option("bucket-kib", &s.bucket_kib, "gradient bucket sizes, KiB", 1, 1 << 22)
        .option("allreduce-bytes", &s.allreduce_bytes, "all-reduce message sizes, bytes", 4, int64_t{1} << 32)
        .option("batch-per-rank", &s.batch, "samples per rank per step", 1, 65536)
        .option("steps", &s.small_steps, "timed steps for linear and mlp", 1, 10'000'000)
        .option("cnn-steps", &s.cnn_steps, "timed steps for cnn", 1, 1'000'000)
        .flag("phase-sync", &s.phase_sync,
              "on GPUs, wait for the device at every phase boundary to record phase_*_s counters (slows the step)")
        .validate([&s] {
          s.ranks_given = s.ranks != std::vector<int64_t>{1, 2, 4};
          pb::bench::check_models(s.models);
          pb::bench::check_device_kinds(s.devices);
        });
  };
  suite.register_benchmarks = register_benchmarks;
  suite.peer_job = peer_job;
  return pb::bench::run_suite(argc, argv, suite);
}
