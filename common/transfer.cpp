// Input pipelines, the side-stream prefetcher, the CUDA-graph training step and copy bandwidth;
// CUDA-only parts compile only with a CUDA libtorch and report why they cannot run otherwise.
#include "common/transfer.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <type_traits>

#if PB_HAVE_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include "common/device.h"
#include "common/timer.h"

namespace pb {

std::vector<InputPipeline> all_input_pipelines() {
  return {InputPipeline::kPageable, InputPipeline::kPinned, InputPipeline::kResident, InputPipeline::kPrefetch};
}

std::string pipeline_name(InputPipeline pipeline) {
  switch (pipeline) {
    case InputPipeline::kPageable: return "pageable";
    case InputPipeline::kPinned: return "pinned";
    case InputPipeline::kResident: return "resident";
    case InputPipeline::kPrefetch: return "prefetch";
  }
  return "?";
}

InputPipeline parse_input_pipeline(const std::string& name) {
  for (InputPipeline p : all_input_pipelines()) {
    if (pipeline_name(p) == name) return p;
  }
  throw std::invalid_argument("unknown pipeline '" + name + "' (expected pageable, pinned, resident or prefetch)");
}

std::string pipeline_unavailable_reason(InputPipeline pipeline, torch::Device device) {
  if (device.is_cuda()) {
    const std::string reason = cuda_unavailable_reason();
    return reason.empty() ? "" : "CUDA unavailable: " + reason;
  }
  if (pipeline == InputPipeline::kPinned) return "pinned memory only speeds up copies to a CUDA device";
  if (pipeline == InputPipeline::kPrefetch) return "prefetching on a side stream needs a CUDA device";
  return "";
}

// ---------------------------------------------------------------------------------------------
// BatchSource
// ---------------------------------------------------------------------------------------------

BatchSource::BatchSource(const TensorData& data, int64_t batch, InputPipeline pipeline, torch::Device device)
    : batch_(batch), batches_(batch > 0 ? data.size() / batch : 0), pipeline_(pipeline), device_(device) {
  const std::string reason = pipeline_unavailable_reason(pipeline, device);
  if (!reason.empty()) throw TransferError("pipeline '" + pipeline_name(pipeline) + "' on " + device.str() + ": " + reason);
  if (batches_ < 1) {
    throw TransferError("batch " + std::to_string(batch) + " does not fit in " + std::to_string(data.size()) + " samples");
  }
  // Only whole batches, contiguous, so that every batch is one contiguous block (one DMA copy).
  const int64_t used = batches_ * batch_;
  TensorData whole{data.inputs.narrow(0, 0, used).contiguous(), data.targets.narrow(0, 0, used).contiguous()};
  switch (pipeline) {
    case InputPipeline::kPageable:
      stored_ = whole;
      break;
    case InputPipeline::kPinned:
    case InputPipeline::kPrefetch:
      // Page-locked: the GPU's copy engine reads it directly, without the driver's staging copy.
      stored_ = {whole.inputs.pin_memory(), whole.targets.pin_memory()};
      break;
    case InputPipeline::kResident:
      // A copy of its own even on the CPU, so that the source data is never aliased.
      stored_ = {whole.inputs.to(device, /*non_blocking=*/false, /*copy=*/true),
                 whole.targets.to(device, /*non_blocking=*/false, /*copy=*/true)};
      break;
  }
}

TensorData BatchSource::stored_batch(int64_t step) const {
  const int64_t begin = (step % batches_) * batch_;
  return {stored_.inputs.narrow(0, begin, batch_), stored_.targets.narrow(0, begin, batch_)};
}

TensorData BatchSource::batch_on_device(int64_t step) const {
  const TensorData stored = stored_batch(step);
  if (pipeline_ == InputPipeline::kResident) return stored;
  // non_blocking only helps from pinned memory; from pageable memory the copy is synchronous.
  const bool async = is_pinned();
  return {stored.inputs.to(device_, async), stored.targets.to(device_, async)};
}

bool BatchSource::is_pinned() const {
  return (pipeline_ == InputPipeline::kPinned || pipeline_ == InputPipeline::kPrefetch) && stored_.inputs.is_pinned();
}

// ---------------------------------------------------------------------------------------------
// Prefetcher
// ---------------------------------------------------------------------------------------------

struct Prefetcher::InFlight {
  TensorData batch;
#if PB_HAVE_CUDA
  at::cuda::CUDAEvent ready;  // recorded on the side stream after the copy was queued
#endif
};

#if PB_HAVE_CUDA
namespace {
// One side stream per device for all prefetchers: streams from the pool are shared round-robin
// anyway, and a fixed one keeps the copies of one prefetcher in order.
c10::cuda::CUDAStream copy_stream(torch::Device device) {
  static std::map<c10::DeviceIndex, c10::cuda::CUDAStream> streams;
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = streams.find(device.index());
  if (it == streams.end()) {
    it = streams.emplace(device.index(), c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index())).first;
  }
  return it->second;
}
}  // namespace
#endif

