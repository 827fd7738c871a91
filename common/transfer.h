// Getting batches to the device and training on them fast: input pipelines (pageable, pinned,
// device-resident, prefetched on a side stream), a CUDA-graph training step, and copy bandwidth.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/error.h"
#include "common/data.h"
#include "common/models.h"

namespace pb {

// Something a transfer or graph helper cannot do here. what() is one line and stable.
struct TransferError : Error {
  using Error::Error;
};

// How the training loop gets each batch onto the device:
//   pageable  host tensors in ordinary memory, copied when needed (the copy stages through a
//             driver buffer and blocks the host)
//   pinned    host tensors in page-locked memory, copied with non_blocking=true (DMA, async)
//   resident  the whole data set copied to the device once; a batch is a view, no copy per step
//   prefetch  pinned host tensors, batch i+1 copied on a side stream while step i computes
enum class InputPipeline { kPageable, kPinned, kResident, kPrefetch };

std::vector<InputPipeline> all_input_pipelines();
// "pageable", "pinned", "resident", "prefetch".
std::string pipeline_name(InputPipeline pipeline);
// Throws std::invalid_argument("unknown pipeline 'x' (expected pageable, pinned, resident or prefetch)").
InputPipeline parse_input_pipeline(const std::string& name);
// Why `pipeline` cannot feed `device` in this process, or "" when it can. Pageable and resident
// run anywhere (on the CPU the copy is a no-op and residency a clone); pinned memory and a side
// stream only mean something for a CUDA device.
std::string pipeline_unavailable_reason(InputPipeline pipeline, torch::Device device);

// The data of a training run, held as `pipeline` needs it, handing out the device batch of step i:
// batch i covers samples [(i mod n) * batch, +batch) with n = samples / batch (the tail that does
// not fill a batch is never used), so every pipeline hands out the same batches in the same order.
// Throws TransferError when the pipeline cannot feed the device or the data holds no whole batch.
class BatchSource {
 public:
  BatchSource(const TensorData& data, int64_t batch, InputPipeline pipeline, torch::Device device);
  // The inputs and targets of step `step` on the device (for prefetch: copied synchronously; the
  // Prefetcher below is the overlapped way). Pinned copies are queued on the current stream and
  // are complete before any later work on that stream uses them.
  TensorData batch_on_device(int64_t step) const;
  // Batch `step` where it is stored (host for pageable, pinned and prefetch; device for resident).
  TensorData stored_batch(int64_t step) const;
  int64_t batches() const { return batches_; }
  int64_t batch_size() const { return batch_; }
  InputPipeline pipeline() const { return pipeline_; }
  torch::Device device() const { return device_; }
  // True when the stored host tensors are page-locked (pinned and prefetch on CUDA).
  bool is_pinned() const;

 private:
  TensorData stored_;
  int64_t batch_, batches_;
  InputPipeline pipeline_;
  torch::Device device_;
};

// Copies batch i+1 to the device while the caller trains on batch i. On CUDA, each copy runs on a
// side stream from the pool and records an event; next() makes the caller's current stream wait on
// that event, so compute never reads a half-copied batch, and record_stream() tells the caching
// allocator that the current stream uses the batch, so its memory is not handed out again while
// compute still reads it. On the CPU the same interface copies synchronously (a clone), so the
// order and the contents can be tested anywhere. Batches come out in the source's step order,
// each one complete before the caller's stream can use it.
class Prefetcher {
 public:
  // `depth` batches are kept in flight (at least 1). Starts copying steps 0 .. depth-1.
  Prefetcher(const BatchSource& source, int64_t depth = 1);
  ~Prefetcher();
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;
  // The next batch on the device, ready for work queued on the current stream after this call;
  // starts the copy of the batch `depth` steps ahead.
  TensorData next();
  // The step the next call to next() returns.
  int64_t next_step() const { return next_step_; }

 private:
  struct InFlight;
  void start(int64_t step);

