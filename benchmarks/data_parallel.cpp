// Benchmark family 3 (source 002): single-process data parallelism. Training throughput of the
// three source models for a single device, upstream torch::nn::parallel::data_parallel (CUDA
// only), replicas re-cloned every step (upstream's cost, on any device) and persistent replicas,
// over replica counts x threads per replica (CPU) or x GPUs (CUDA), with speed-up and efficiency
// against the single-device baseline, the final loss and a gradient check next to every figure.
#include <benchmark/benchmark.h>

#include <atomic>
#include <map>
#include <optional>
#include <thread>

#include "benchmarks/harness/harness.h"
#include "benchmarks/harness/point.h"
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

// Batches of 256 for every model (8x the source 002's 32), so that each of up to 8 replicas
// still gets the source's batch of 32 samples.
constexpr int64_t kBatch = 256;
// Distinct samples cycled through: a few batches, so that data is not the same tensor every step.
constexpr int64_t kSamples = 1024;
constexpr int64_t kWarmupSteps = 3;

// How a point trains: the single-device baseline, or one of the three data-parallel strategies.
enum Mode {
  kSingle,      // one device, plain training (the baseline)
  kUpstream,    // torch::nn::parallel::data_parallel (CUDA builds only)
  kReclone,     // replicas re-cloned every step: upstream's cost structure, on any device
  kPersistent,  // replicas kept between steps (pb::ReplicatedDataParallel)
};

// The mode as its run name says it: "mode:persistent", never a number that needs a table.
std::string mode_name(Mode mode) {
  switch (mode) {
    case kSingle: return "single";
    case kUpstream: return "upstream";
    case kReclone: return "recloned";
    case kPersistent: return "persistent";
  }
  return "?";
}

// One point of the sweep, declared once: it names the run, sets up the training and builds the
// Python peer's job, so nothing reads a run name back into arguments.
struct DpPoint {
  std::string device;  // "cpu" (replicas on threads) or "cuda" (replicas on GPUs)
  pb::ModelKind model;
  Mode mode;
  int64_t replicas;
  int64_t threads;  // intra-op threads per replica; 1 on cuda
  int64_t gpus;     // GPUs the replicas spread over; 0 on cpu
  bool cuda() const { return device == "cuda"; }
  // "dp_cpu/cnn/mode:persistent/replicas:2/threads:1" or "dp_cuda/mlp/mode:upstream/replicas:2/gpus:2".
  std::string name() const {
    return pb::bench::run_name("dp_" + device + "/" + pb::model_name(model),
                               {{"mode", mode_name(mode)},
                                {"replicas", std::to_string(replicas)},
                                cuda() ? pb::bench::NamePart{"gpus", std::to_string(gpus)}
                                       : pb::bench::NamePart{"threads", std::to_string(threads)}});
  }
};

// What pb_report draws and compares for these points (report_spec.h): samples/s against replicas,
// a line per mode (and thread count), one chart per GPU count on cuda; where a step's time goes;
// the best setting per model against one replica on one device (mode single); the derived metrics.
pb::schema::ReportSpec report_spec() {
  pb::schema::ReportSpec spec;
  spec.charts = {
      {"dp_cpu", "replicas", "replicas (CPU threads)", {}, {"mode", "threads"}, {}, true},
      {"dp_cuda", "replicas", "replicas (on the GPUs)", {"gpus"}, {"mode"}, {}, false},
  };
  spec.phase_charts = {{"dp_cpu", {}, "step"}, {"dp_cuda", {}, "step"}};
  spec.best = {
      {"dp_cpu", {}, {{"mode", "single"}, {"replicas", "1"}, {"threads", "1"}}, {}, ""},
      {"dp_cuda", {}, {{"mode", "single"}, {"replicas", "1"}, {"gpus", "1"}}, {}, ""},
  };
  spec.derived = {"speedup", "efficiency"};
  return spec;
}