Prefetcher::Prefetcher(const BatchSource& source, int64_t depth) : source_(source), depth_(std::max<int64_t>(1, depth)) {
  for (int64_t i = 0; i < depth_; ++i) start(started_++);
}

Prefetcher::~Prefetcher() {
#if PB_HAVE_CUDA
  // Copies still queued read the source's host memory: let them finish before anyone frees it.
  if (source_.device().is_cuda()) copy_stream(source_.device()).synchronize();
#endif
}

void Prefetcher::start(int64_t step) {
  auto item = std::make_unique<InFlight>();
  const TensorData stored = source_.stored_batch(step);
  const torch::Device device = source_.device();
  if (device.is_cuda()) {
#if PB_HAVE_CUDA
    const c10::cuda::CUDAStream side = copy_stream(device);
    c10::cuda::CUDAStreamGuard guard(side);  // the copies, and the allocations they write into
    item->batch = {stored.inputs.to(device, /*non_blocking=*/true, /*copy=*/true),
                   stored.targets.to(device, /*non_blocking=*/true, /*copy=*/true)};
    item->ready.record(side);
#endif
  } else {
    // The CPU has no streams: copy now. A clone, so the batch is the caller's own tensor.
    item->batch = {stored.inputs.clone(), stored.targets.clone()};
  }
  in_flight_.push_back(std::move(item));
}

TensorData Prefetcher::next() {
  std::unique_ptr<InFlight> item = std::move(in_flight_.front());
  in_flight_.pop_front();
  ++next_step_;
#if PB_HAVE_CUDA
  if (source_.device().is_cuda()) {
    const c10::cuda::CUDAStream current = c10::cuda::getCurrentCUDAStream(source_.device().index());
    // Work queued on the current stream from now on starts after the copy finished.
    item->ready.block(current);
    // The batch was allocated on the side stream; without this the caching allocator could hand
    // its memory to the next copy as soon as the caller drops it, while compute still reads it.
    item->batch.inputs.record_stream(current);
    item->batch.targets.record_stream(current);
  }
#endif
  start(started_++);
  return item->batch;
}

// ---------------------------------------------------------------------------------------------
// CudaGraphTrainStep
// ---------------------------------------------------------------------------------------------

std::string cuda_graph_unavailable_reason(torch::Device device) {
  if (!PB_HAVE_CUDA) return "CUDA graphs need a CUDA build of libtorch (this one is CPU-only)";
  if (!device.is_cuda()) return "CUDA graphs need a CUDA device, got " + device.str();
  const std::string reason = cuda_unavailable_reason();
  return reason.empty() ? "" : "CUDA unavailable: " + reason;
}