  const BatchSource& source_;
  int64_t depth_;
  int64_t next_step_ = 0, started_ = 0;
  std::deque<std::unique_ptr<InFlight>> in_flight_;
};

// One training step of a model (forward, loss, backward with gradients zeroed in place, SGD step)
// captured once in a CUDA graph and replayed: one launch per step instead of one per kernel,
// which is what small models spend their time on. Inputs and targets are copied into static
// buffers; the loss is a static tensor, valid until the next step. Before capture, warm-up steps
// on a side stream create what capture cannot (SGD momentum buffers, autograd and cuBLAS
// workspaces); they are undone afterwards (parameters and momentum buffers restored, new
// momentum buffers zeroed, which for SGD without dampening is the same as no buffer), so step k
// of the graph equals step k of eager training from the same state.
// The model and optimizer must outlive this object and stay on one CUDA device; shapes are
// fixed at construction. Throws TransferError on the CPU or with a CPU-only libtorch.
class CudaGraphTrainStep {
 public:
  CudaGraphTrainStep(ModelKind kind, torch::nn::AnyModule model, torch::optim::SGD& optimizer,
                     const torch::Tensor& sample_inputs, const torch::Tensor& sample_targets, int64_t warmup_steps = 3);
  ~CudaGraphTrainStep();
  CudaGraphTrainStep(const CudaGraphTrainStep&) = delete;
  CudaGraphTrainStep& operator=(const CudaGraphTrainStep&) = delete;
  // Copies the batch (any device, the captured shapes) into the static buffers on the current
  // stream and replays the graph there; returns the static loss tensor (read it after the step:
  // .item() waits for the replay).
  torch::Tensor step(const torch::Tensor& inputs, const torch::Tensor& targets);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Why CUDA graphs cannot be used on `device`, or "".
std::string cuda_graph_unavailable_reason(torch::Device device);

enum class CopyDirection { kHostToDevice, kDeviceToHost };
// "h2d", "d2h".
std::string copy_direction_name(CopyDirection direction);

// A host buffer (pageable or pinned) and a device buffer of `bytes` bytes; copy() moves them once
// in `direction` and waits until the copy is done. Throws TransferError without a CUDA device.
class CopyBuffers {
 public:
  CopyBuffers(int64_t bytes, CopyDirection direction, bool pinned, torch::Device device);
  void copy();
  // The mean rate of `repeats` back-to-back copies, timed with CUDA events on the copying stream.
  double measure_gbps(int64_t repeats);
  int64_t bytes() const { return bytes_; }

 private:
  // Queues one copy on the current stream (non_blocking from pinned memory) without waiting.
  void enqueue_copy();
  int64_t bytes_;
  CopyDirection direction_;
  bool pinned_;
  torch::Device device_;
  torch::Tensor host_, device_buffer_;
};

// Copy bandwidth in GB/s (1e9 bytes per second): one warm-up copy, then `repeats` copies of
// `bytes` bytes timed with CUDA events. Throws TransferError on the CPU or without CUDA.
double copy_gbps(int64_t bytes, CopyDirection direction, bool pinned, torch::Device device, int64_t repeats);

// Nominal PCIe bandwidth per direction in GB/s of a link from Linux's sysfs strings
// ("16.0 GT/s PCIe", width 16): transfer rate x lanes x line-code efficiency (8b/10b up to
// 5 GT/s, 128b/130b above) / 8. 0 when the speed cannot be read.
double pcie_nominal_gbps(const std::string& link_speed, int64_t link_width);
// The PCIe link of `device` ("gen5 x16 (32.0 GT/s PCIe), nominal 63.0 GB/s per direction") read
// from /sys/bus/pci/devices/<bus id>/current_link_{speed,width}; "not reported by the driver"
// where those files are missing (VMs, some drivers), and a reason on the CPU or without CUDA.
// *nominal_gbps is set to the nominal rate, or 0.
std::string pcie_link_description(torch::Device device, double* nominal_gbps);

}  // namespace pb
