// Benchmark family 2 (source 001): GPU training and host-to-device transfer. Training throughput
// of the source MLP and the CNN over device x input pipeline (pageable, pinned, resident,
// prefetch) x execution (eager, CUDA graph) x batch, each point checked against eager CPU training
// on the same data and weights; and copy bandwidth, host to device and back, pageable and pinned.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <optional>

#include "benchmarks/harness/harness.h"
#include "benchmarks/harness/point.h"
#include "common/data.h"
#include "common/device.h"
#include "common/timer.h"
#include "common/train.h"
#include "common/transfer.h"

namespace {

// Each point cycles through this many distinct batches (held by the pipeline as it needs them).
constexpr int64_t kBatchesPerPoint = 4;
// Steps compared with eager CPU training before timing: each step's loss, and the update.
constexpr int64_t kCheckSteps = 2;
constexpr int64_t kWarmupSteps = 3;
// Losses and updates must match eager CPU training this closely (relative). On GPUs cuDNN may
// use TF32 for convolutions (libtorch's default), which rounds to ~1e-3, and sums in another order.
constexpr double kCpuTolerance = 1e-5;
constexpr double kCudaTolerance = 1e-2;
constexpr int64_t kKiB = 1024;

enum class Execution { kEager, kGraph };

std::string execution_name(Execution e) { return e == Execution::kEager ? "eager" : "graph"; }

Execution parse_execution(const std::string& name) {
  if (name == "eager") return Execution::kEager;
  if (name == "graph") return Execution::kGraph;
  throw pb::CliError("--executions: unknown execution '" + name + "' (expected eager or graph)");
}

// One training point, declared once: it names the run, sets up the training and builds the
// Python peer's job, so nothing reads a run name back into arguments.
struct TrainPoint {
  pb::ModelKind model;
  std::string device;  // "cpu" or "cuda"
  pb::InputPipeline pipeline;
  Execution execution;
  int64_t batch;
  // "gpu_train/mlp/device:cuda/pipeline:pinned/exec:graph/batch:256": family and model first, as
  // every family's names, so that reports and charts group them the same way.
  std::string name() const {
    return pb::bench::run_name("gpu_train/" + pb::model_name(model), {{"device", device},
                                                                        {"pipeline", pb::pipeline_name(pipeline)},
                                                                        {"exec", execution_name(execution)},
                                                                        {"batch", std::to_string(batch)}});
  }
};

// One copy-bandwidth point: "copy/h2d/memory:pinned/bytes:4096".
struct CopyPoint {
  pb::CopyDirection direction;
  bool pinned;
  int64_t bytes;
  std::string name() const {
    return pb::bench::run_name("copy/" + pb::copy_direction_name(direction),
                               {{"memory", pinned ? "pinned" : "pageable"}, {"bytes", std::to_string(bytes)}});
  }
};

// What pb_report draws and compares for these points (report_spec.h): samples/s against batch size,
// a line per pipeline and execution, one chart per model and device; copy bandwidth against size,
// a line per memory kind; the best setting per model on each device (a device is not a setting
// to pick) against pageable eager training at the smallest batch; each bandwidth sweep's peak; and
// each cuda training row against the cpu row of the same model and batch.
pb::schema::ReportSpec report_spec() {
  pb::schema::ReportSpec spec;
  // Pipelines and executions are words, not numbers, so they are the lines and batch size is the x axis.
  spec.charts = {
      {"gpu_train", "batch", "batch size (samples)", {"device"}, {"pipeline", "exec"}, {}, false, true},
      {"copy", "bytes", "transfer size (bytes)", {}, {"memory"}, {}, false, true},
  };
  spec.best = {
      {"gpu_train", {{"device", " on {}"}}, {{"pipeline", "pageable"}, {"exec", "eager"}, {"batch", pb::schema::kSmallest}}, {}, ""},
      // Pinned and pageable memory each have their own peak.
      {"copy", {{"memory", ", memory {}"}}, {}, {}, "bytes"},
  };
  spec.ratios = {{"gpu_train", "GPU against CPU",
                  "Each cuda training row against the eager cpu row of the same model and batch (pageable memory), in samples/s.",
                  "cuda", "cpu", {{"device", "cuda"}}, {{"device", "cpu"}, {"pipeline", "pageable"}, {"exec", "eager"}}, {"batch"}}};
  return spec;
}

struct Settings {
  std::vector<std::string> models{"mlp", "cnn"};
  std::vector<std::string> devices{"cpu", "cuda"};
  std::vector<std::string> pipelines{"pageable", "pinned", "resident", "prefetch"};
  std::vector<std::string> executions{"eager", "graph"};
  std::vector<int64_t> batches{64, 256, 1024};  // GPU rows
  std::vector<int64_t> cpu_batches{64, 256};    // CPU rows: a CPU step of the CNN at 1024 takes seconds
  std::vector<int64_t> copy_bytes;              // 4 KiB, 16 KiB, ... 1 GiB (set in main)
  std::vector<TrainPoint> points;               // the training sweep, built once from the lists
};

Settings& settings() {
  static Settings s;
  return s;
}

// Every training point of the sweep, in registration order: the one place that declares them.
std::vector<TrainPoint> training_points(const Settings& s) {
  std::vector<TrainPoint> points;
  for (const std::string& device : s.devices)
    for (const std::string& model : s.models)
      for (const std::string& pipeline : s.pipelines)
        for (const std::string& execution : s.executions)
          for (int64_t batch : device == "cuda" ? s.batches : s.cpu_batches) {
            points.push_back({pb::parse_model_kind(model), device, pb::parse_input_pipeline(pipeline),
                              parse_execution(execution), batch});
          }
  return points;
}

// Every copy point, in registration order: direction, then memory, then size.
std::vector<CopyPoint> copy_points(const Settings& s) {
  std::vector<CopyPoint> points;
  for (pb::CopyDirection direction : {pb::CopyDirection::kHostToDevice, pb::CopyDirection::kDeviceToHost})
    for (bool pinned : {false, true})
      for (int64_t bytes : s.copy_bytes) points.push_back({direction, pinned, bytes});
  return points;
}

torch::Device device_of(const TrainPoint& point) {
  return point.device == "cuda" ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
}

// Why this point cannot run here, or "".
std::string skip_reason(const TrainPoint& point) {
  const torch::Device device = device_of(point);
  std::string reason = pb::pipeline_unavailable_reason(point.pipeline, device);
  if (reason.empty() && point.execution == Execution::kGraph) reason = pb::cuda_graph_unavailable_reason(device);
  return reason.empty() ? "" : "skipped: " + reason;
}

const pb::TensorData& data_for(pb::ModelKind kind, int64_t batch) {
  static std::map<std::pair<pb::ModelKind, int64_t>, pb::TensorData> cache;
  const auto key = std::make_pair(kind, batch);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, pb::make_synthetic_split(kind, kBatchesPerPoint * batch, 1, 0).train).first;
  return it->second;
}