struct CudaGraphTrainStep::Impl {
#if PB_HAVE_CUDA
  Impl(ModelKind kind, torch::nn::AnyModule model, torch::optim::SGD& optimizer)
      : kind(kind), model(std::move(model)), optimizer(optimizer) {}

  // The step as captured: gradients zeroed in place (set to none, backward would allocate new
  // ones from the graph's pool on every replay and the parameters' .grad would not be the graph's),
  // forward, loss, backward (accumulates into the zeroed gradients), SGD update in place.
  void body() {
    for (const torch::Tensor& p : model.ptr()->parameters()) {
      if (p.grad().defined()) p.grad().zero_();
    }
    torch::Tensor loss = compute_loss(kind, model.forward(static_inputs), static_targets);
    loss.backward();
    optimizer.step();
    static_loss = loss.detach();
  }

  ModelKind kind;
  torch::nn::AnyModule model;
  torch::optim::SGD& optimizer;
  torch::Device device{torch::kCPU};
  torch::Tensor static_inputs, static_targets, static_loss;
  at::cuda::CUDAGraph graph;
#endif
};

CudaGraphTrainStep::CudaGraphTrainStep(ModelKind kind, torch::nn::AnyModule model, torch::optim::SGD& optimizer,
                                       const torch::Tensor& sample_inputs, const torch::Tensor& sample_targets,
                                       int64_t warmup_steps) {
  const std::string reason = cuda_graph_unavailable_reason(sample_inputs.device());
  if (!reason.empty()) throw TransferError(reason);
#if PB_HAVE_CUDA
  impl_ = std::make_unique<Impl>(kind, std::move(model), optimizer);
  Impl& s = *impl_;
  s.device = sample_inputs.device();
  const c10::DeviceIndex index = s.device.index();
  c10::cuda::CUDAGuard device_guard(s.device);
  s.static_inputs = sample_inputs.clone();
  s.static_targets = sample_targets.to(s.device).clone();

  // What warm-up changes and must be put back: parameters, and SGD momentum buffers.
  torch::NoGradGuard no_grad_for_copies;
  const std::vector<torch::Tensor> params = s.model.ptr()->parameters();
  std::vector<torch::Tensor> saved_params;
  for (const torch::Tensor& p : params) saved_params.push_back(p.detach().clone());
  // The state map's key type differs between libtorch versions (a string in 1.x); only compare keys.
  using StateKey = std::decay_t<decltype(optimizer.state().begin()->first)>;
  std::map<StateKey, torch::Tensor> saved_buffers;
  for (const auto& [key, state] : optimizer.state()) {
    const auto* sgd = dynamic_cast<const torch::optim::SGDParamState*>(state.get());
    if (sgd != nullptr && sgd->momentum_buffer().defined()) saved_buffers[key] = sgd->momentum_buffer().clone();
  }

  // Warm-up on a side stream, as the CUDA graphs documentation does: the first steps allocate
  // (momentum buffers, gradients, cuBLAS workspace) and may synchronise, which capture forbids.
  const c10::cuda::CUDAStream current = c10::cuda::getCurrentCUDAStream(index);
  const c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, index);
  {
    at::cuda::CUDAEvent inputs_ready;
    inputs_ready.record(current);
    inputs_ready.block(side);
    c10::cuda::CUDAStreamGuard guard(side);
    torch::AutoGradMode grad_on(true);
    for (int64_t i = 0; i < std::max<int64_t>(1, warmup_steps); ++i) s.body();
    at::cuda::CUDAEvent warmed;
    warmed.record(side);
    warmed.block(current);
  }

  // Undo the warm-up: eager step k and graph step k then start from the same state.
  for (size_t i = 0; i < params.size(); ++i) params[i].detach().copy_(saved_params[i]);
  for (auto& [key, state] : optimizer.state()) {
    auto* sgd = dynamic_cast<torch::optim::SGDParamState*>(state.get());
    if (sgd == nullptr || !sgd->momentum_buffer().defined()) continue;
    auto it = saved_buffers.find(key);
    // A buffer the warm-up created: zero is what "no buffer yet" means for SGD without dampening
    // (the first step sets buf = grad; with buf = 0, buf * momentum + grad is the same).
    if (it == saved_buffers.end()) {
      sgd->momentum_buffer().zero_();
    } else {
      sgd->momentum_buffer().copy_(it->second);
    }
  }

  // Capture on a stream of its own (capture on the default stream is not allowed), after the
  // restoring copies on the current stream.
  const c10::cuda::CUDAStream capture = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, index);
  {
    at::cuda::CUDAEvent restored;
    restored.record(current);
    restored.block(capture);
    c10::cuda::CUDAStreamGuard guard(capture);
    torch::AutoGradMode grad_on(true);
    s.graph.capture_begin();
    s.body();
    s.graph.capture_end();
    at::cuda::CUDAEvent captured;
    captured.record(capture);
    captured.block(current);
  }