struct Settings {
  std::vector<std::string> models{"linear", "mlp", "cnn"};
  std::vector<std::string> devices{"cpu", "cuda"};
  std::vector<int64_t> replicas{1, 2, 4, 8};
  std::vector<int64_t> threads;  // per replica: 1, 2, 4, ... up to the cores (set in main)
  std::vector<int64_t> gpus;     // 1, 2, 4, ... and every GPU (set in register_benchmarks)
  int64_t batch = kBatch;
  // On GPUs, wait for the device at every phase boundary so that the phase counters are GPU time
  // (which slows the step); without it cuda rows carry no phase counters. CPU rows never wait.
  bool phase_sync = false;
  std::vector<DpPoint> points;  // the sweep, built once from the lists (register_benchmarks)
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

// The moment the last replica finished its forward pass (with its loss), as the caller can learn
// it without waiting for anything: the loss function runs in each replica's thread right after
// that replica's forward, and stores the latest moment here (one clock read and an atomic max).
class ForwardEnd {
 public:
  void reset() { ticks_.store(0, std::memory_order_relaxed); }
  void mark() {
    const int64_t now = pb::PhaseClock::Clock::now().time_since_epoch().count();
    int64_t seen = ticks_.load(std::memory_order_relaxed);
    while (seen < now && !ticks_.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
    }
  }
  pb::PhaseClock::Clock::time_point latest() const {
    return pb::PhaseClock::Clock::time_point(pb::PhaseClock::Clock::duration(ticks_.load(std::memory_order_relaxed)));
  }