// What kCheckSteps steps of training produced: each step's loss, and each parameter's change.
struct CheckRun {
  std::vector<double> losses;
  std::vector<torch::Tensor> updates;  // on the CPU
};

// The largest difference of a from b relative to the largest magnitude of b.
double relative_difference(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double diff = 0, scale = 1e-12;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    diff = std::max(diff, (a[i] - b[i]).abs().max().item<double>());
    scale = std::max(scale, b[i].abs().max().item<double>());
  }
  return diff / scale;
}

double relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, scale = 1e-12;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    diff = std::max(diff, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return diff / scale;
}

std::vector<torch::Tensor> parameters_on_cpu(torch::nn::AnyModule& model) {
  std::vector<torch::Tensor> out;
  for (const torch::Tensor& p : model.ptr()->parameters()) out.push_back(p.detach().to(torch::kCPU, /*non_blocking=*/false, /*copy=*/true));
  return out;
}

// A model, its optimizer and the way it trains one batch, for one point.
class Trainee {
 public:
  Trainee(const TrainPoint& point, const pb::TensorData& data)
      : point_(point), device_(device_of(point)), source_(data, point.batch, point.pipeline, device_) {
    torch::manual_seed(0);  // the same initial weights as the reference
    model_ = pb::make_model(point.model);
    model_.ptr()->to(device_);
    optimizer_ = std::make_unique<torch::optim::SGD>(model_.ptr()->parameters(), pb::source_optimizer_options(point.model));
    // The graph first: no prefetch copy is in flight on another stream while it is captured.
    if (point.execution == Execution::kGraph) {
      const pb::TensorData first = source_.batch_on_device(0);
      graph_ = std::make_unique<pb::CudaGraphTrainStep>(point.model, model_, *optimizer_, first.inputs, first.targets);
    }
    if (point.pipeline == pb::InputPipeline::kPrefetch) prefetcher_ = std::make_unique<pb::Prefetcher>(source_);
  }

  // One training step on the next batch; returns the loss tensor (not read: reading waits).
  torch::Tensor step() {
    const pb::TensorData batch = prefetcher_ ? prefetcher_->next() : source_.batch_on_device(step_);
    ++step_;
    if (graph_) return graph_->step(batch.inputs, batch.targets);
    optimizer_->zero_grad();
    torch::Tensor loss = pb::compute_loss(point_.model, model_.forward(batch.inputs), batch.targets);
    loss.backward();
    optimizer_->step();
    return loss.detach();
  }

