// Tutorial 2, step 6 (beyond the source): copy the next batch while the GPU computes on this
// one, so that a step costs about max(copy, compute) instead of their sum.
//
// One CUDA stream runs its work in order: copy, then compute, then the next copy. The copy engine
// and the compute units can work at once, but only on different streams. So the next batch is
// copied from pinned memory on a side stream; an event recorded after that copy makes the compute
// stream, not the host, wait for it; and record_stream tells the caching allocator that the
// batch, allocated on the side stream, is read on the compute stream, so its memory is not handed
// to a later copy too early. Without a GPU there is nothing to overlap: the step says why.
// It starts from step 5 (story.h): the same device, model, optimizer, step 4's data recipe and
// step 5's pinned memory, at the larger batch it announces.
#include <functional>
#include <iostream>

#include "common/cli.h"
#include "common/data.h"
#include "common/device.h"
#include "common/models.h"
#include "common/timer.h"
#include "common/train.h"
#include "tutorials/2_gpu/story.h"

#if PB_HAVE_CUDA
#include <ATen/cuda/CUDAEvent.h>  // at::cuda::CUDAEvent: record on one stream, block another
#include <c10/cuda/CUDAGuard.h>   // c10::cuda::CUDAStreamGuard
#include <c10/cuda/CUDAStream.h>  // c10::cuda::getStreamFromPool, getCurrentCUDAStream
#endif

// The sizes (8 batches of 262144, 50 timed steps per variant after 2 warm-up steps) are the
// series' settings, in story.h.
constexpr int64_t kWarmupSteps = series2::kOverlapWarmupSteps;

int main(int argc, char** argv) {
  int64_t batch = series2::kOverlapBatch, batches = series2::kOverlapBatches, steps = series2::kOverlapSteps;
  std::string device_spec;
  pb::Cli cli("tutorial_2_step6_overlap", "Step 6: prefetch the next batch on a side stream; copy and compute overlap.");
  cli.option("batch", &batch, "samples per step", 1, 1 << 24)
      .option("batches", &batches, "distinct batches in pinned host memory", 1, 1024)
      .option("steps", &steps, "timed steps per variant", 1, 100000);
  series2::add_device_option(cli, &device_spec);
  pb::parse_or_exit(cli, argc, argv);
  const torch::Device device = series2::step1_device(cli.program(), device_spec);
  series2::print_start(6, device);
  // Step 5's sizes, changed on purpose: a copy must last as long as a step to be worth hiding.
  series2::announce_change(5, "batch", series2::kTransferBatch, batch, series2::kOverlapBatch,
                           "a copy of 12 MiB lasts about as long as a step of the MLP: something to overlap");
  series2::announce_change(5, "training samples", series2::kTransferSamples, batch * batches,
                           series2::kOverlapBatch * series2::kOverlapBatches, "8 distinct batches in pinned host memory, used in turn");
  series2::announce_change(5, "training steps per mode", series2::kTransferSteps, kWarmupSteps + steps,
                           kWarmupSteps + series2::kOverlapSteps,
                           "2 warm-up and 50 timed steps per variant: it times a step, not how well the model learns");
  std::cout << "\n== Step 6: overlap copies with compute ==\n";
  if (!device.is_cuda()) {
    std::cout << "not run: overlapping needs a CUDA device (pinned memory, a second stream, events), and "
              << series2::step1_why_not_cuda(device, device_spec)
              << "; on a GPU it prints copy alone, compute alone, serial, overlapped, and overlapped / max(copy, compute)\n";
    return 0;
  }
#if PB_HAVE_CUDA
  const pb::ModelKind kind = series2::kKind;
  const pb::DataSplit split = series2::step4_data(batch * batches);
  const bool continues = series2::print_holds_step4_data(split);
  const pb::TensorData& data = split.train;
  // Pinned: only from page-locked memory can a copy run asynchronously, beside the compute.
  const torch::Tensor host_x = data.inputs.view({batches, batch, 10}).pin_memory();
  const torch::Tensor host_y = data.targets.view({batches, batch, 2}).pin_memory();
  pb::Mlp model = series2::step2_model();
  model->to(device);
  torch::optim::SGD optimizer = series2::step3_optimizer(model);
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
  return landed && continues ? 0 : 1;
#endif
}
