// Benchmark family 3 (source 002): single-process data parallelism. Training throughput of the
// three source models for a single device, upstream torch::nn::parallel::data_parallel (CUDA
// only), replicas re-cloned every step (upstream's cost, on any device) and persistent replicas,
// over replica counts x threads per replica (CPU) or x GPUs (CUDA), with speed-up and efficiency
// against the single-device baseline, the final loss and a gradient check next to every figure.
#include <benchmark/benchmark.h>

#include <map>
#include <thread>

#include "benchmarks/harness/harness.h"
#include "common/data.h"
#include "common/data_parallel.h"
#include "common/device.h"
#include "common/timer.h"
#include "common/train.h"

#if PB_HAVE_CUDA
// Not even includable from a CPU-only libtorch: it pulls in cuda.h.
#include <torch/nn/parallel/data_parallel.h>
#endif

namespace {

// The and the source's setting: batches of 256 for every model, so that each of 8
// replicas still gets 32 samples (the source 002's batch).
constexpr int64_t kBatch = 256;
// Distinct samples cycled through: a few batches, so that data is not the same tensor every step.
constexpr int64_t kSamples = 1024;
constexpr int64_t kWarmupSteps = 3;

enum Mode : int64_t { kSingle = 0, kUpstream = 1, kReclone = 2, kPersistent = 3 };

struct Settings {
  std::vector<std::string> models{"linear", "mlp", "cnn"};
  std::vector<std::string> devices{"cpu", "cuda"};
  std::vector<int64_t> replicas{1, 2, 4, 8};
  std::vector<int64_t> threads;  // per replica: 1, 2, 4, ... up to the cores (set in main)
  std::vector<int64_t> gpus;     // 1, 2, 4, ... and every GPU (set in register_benchmarks)
  int64_t batch = kBatch;
};

Settings& settings() {
  static Settings s;
  return s;
}

int64_t cores() { return static_cast<int64_t>(std::max(1u, std::thread::hardware_concurrency())); }

const pb::TensorData& data_for(pb::ModelKind kind) {
  static std::map<pb::ModelKind, pb::TensorData> cache;
  auto it = cache.find(kind);
  if (it == cache.end()) it = cache.emplace(kind, pb::make_synthetic_split(kind, kSamples, 1, 0).train).first;
  return it->second;
}

#if PB_HAVE_CUDA
template <typename Impl>
torch::Tensor upstream_forward_as(torch::nn::AnyModule& model, const torch::Tensor& x, const std::vector<torch::Device>& devices) {
  return torch::nn::parallel::data_parallel(std::dynamic_pointer_cast<Impl>(model.ptr()), x, devices);
}
#endif

// One training step in `mode` (the optimizer's zero_grad and step are the caller's): returns the loss.
using StepFn = std::function<double(const torch::Tensor&, const torch::Tensor&)>;

StepFn make_step(Mode mode, pb::ModelKind kind, torch::nn::AnyModule& model, pb::ReplicatedDataParallel* dp,
                 const std::vector<torch::Device>& devices) {
  const torch::Device first = devices.front();
  if (mode == kReclone || mode == kPersistent) {
    return [dp](const torch::Tensor& x, const torch::Tensor& y) { return dp->forward_backward(x, y); };
  }
  if (mode == kSingle) {
    return [kind, &model, first](const torch::Tensor& x, const torch::Tensor& y) {
      torch::Tensor loss = pb::compute_loss(kind, model.forward(x.to(first)), y.to(first));
      loss.backward();
      return loss.item<double>();
    };
  }
#if PB_HAVE_CUDA
  return [kind, &model, devices, first](const torch::Tensor& x, const torch::Tensor& y) {
    torch::Tensor out = kind == pb::ModelKind::kLinear ? upstream_forward_as<pb::LinearModelImpl>(model, x, devices)
                        : kind == pb::ModelKind::kMlp  ? upstream_forward_as<pb::MlpImpl>(model, x, devices)
                                                       : upstream_forward_as<pb::CnnImpl>(model, x, devices);
    torch::Tensor loss = pb::compute_loss(kind, out, y.to(first));
    loss.backward();
    return loss.item<double>();
  };
#else
  throw std::logic_error("upstream data_parallel needs a CUDA build of libtorch");
#endif
}

// Samples/s of each single-device baseline (per family and model), for speed-up and efficiency.
std::map<std::string, double>& baseline_rate() {
  static std::map<std::string, double> rates;
  return rates;
}

// Why this point cannot run here, or "".
std::string skip_reason(const std::string& device, Mode mode, int64_t gpus) {
  if (device == "cuda") {
    const std::string reason = pb::cuda_unavailable_reason();
    if (!reason.empty()) return "skipped: CUDA unavailable: " + reason;
    if (static_cast<int64_t>(torch::cuda::device_count()) < gpus) {
      return "skipped: needs " + std::to_string(gpus) + " GPUs, this machine has " + std::to_string(torch::cuda::device_count());
    }
  } else if (mode == kUpstream) {
    return "skipped: upstream data_parallel needs CUDA";
  }
  return "";
}

// Args: mode, replicas, threads per replica (cpu) or GPUs (cuda).
void train(benchmark::State& state, const std::string& device, pb::ModelKind kind) {
  const auto mode = static_cast<Mode>(state.range(0));
  const int64_t replicas = state.range(1), third = state.range(2);
  const bool cuda = device == "cuda";
  const int64_t threads = cuda ? 1 : third, gpus = cuda ? third : 0;
  const std::string skip = skip_reason(device, mode, gpus);
  if (!skip.empty()) {
    pb::bench::skip_point(state, skip);
    return;
  }
  // Replica i on GPU i mod gpus: more replicas than GPUs share them (the overhead on one GPU).
  std::vector<torch::Device> devices;
  for (int64_t r = 0; r < replicas; ++r) {
    devices.push_back(cuda ? torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(r % gpus)) : torch::Device(torch::kCPU));
  }
  if (replicas > gpus && cuda) state.SetLabel(std::to_string(replicas) + " replicas share " + std::to_string(gpus) + " GPU(s)");
  // Single-device runs use the calling thread's intra-op threads; upstream's parallel_apply is an
  // at::parallel_for over the replicas, which needs a thread per replica to run them at once.
  torch::set_num_threads(static_cast<int>(mode == kUpstream ? std::max(threads, replicas) : threads));
  const pb::TensorData& data = data_for(kind);
  const int64_t batch = std::min(settings().batch, data.size());
  torch::manual_seed(0);
  torch::nn::AnyModule reference = pb::make_model(kind);  // for the gradient check
  torch::nn::AnyModule model = reference.clone(devices.front());
  std::unique_ptr<pb::ReplicatedDataParallel> dp;
  if (mode == kReclone || mode == kPersistent) {
    const pb::ReplicaOptions options{devices, threads, mode == kPersistent};
    dp = std::make_unique<pb::ReplicatedDataParallel>(
        model, [kind](const torch::Tensor& o, const torch::Tensor& t) { return pb::compute_loss(kind, o, t); }, options);
  }
  const StepFn step = make_step(mode, kind, model, dp.get(), devices);