  CheckRun check_run() {
    CheckRun run;
    const std::vector<torch::Tensor> before = parameters_on_cpu(model_);
    for (int64_t i = 0; i < kCheckSteps; ++i) run.losses.push_back(step().item<double>());
    const std::vector<torch::Tensor> after = parameters_on_cpu(model_);
    for (size_t i = 0; i < after.size(); ++i) run.updates.push_back(after[i] - before[i]);
    return run;
  }

  torch::Device device() const { return device_; }

 private:
  TrainPoint point_;
  torch::Device device_;
  pb::BatchSource source_;
  torch::nn::AnyModule model_;
  std::unique_ptr<torch::optim::SGD> optimizer_;
  std::unique_ptr<pb::Prefetcher> prefetcher_;
  std::unique_ptr<pb::CudaGraphTrainStep> graph_;
  int64_t step_ = 0;
};

// Eager CPU training from pageable host memory on the same batches: the reference every point
// of the same model and batch must reproduce. Computed once per model and batch, whichever
// point asks first, so no point depends on the order the points run in.
const CheckRun& reference_run(pb::ModelKind model, int64_t batch) {
  static std::map<std::pair<pb::ModelKind, int64_t>, CheckRun> cache;
  const auto key = std::make_pair(model, batch);
  auto it = cache.find(key);
  if (it == cache.end()) {
    Trainee reference({model, "cpu", pb::InputPipeline::kPageable, Execution::kEager, batch}, data_for(model, batch));
    it = cache.emplace(key, reference.check_run()).first;
  }
  return it->second;
}

void train(benchmark::State& state, const TrainPoint point) {
  const std::string skip = skip_reason(point);
  if (!skip.empty()) {
    pb::bench::skip_point(state, skip);
    return;
  }
  const pb::TensorData& data = data_for(point.model, point.batch);
  std::optional<Trainee> trainee;
  CheckRun check;
  try {
    trainee.emplace(point, data);
    check = trainee->check_run();
  } catch (const std::exception& error) {
    // A real failure (capture refused, out of memory): one line, not a skip.
    std::string message = error.what();
    message = message.substr(0, message.find('\n'));
    pb::bench::skip_point(state, "failed: " + message);
    return;
  }
  const CheckRun& reference = reference_run(point.model, point.batch);
  const double loss_diff = relative_difference(check.losses, reference.losses);
  const double update_diff = relative_difference(check.updates, reference.updates);
  state.counters["loss_diff"] = loss_diff;
  state.counters["update_diff"] = update_diff;
  const double tolerance = trainee->device().is_cuda() ? kCudaTolerance : kCpuTolerance;
  if (!(loss_diff <= tolerance) || !(update_diff <= tolerance)) {
    pb::bench::skip_point(state, "losses or updates differ from eager CPU training on the same batches");
    return;
  }

  for (int64_t i = 0; i < kWarmupSteps; ++i) trainee->step();
  pb::synchronize(trainee->device());
  torch::Tensor loss;
  benchmark::IterationCount done = 0;
  for (auto _ : state) {
    loss = trainee->step();
    // GPU work is queued, not done: wait for it inside the last iteration, so that the timed
    // span ends when the last step has finished, while earlier steps overlap as in real training.
    if (++done == state.max_iterations) pb::synchronize(trainee->device());
  }
  state.counters["samples_per_s"] = benchmark::Counter(static_cast<double>(point.batch * state.iterations()), benchmark::Counter::kIsRate);
  state.counters["steps_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["final_loss"] = loss.item<double>();
}

// Copy bandwidth of one direction, memory kind and size; one iteration is one copy, waited for.
// GBps is the mean over the iterations, best_GBps the fastest single copy.
void copy(benchmark::State& state, const CopyPoint point) {
  const torch::Device device(torch::kCUDA, 0);
  const std::string reason = pb::cuda_unavailable_reason();
  if (!reason.empty()) {
    pb::bench::skip_point(state, "skipped: copy bandwidth needs CUDA: " + reason);
    return;
  }
  const int64_t bytes = point.bytes;
  std::optional<pb::CopyBuffers> buffers;
  try {
    buffers.emplace(bytes, point.direction, point.pinned, device);
  } catch (const std::exception& error) {
    pb::bench::skip_point(state, "failed: " + std::string(error.what()));
    return;
  }
  buffers->copy();  // first touch: the driver maps the buffers
  double best = std::numeric_limits<double>::infinity();
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    buffers->copy();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  state.counters["GBps"] = benchmark::Counter(static_cast<double>(bytes) * static_cast<double>(state.iterations()) / 1e9,
                                              benchmark::Counter::kIsRate);
  state.counters["best_GBps"] = static_cast<double>(bytes) / best / 1e9;
  double nominal = 0;
  pb::pcie_link_description(device, &nominal);
  if (nominal > 0) state.counters["link_nominal_GBps"] = nominal;
}

void register_benchmarks(const pb::bench::HarnessOptions& options) {
  Settings& s = settings();
  if (options.quick) {
    // Tiny: one small batch per device, and two copy sizes.
    s.batches = {std::min<int64_t>(*std::min_element(s.batches.begin(), s.batches.end()), 32)};
    s.cpu_batches = {std::min<int64_t>(*std::min_element(s.cpu_batches.begin(), s.cpu_batches.end()), 32)};
    s.copy_bytes = {4 * kKiB, kKiB * kKiB};
  }
  s.points = training_points(s);
  for (const TrainPoint& point : s.points) {
    auto* bench = benchmark::RegisterBenchmark(point.name().c_str(), train, point);
    bench->UseRealTime()->Unit(benchmark::kMillisecond);
    if (options.quick) bench->Iterations(2);
  }
  for (const CopyPoint& point : copy_points(s)) {
    auto* bench = benchmark::RegisterBenchmark(point.name().c_str(), copy, point);
    bench->UseRealTime()->Unit(benchmark::kMicrosecond);
    if (options.quick) bench->Iterations(2);
  }
  double nominal = 0;
  const std::string link = pb::pcie_link_description(torch::Device(torch::kCUDA, 0), &nominal);
  benchmark::AddCustomContext("pcie_link", link);
}

// The Python peer repeats every training point that ran: the same model, data, weights, batches,
// pipeline and execution, in PyTorch. Each row is matched to its point, whose fields (not the
// row's name) make the peer's point.
nlohmann::json peer_job(const nlohmann::json& report, const pb::bench::HarnessOptions&) {
  nlohmann::json job = {{"workflow", "gpu_training"}, {"points", nlohmann::json::array()}};
  for (const nlohmann::json* run : pb::bench::first_repetition_runs(report)) {
    const std::string run_name = run->value("run_name", std::string());
    const TrainPoint* point = pb::bench::find_point(settings().points, run_name);
    if (point == nullptr) continue;
    job["points"].push_back({{"name", run_name}, {"model", pb::model_name(point->model)}, {"device", point->device},
                             {"pipeline", pb::pipeline_name(point->pipeline)},
                             {"execution", execution_name(point->execution)}, {"batch", point->batch},
                             {"samples", kBatchesPerPoint * point->batch}, {"warmup_steps", kWarmupSteps},
                             {"threads", static_cast<int64_t>(torch::get_num_threads())}});
  }
  return job;
}

}  // namespace