#else
  (void)kind;
  (void)model;
  (void)optimizer;
  (void)sample_targets;
  (void)warmup_steps;
#endif
}

CudaGraphTrainStep::~CudaGraphTrainStep() = default;

torch::Tensor CudaGraphTrainStep::step(const torch::Tensor& inputs, const torch::Tensor& targets) {
#if PB_HAVE_CUDA
  Impl& s = *impl_;
  c10::cuda::CUDAGuard device_guard(s.device);
  // On the current stream, like the replay: the graph reads the buffers only after these copies.
  s.static_inputs.copy_(inputs, /*non_blocking=*/true);
  s.static_targets.copy_(targets, /*non_blocking=*/true);
  s.graph.replay();
  return s.static_loss;
#else
  (void)inputs;
  (void)targets;
  throw TransferError(cuda_graph_unavailable_reason(torch::kCPU));
#endif
}

// ---------------------------------------------------------------------------------------------
// Copy bandwidth
// ---------------------------------------------------------------------------------------------

std::string copy_direction_name(CopyDirection direction) {
  return direction == CopyDirection::kHostToDevice ? "h2d" : "d2h";
}

CopyBuffers::CopyBuffers(int64_t bytes, CopyDirection direction, bool pinned, torch::Device device)
    : bytes_(bytes), direction_(direction), pinned_(pinned), device_(device) {
  if (!device.is_cuda()) throw TransferError("copy bandwidth needs a CUDA device, got " + device.str());
  const std::string reason = cuda_unavailable_reason();
  if (!reason.empty()) throw TransferError("copy bandwidth needs CUDA: " + reason);
  if (bytes < 1) throw TransferError("copy size must be at least 1 byte, got " + std::to_string(bytes));
  host_ = torch::empty({bytes}, torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(pinned));
  // Written, not just allocated: untouched pageable pages all map to the kernel's zero page, and
  // reading them would measure a cache, not memory.
  host_.fill_(1);
  device_buffer_ = torch::full({bytes}, 2, torch::TensorOptions().dtype(torch::kUInt8).device(device));
  synchronize(device);
}

void CopyBuffers::enqueue_copy() {
  if (direction_ == CopyDirection::kHostToDevice) {
    device_buffer_.copy_(host_, /*non_blocking=*/pinned_);
  } else {
    host_.copy_(device_buffer_, /*non_blocking=*/pinned_);
  }
}

void CopyBuffers::copy() {
  // non_blocking from pinned memory is a DMA the host does not wait for; wait here, so that the
  // time of a copy is the time until its data has arrived.
  enqueue_copy();
  synchronize(device_);
}