  // The gradient check first: one step's gradients against single-device backward on the batch.
  reference.ptr()->to(devices.front());
  const torch::Tensor x0 = data.inputs.narrow(0, 0, batch), y0 = data.targets.narrow(0, 0, batch);
  pb::compute_loss(kind, reference.forward(x0.to(devices.front())), y0.to(devices.front())).backward();
  step(x0, y0);
  const double grad_diff = pb::relative_gradient_difference(*model.ptr(), *reference.ptr());
  state.counters["grad_diff"] = grad_diff;
  if (grad_diff > (cuda ? 1e-2 : 1e-4)) {  // TF32 on GPUs rounds by shape
    pb::bench::skip_point(state, "gradients differ from single-device training on the same batch");
    return;
  }

  torch::optim::SGD optimizer(model.ptr()->parameters(), pb::source_optimizer_options(kind));
  int64_t offset = 0;
  double loss = 0;
  auto train_step = [&] {
    const torch::Tensor x = data.inputs.narrow(0, offset, batch), y = data.targets.narrow(0, offset, batch);
    offset = (offset + batch) % (data.size() - batch + 1);
    optimizer.zero_grad();
    loss = step(x, y);
    optimizer.step();
  };
  for (int64_t i = 0; i < kWarmupSteps; ++i) train_step();
  pb::Timer timer(devices.front());
  for (auto _ : state) train_step();
  const double rate = static_cast<double>(batch * state.iterations()) / timer.seconds();

  state.counters["samples_per_s"] = benchmark::Counter(static_cast<double>(batch * state.iterations()), benchmark::Counter::kIsRate);
  state.counters["final_loss"] = loss;
  const std::string key = device + "/" + pb::model_name(kind);
  if (mode == kSingle && replicas == 1 && (cuda ? gpus == 1 : threads == 1)) baseline_rate()[key] = rate;
  if (baseline_rate().count(key)) {
    // Efficiency per unit of hardware used: cores (replicas x threads, at most all of them) or GPUs.
    const double used = cuda ? static_cast<double>(std::min(replicas, gpus))
                             : static_cast<double>(std::min(replicas * threads, cores()));
    state.counters["speedup"] = rate / baseline_rate()[key];
    state.counters["efficiency"] = rate / baseline_rate()[key] / used;
  }
}