int main(int argc, char** argv) {
  for (int64_t bytes = 4 * kKiB; bytes <= kKiB * kKiB * kKiB; bytes *= 4) settings().copy_bytes.push_back(bytes);
  pb::bench::Suite suite;
  suite.program = "bench_gpu_training";
  suite.purpose = "Family 2: GPU training (input pipelines, CUDA graphs) and host-device copy bandwidth.";
  suite.add_options = [](pb::Cli& cli) {
    Settings& s = settings();
    cli.option("models", &s.models, "models to train: mlp (001), cnn (002), linear (000)")
        .option("devices", &s.devices, "cpu and/or cuda")
        .option("pipelines", &s.pipelines, "input pipelines: pageable, pinned, resident, prefetch")
        .option("executions", &s.executions, "eager and/or graph (a CUDA graph per step)")
        .option("batches", &s.batches, "batch sizes of the cuda rows", 1, 65536)
        .option("cpu-batches", &s.cpu_batches, "batch sizes of the cpu rows", 1, 65536)
        .option("copy-bytes", &s.copy_bytes, "copy sizes in bytes", 1, int64_t{1} << 34)
        .validate([&s] {
          pb::bench::check_models(s.models);
          pb::bench::check_device_kinds(s.devices);
          for (const std::string& p : s.pipelines) {
            try {
              pb::parse_input_pipeline(p);
            } catch (const std::invalid_argument& e) {
              throw pb::CliError(std::string("--pipelines: ") + e.what());
            }
          }
          for (const std::string& e : s.executions) parse_execution(e);
        });
  };
  suite.register_benchmarks = register_benchmarks;
  suite.peer_job = peer_job;
  suite.report_spec = report_spec();
  return pb::bench::run_suite(argc, argv, suite);
}