double CopyBuffers::measure_gbps(int64_t repeats) {
  repeats = std::max<int64_t>(1, repeats);
#if PB_HAVE_CUDA
  c10::cuda::CUDAGuard device_guard(device_);
  const c10::cuda::CUDAStream stream = c10::cuda::getCurrentCUDAStream(device_.index());
  at::cuda::CUDAEvent start(cudaEventDefault), stop(cudaEventDefault);  // the default disables timing
  start.record(stream);
  for (int64_t r = 0; r < repeats; ++r) enqueue_copy();
  stop.record(stream);
  stop.synchronize();
  const double seconds = static_cast<double>(start.elapsed_time(stop)) / 1e3;
  return static_cast<double>(bytes_) * static_cast<double>(repeats) / seconds / 1e9;
#else
  throw TransferError("copy bandwidth needs CUDA: " + cuda_unavailable_reason());
#endif
}

double copy_gbps(int64_t bytes, CopyDirection direction, bool pinned, torch::Device device, int64_t repeats) {
  CopyBuffers buffers(bytes, direction, pinned, device);
  buffers.copy();  // first touch: the driver maps and registers the buffers
  return buffers.measure_gbps(repeats);
}

// ---------------------------------------------------------------------------------------------
// PCIe link
// ---------------------------------------------------------------------------------------------

double pcie_nominal_gbps(const std::string& link_speed, int64_t link_width) {
  double gts = 0;
  if (std::sscanf(link_speed.c_str(), "%lf GT/s", &gts) != 1 || !(gts > 0) || link_width < 1) return 0;
  const double efficiency = gts <= 5.0 ? 8.0 / 10.0 : 128.0 / 130.0;  // gen1-2: 8b/10b; gen3+: 128b/130b
  return gts * static_cast<double>(link_width) * efficiency / 8.0;
}

#if PB_HAVE_CUDA
namespace {

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// PCIe generation from the transfer rate (2.5, 5, 8, 16, 32, 64 GT/s).
int pcie_generation(double gts) {
  const double rates[] = {2.5, 5, 8, 16, 32, 64};
  for (int g = 0; g < 6; ++g) {
    if (std::abs(gts - rates[g]) < 0.5) return g + 1;
  }
  return 0;
}

}  // namespace
#endif

std::string pcie_link_description(torch::Device device, double* nominal_gbps) {
  *nominal_gbps = 0;
  if (!device.is_cuda()) return "no PCIe link: " + device.str() + " is not a CUDA device";
  const std::string reason = cuda_unavailable_reason();
  if (!reason.empty()) return "unknown: CUDA unavailable: " + reason;
#if PB_HAVE_CUDA
  // cudaDeviceProp has the bus address but not the link's generation and width (NVML has them,
  // which this project does not link); Linux publishes both in sysfs.
  const cudaDeviceProp* prop = at::cuda::getDeviceProperties(device.index() < 0 ? 0 : device.index());
  char address[32];
  std::snprintf(address, sizeof address, "%04x:%02x:%02x.0", static_cast<unsigned>(prop->pciDomainID),
                static_cast<unsigned>(prop->pciBusID), static_cast<unsigned>(prop->pciDeviceID));
  const std::string dir = std::string("/sys/bus/pci/devices/") + address + "/";
  const std::string speed = read_first_line(dir + "current_link_speed");
  const std::string width_text = read_first_line(dir + "current_link_width");
  int64_t width = 0;
  try {
    width = std::stoll(width_text);
  } catch (const std::exception&) {
    width = 0;
  }
  *nominal_gbps = pcie_nominal_gbps(speed, width);
  if (*nominal_gbps <= 0) return "not reported by the driver";
  double gts = 0;
  std::sscanf(speed.c_str(), "%lf", &gts);
  std::ostringstream out;
  out.precision(3);
  const int gen = pcie_generation(gts);
  out << (gen > 0 ? "gen" + std::to_string(gen) + " " : std::string()) << "x" << width << " (" << speed
      << "), nominal " << *nominal_gbps << " GB/s per direction (" << address << ")";
  return out.str();
#else
  return "not reported by the driver";
#endif
}

}  // namespace pb