 private:
  std::atomic<int64_t> ticks_{0};
};

// One training step in `mode` (the optimizer's zero_grad and step are the caller's): returns the
// loss and laps `clock` for forward and backward as the caller sees them. With replicas, forward
// is from the call until the last replica has its loss (the parameter copies, re-cloning (recloned mode)
// and the batch slices included) and backward the rest of the call: the slowest replica's
// backward and the sum of the replicas' gradients into the master, which happens inside
// pb::ReplicatedDataParallel::forward_backward, out of the caller's sight.
using StepFn = std::function<double(const torch::Tensor&, const torch::Tensor&, pb::PhaseClock&)>;

StepFn make_step(Mode mode, pb::ModelKind kind, torch::nn::AnyModule& model, pb::ReplicatedDataParallel* dp,
                 ForwardEnd* forward_end, const std::vector<torch::Device>& devices) {
  const torch::Device first = devices.front();
  if (mode == kReclone || mode == kPersistent) {
    return [dp, forward_end](const torch::Tensor& x, const torch::Tensor& y, pb::PhaseClock& clock) {
      forward_end->reset();
      const double loss = dp->forward_backward(x, y);
      clock.lap_until(pb::Phase::kForward, forward_end->latest());
      clock.lap(pb::Phase::kBackward);
      return loss;
    };
  }
  if (mode == kSingle) {
    return [kind, &model, first](const torch::Tensor& x, const torch::Tensor& y, pb::PhaseClock& clock) {
      torch::Tensor loss = pb::compute_loss(kind, model.forward(x.to(first)), y.to(first));
      clock.lap(pb::Phase::kForward);
      loss.backward();
      const double value = loss.item<double>();
      clock.lap(pb::Phase::kBackward);
      return value;
    };
  }
#if PB_HAVE_CUDA
  // Upstream's backward also sums the replicas' gradients onto the first GPU (its Broadcast's
  // backward is a reduce-add): in backward here too.
  return [kind, &model, devices, first](const torch::Tensor& x, const torch::Tensor& y, pb::PhaseClock& clock) {
    torch::Tensor out = kind == pb::ModelKind::kLinear ? upstream_forward_as<pb::LinearModelImpl>(model, x, devices)
                        : kind == pb::ModelKind::kMlp  ? upstream_forward_as<pb::MlpImpl>(model, x, devices)
                                                       : upstream_forward_as<pb::CnnImpl>(model, x, devices);
    torch::Tensor loss = pb::compute_loss(kind, out, y.to(first));
    clock.lap(pb::Phase::kForward);
    loss.backward();
    const double value = loss.item<double>();
    clock.lap(pb::Phase::kBackward);
    return value;
  };
#else
  throw std::logic_error("upstream data_parallel needs a CUDA build of libtorch");
#endif
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

void train(benchmark::State& state, const DpPoint point) {
  const std::string& device = point.device;
  const pb::ModelKind kind = point.model;
  const Mode mode = point.mode;
  const int64_t replicas = point.replicas, threads = point.threads, gpus = point.gpus;
  const bool cuda = point.cuda();
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
  // Phase times: on a GPU only when asked for, since they need a wait at every phase boundary.
  const bool phase_sync = cuda && settings().phase_sync;
  const bool record_phases = !cuda || phase_sync;
  ForwardEnd forward_end;  // outlives dp, whose loss function writes it
  std::unique_ptr<pb::ReplicatedDataParallel> dp;
  if (mode == kReclone || mode == kPersistent) {
    const pb::ReplicaOptions options{devices, threads, mode == kPersistent};
    dp = std::make_unique<pb::ReplicatedDataParallel>(
        model,
        [kind, &forward_end, phase_sync](const torch::Tensor& o, const torch::Tensor& t) {
          torch::Tensor loss = pb::compute_loss(kind, o, t);
          if (phase_sync) pb::synchronize(o.device());
          forward_end.mark();
          return loss;
        },
        options);
  }
  const StepFn step = make_step(mode, kind, model, dp.get(), &forward_end, devices);

  // The gradient check first: one step's gradients against single-device backward on the batch.
  reference.ptr()->to(devices.front());
  const torch::Tensor x0 = data.inputs.narrow(0, 0, batch), y0 = data.targets.narrow(0, 0, batch);
  pb::compute_loss(kind, reference.forward(x0.to(devices.front())), y0.to(devices.front())).backward();
  pb::PhaseClock unused;
  step(x0, y0, unused);
  const double grad_diff = pb::relative_gradient_difference(*model.ptr(), *reference.ptr());
  state.counters["grad_diff"] = grad_diff;
  if (grad_diff > (cuda ? 1e-2 : 1e-4)) {  // TF32 on GPUs rounds by shape
    pb::bench::skip_point(state, "gradients differ from single-device training on the same batch");
    return;
  }

  torch::optim::SGD optimizer(model.ptr()->parameters(), pb::source_optimizer_options(kind));
  int64_t offset = 0;
  double loss = 0;
  // Laps: load (the batch: a view of data in memory), optimizer (zero_grad), forward, backward,
  // optimizer (step).
  auto train_step = [&](pb::PhaseClock& clock) {
    const torch::Tensor x = data.inputs.narrow(0, offset, batch), y = data.targets.narrow(0, offset, batch);
    offset = (offset + batch) % (data.size() - batch + 1);
    clock.lap(pb::Phase::kLoad);
    optimizer.zero_grad();
    clock.lap(pb::Phase::kOptimizer);
    loss = step(x, y, clock);
    optimizer.step();
    clock.lap(pb::Phase::kOptimizer);
  };
  for (int64_t i = 0; i < kWarmupSteps; ++i) train_step(unused);
  pb::PhaseClock clock(devices.front(), phase_sync);
  for (auto _ : state) train_step(clock);
  if (record_phases) {
    // Seconds per step, averaged over the timed steps; plain values, not rates.
    const double steps = static_cast<double>(std::max<benchmark::IterationCount>(1, state.iterations()));
    for (pb::Phase p : {pb::Phase::kLoad, pb::Phase::kForward, pb::Phase::kBackward, pb::Phase::kOptimizer}) {
      state.counters[std::string("phase_") + pb::phase_name(p) + "_s"] = clock.times()[p] / steps;
    }
  }

  state.counters["samples_per_s"] = benchmark::Counter(static_cast<double>(batch * state.iterations()), benchmark::Counter::kIsRate);
  state.counters["final_loss"] = loss;
}

// The point every other point of its device and model is compared with: one device, plain
// training, one thread (or one GPU).
DpPoint baseline_of(const DpPoint& p) { return {p.device, p.model, kSingle, 1, 1, p.cuda() ? 1 : 0}; }

// Speed-up over the baseline and efficiency per unit of hardware used (cores: replicas x threads,
// at most all of them; or GPUs), from the finished run's medians.
void derive(pb::bench::Derivation& d) {
  for (const DpPoint& p : settings().points) {
    const std::optional<double> rate = d.median(p.name(), "samples_per_s");
    if (!rate) continue;  // did not run: nothing to derive
    const std::string base = baseline_of(p).name();
    const std::optional<double> base_rate = d.median(base, "samples_per_s");
    if (!base_rate || *base_rate <= 0) {
      d.missing_baseline(p.name(), "speedup, efficiency", "its baseline", base);
      continue;
    }
    const double used = p.cuda() ? static_cast<double>(std::min(p.replicas, p.gpus))
                                 : static_cast<double>(std::min(p.replicas * p.threads, cores()));
    d.set(p.name(), "speedup", *rate / *base_rate);
    d.set(p.name(), "efficiency", *rate / *base_rate / used);
  }
}

// Every point of the sweep, in the order it runs: the one place that declares them. `gpus` must
// be set (register_benchmarks does it from the machine).
std::vector<DpPoint> points(const Settings& s) {
  std::vector<DpPoint> out;
  for (const std::string& device : s.devices) {
    for (const std::string& name : s.models) {
      const pb::ModelKind model = pb::parse_model_kind(name);
      if (device == "cuda") {
        out.push_back({device, model, kSingle, 1, 1, 1});  // the baseline first: later points divide by it
        for (int64_t gpus : s.gpus)
          for (int64_t replicas : s.replicas) {
            if (replicas < gpus) continue;  // a GPU without a replica measures nothing new
            for (Mode mode : {kUpstream, kReclone, kPersistent}) out.push_back({device, model, mode, replicas, 1, gpus});
          }
        continue;
      }
      for (int64_t threads : s.threads) out.push_back({device, model, kSingle, 1, threads, 0});
      for (int64_t replicas : s.replicas)
        for (int64_t threads : s.threads) {
          // One thread per replica always (8 replicas on 2 cores shows oversubscription); more only
          // where replicas x threads fit in the cores.
          if (threads > 1 && replicas * threads > cores()) continue;
          out.push_back({device, model, kPersistent, replicas, threads, 0});
          if (threads == 1 && replicas > 1) out.push_back({device, model, kReclone, replicas, threads, 0});
        }
      out.push_back({device, model, kUpstream, 2, 1, 0});  // recorded as skipped, with the reason
    }
  }
  return out;
}

void register_benchmarks(const pb::bench::HarnessOptions& options) {
  Settings& s = settings();
  if (options.quick) s.batch = std::min<int64_t>(s.batch, 16);
  const int64_t gpu_count = pb::cuda_unavailable_reason().empty() ? static_cast<int64_t>(torch::cuda::device_count()) : 1;
  if (s.gpus.empty()) {
    for (int64_t g = 1; g < gpu_count; g *= 2) s.gpus.push_back(g);
    s.gpus.push_back(gpu_count);
  }
  s.points = points(s);
  for (const DpPoint& point : s.points) {
    auto* bench = benchmark::RegisterBenchmark(point.name().c_str(), train, point);
    bench->UseRealTime()->Unit(benchmark::kMillisecond);
    if (options.quick) bench->Iterations(2);
  }
}

// The Python peer: single-device training, and nn.DataParallel where upstream ran (CUDA). The
// replica strategies have no Python counterpart; their ratio is to the single-device peer. Each
// row is matched to its point, whose fields (not the row's name) make the peer's point.
nlohmann::json peer_job(const nlohmann::json& report, const pb::bench::HarnessOptions&) {
  const Settings& s = settings();
  nlohmann::json job = {{"workflow", "data_parallel"}, {"points", nlohmann::json::array()}};
  for (const nlohmann::json* run : pb::bench::first_repetition_runs(report)) {
    const std::string run_name = run->value("run_name", std::string());
    const DpPoint* point = pb::bench::find_point(s.points, run_name);
    if (point == nullptr || (point->mode != kSingle && point->mode != kUpstream)) continue;
    job["points"].push_back({{"name", run_name}, {"model", pb::model_name(point->model)}, {"device", point->device},
                             {"mode", mode_name(point->mode)}, {"replicas", point->replicas}, {"gpus", point->gpus},
                             {"threads", point->threads}, {"batch", std::min(s.batch, kSamples)}, {"samples", kSamples},
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
        .flag("phase-sync", &s.phase_sync,
              "on GPUs, wait for the device at every phase boundary to record phase_*_s counters (slows the step)")
        .validate([&s] {
          pb::bench::check_models(s.models);
          pb::bench::check_device_kinds(s.devices);
        });
  };
  suite.register_benchmarks = register_benchmarks;
  suite.peer_job = peer_job;
  suite.derive = derive;
  suite.report_spec = report_spec();
  return pb::bench::run_suite(argc, argv, suite);
}
