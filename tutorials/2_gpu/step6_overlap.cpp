// Tutorial 2, step 6 (beyond the source): copy the next batch while the GPU computes on this
// one, so that a step costs about max(copy, compute) instead of their sum.
//
// One CUDA stream runs its work in order: copy, then compute, then the next copy. The copy engine
// and the compute units can work at once, but only on different streams. So the next batch is
// copied from pinned memory on a side stream; an event recorded after that copy makes the compute
// stream, not the host, wait for it; and record_stream tells the caching allocator that the
// batch, allocated on the side stream, is read on the compute stream, so its memory is not handed
// to a later copy too early. Without a GPU there is nothing to overlap: the step says why.
#include <functional>
#include <iostream>

#include "common/cli.h"
#include "common/data.h"
#include "common/device.h"
#include "common/models.h"
#include "common/timer.h"
#include "common/train.h"

#if PB_HAVE_CUDA
#include <ATen/cuda/CUDAEvent.h>  // at::cuda::CUDAEvent: record on one stream, block another
#include <c10/cuda/CUDAGuard.h>   // c10::cuda::CUDAStreamGuard
#include <c10/cuda/CUDAStream.h>  // c10::cuda::getStreamFromPool, getCurrentCUDAStream
#endif

// Large batches, so a copy (12 MB at batch 262144) costs about as much as a step of the small MLP.
constexpr int64_t kBatch = 262144;
// Distinct batches in pinned host memory, used in turn.
constexpr int64_t kBatches = 8;
// Timed steps per variant, after kWarmupSteps.
constexpr int64_t kSteps = 50;
constexpr int64_t kWarmupSteps = 2;

int main(int argc, char** argv) {
  int64_t batch = kBatch, batches = kBatches, steps = kSteps;
  std::string device_spec = "auto";
  pb::Cli cli("tutorial_2_step6_overlap", "Step 6: prefetch the next batch on a side stream; copy and compute overlap.");
  cli.option("batch", &batch, "samples per step", 1, 1 << 24)
      .option("batches", &batches, "distinct batches in pinned host memory", 1, 1024)
      .option("steps", &steps, "timed steps per variant", 1, 100000)
      .option("device", &device_spec, "cpu, cuda, cuda:N or auto (cuda:0 when usable, else cpu)");
  pb::parse_or_exit(cli, argc, argv);
  const torch::Device device = pb::parse_device_or_exit(cli.program(), device_spec);
  std::cout << "== Step 6: overlap copies with compute ==\n";
  if (!device.is_cuda()) {
    const std::string reason = pb::cuda_unavailable_reason();
    std::cout << "not run: overlapping needs a CUDA device (pinned memory, a second stream, events), and "
              << (reason.empty() ? "--device " + device_spec + " was asked for" : reason)
              << "; on a GPU it prints copy alone, compute alone, serial, overlapped, and overlapped / max(copy, compute)\n";
    return 0;
  }
#if PB_HAVE_CUDA
  const pb::ModelKind kind = pb::ModelKind::kMlp;
  const pb::TensorData data = pb::make_synthetic_split(kind, batch * batches, 1, 0).train;
  // Pinned: only from page-locked memory can a copy run asynchronously, beside the compute.
  const torch::Tensor host_x = data.inputs.view({batches, batch, 10}).pin_memory();
  const torch::Tensor host_y = data.targets.view({batches, batch, 2}).pin_memory();
  torch::manual_seed(0);
  pb::Mlp model;
  model->to(device);
  torch::optim::SGD optimizer(model->parameters(), pb::source_optimizer_options(kind));
  auto compute = [&](const torch::Tensor& x, const torch::Tensor& y) {
    optimizer.zero_grad();
    pb::compute_loss(kind, model->forward(x), y).backward();
    optimizer.step();
  };
  // Milliseconds per step of body(i), after the warm-up steps.
  auto per_step_ms = [&](const std::function<void(int64_t)>& body) {
    for (int64_t i = 0; i < kWarmupSteps; ++i) body(i);
    pb::Timer timer(device);
    for (int64_t i = 0; i < steps; ++i) body(i);
    return 1e3 * timer.seconds() / static_cast<double>(steps);
  };

  // ---- Step 6a: copy alone, compute alone ----------------------------------------------------
  std::cout << "\n== Step 6a: copy alone, compute alone (batch " << batch << ") ==\n";
  torch::Tensor dev_x = host_x[0].to(device), dev_y = host_y[0].to(device);
  const double copy_ms = per_step_ms([&](int64_t i) {
    dev_x.copy_(host_x[i % batches], /*non_blocking=*/true);
    dev_y.copy_(host_y[i % batches], /*non_blocking=*/true);
  });
  const double compute_ms = per_step_ms([&](int64_t) { compute(dev_x, dev_y); });
  const double bytes = static_cast<double>(host_x[0].nbytes() + host_y[0].nbytes());
  std::cout << "copy alone:    " << copy_ms << " ms/step (" << bytes / copy_ms / 1e6 << " GB/s)\n";
  std::cout << "compute alone: " << compute_ms << " ms/step\n";

  // ---- Step 6b: serial -----------------------------------------------------------------------
  // A blocking copy on the compute stream: the host waits for it, then queues the compute.
  std::cout << "\n== Step 6b: serial: copy, wait, compute ==\n";
  const double serial_ms = per_step_ms([&](int64_t i) { compute(host_x[i % batches].to(device), host_y[i % batches].to(device)); });
  std::cout << "serial:        " << serial_ms << " ms/step (copy + compute = " << copy_ms + compute_ms << ")\n";

  // ---- Step 6c: overlapped -------------------------------------------------------------------
  std::cout << "\n== Step 6c: overlapped: prefetch on a side stream ==\n";
  const c10::cuda::CUDAStream copy_stream = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index());
  const c10::cuda::CUDAStream compute_stream = c10::cuda::getCurrentCUDAStream(device.index());
  torch::Tensor next_x, next_y;
  int64_t next_index = -1;   // which host batch next_x holds; -1: none fetched yet
  at::cuda::CUDAEvent copied;  // recorded after each prefetch, on the copy stream
  auto prefetch = [&](int64_t i) {
    c10::cuda::CUDAStreamGuard guard(copy_stream);  // the copies below are queued on the side stream
    next_x = host_x[i % batches].to(device, /*non_blocking=*/true);
    next_y = host_y[i % batches].to(device, /*non_blocking=*/true);
    copied.record(copy_stream);
    next_index = i % batches;
  };
  const double overlapped_ms = per_step_ms([&](int64_t i) {
    if (next_index < 0) prefetch(i);  // the very first batch has no step before it to hide behind
    copied.block(compute_stream);     // the GPU waits for the copy; the host does not
    const torch::Tensor x = next_x, y = next_y;
    x.record_stream(compute_stream);  // allocated on the copy stream, read on the compute stream
    y.record_stream(compute_stream);
    prefetch(i + 1);  // queued now, so it runs while the compute below does
    compute(x, y);
  });
  pb::synchronize(device);
  const bool landed = torch::equal(next_x.cpu(), host_x[next_index]) && torch::equal(next_y.cpu(), host_y[next_index]);
  std::cout << "overlapped:    " << overlapped_ms << " ms/step; the last prefetched batch equals its host copy: "
            << (landed ? "yes" : "no") << "\n";
  const double bound = std::max(copy_ms, compute_ms);
  std::cout << "overlapped / max(copy, compute): " << overlapped_ms / bound << " (1 = perfect overlap); serial / max: "
            << serial_ms / bound << "\n";
  return landed ? 0 : 1;
#endif
}