void register_benchmarks(const pb::bench::HarnessOptions& options) {
  Settings& s = settings();
  if (options.quick) s.batch = std::min<int64_t>(s.batch, 16);
  const int64_t gpu_count = pb::cuda_unavailable_reason().empty() ? static_cast<int64_t>(torch::cuda::device_count()) : 1;
  if (s.gpus.empty()) {
    for (int64_t g = 1; g < gpu_count; g *= 2) s.gpus.push_back(g);
    s.gpus.push_back(gpu_count);
  }
  for (const std::string& device : s.devices) {
    const bool cuda = device == "cuda";
    for (const std::string& name : s.models) {
      auto* bench = benchmark::RegisterBenchmark(("dp_" + device + "/" + name).c_str(), train, device, pb::parse_model_kind(name));
      bench->ArgNames({"mode", "replicas", cuda ? "gpus" : "threads"})->UseRealTime()->Unit(benchmark::kMillisecond);
      if (options.quick) bench->Iterations(2);
      if (cuda) {
        bench->Args({kSingle, 1, 1});  // the baseline first: later points divide by it
        for (int64_t gpus : s.gpus)
          for (int64_t replicas : s.replicas) {
            if (replicas < gpus) continue;  // a GPU without a replica measures nothing new
            for (Mode mode : {kUpstream, kReclone, kPersistent}) bench->Args({mode, replicas, gpus});
          }
        continue;
      }
      for (int64_t threads : s.threads) bench->Args({kSingle, 1, threads});
      for (int64_t replicas : s.replicas)
        for (int64_t threads : s.threads) {
          // One thread per replica always (8 replicas on 2 cores shows oversubscription); more only
          // where replicas x threads fit in the cores.
          if (threads > 1 && replicas * threads > cores()) continue;
          bench->Args({kPersistent, replicas, threads});
          if (threads == 1 && replicas > 1) bench->Args({kReclone, replicas, threads});
        }
      bench->Args({kUpstream, 2, 1});  // recorded as skipped, with the reason
    }
  }
}

// The Python peer: single-device training, and nn.DataParallel where upstream ran (CUDA). The
// replica strategies have no Python counterpart; their ratio is to the single-device peer.
nlohmann::json peer_job(const nlohmann::json& report, const pb::bench::HarnessOptions&) {
  nlohmann::json job = {{"workflow", "data_parallel"}, {"points", nlohmann::json::array()}};
  for (const nlohmann::json* run : pb::bench::first_repetition_runs(report)) {
    const std::string name = (*run)["run_name"], family = pb::bench::name_segment(name, 0);
    auto args = pb::bench::name_args(name);
    if ((family != "dp_cpu" && family != "dp_cuda") || (args["mode"] != kSingle && args["mode"] != kUpstream)) continue;
    const bool cuda = family == "dp_cuda";
    const std::string model = pb::bench::name_segment(name, 1);
    job["points"].push_back({{"name", name}, {"model", model}, {"device", cuda ? "cuda" : "cpu"}, {"mode", args["mode"]},
                             {"replicas", args["replicas"]}, {"gpus", cuda ? args["gpus"] : 0},
                             {"threads", cuda ? 1 : args["threads"]},
                             {"batch", std::min(settings().batch, kSamples)}, {"samples", kSamples},
                             {"warmup_steps", kWarmupSteps}});
  }
  return job;
}

}  // namespace

int main(int argc, char** argv) {
  for (int64_t t = 1; t <= cores() && t <= 16; t *= 2) settings().threads.push_back(t);
  pb::bench::Suite suite;
  suite.program = "bench_data_parallel";
  suite.purpose = "Family 3: single-process data parallelism: single device, upstream data_parallel, re-cloned and persistent replicas.";
  suite.add_options = [](pb::Cli& cli) {
    Settings& s = settings();
    cli.option("models", &s.models, "models to train: linear (000), mlp (001), cnn (002)")
        .option("devices", &s.devices, "cpu (replicas on threads) and/or cuda (replicas on GPUs)")
        .option("replicas", &s.replicas, "replica counts", 1, pb::kMaxReplicas)
        .option("threads", &s.threads, "intra-op threads per replica (cpu)", 1, 1024)
        .option("gpus", &s.gpus, "GPU counts (cuda; default 1, 2, 4, ... and all)", 1, 64)
        .option("batch", &s.batch, "samples per step, split over the replicas", 1, kSamples)
        .validate([&s] {
          pb::bench::check_models(s.models);
          pb::bench::check_device_kinds(s.devices);
        });
  };
  suite.register_benchmarks = register_benchmarks;
  suite.peer_job = peer_job;
  return pb::bench::run_suite(argc, argv, suite);
}
