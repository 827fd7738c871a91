// Tutorial 2, step 7 (beyond the source): capture the whole training step (forward, loss,
// backward, optimizer step) as one CUDA graph and replay it, against the same steps run eagerly.
//
// The source's MLP is tiny: a step is dozens of small kernels, each launched by the CPU, and the
// GPU idles between launches. A CUDA graph records the kernels once and replays them with one
// launch. What it records is fixed, hence the constraints this step follows:
//   - static shapes: every batch has the same shape (a partial last batch needs its own graph);
//   - static inputs: the graph reads the same addresses each replay, so every batch is copied
//     into two fixed buffers, never passed as a new tensor;
//   - warm-up first, on a side stream: the first eager steps create the gradients, the optimizer's
//     state and the libraries' workspaces, so capture allocates nothing it should not;
//   - gradients zeroed in place inside the graph (p.grad().zero_(), set_to_none=false semantics),
//     never set to None: backward then accumulates into the same gradient tensors every replay;
//   - no host synchronisation inside the capture (no .item(), no printing of tensors).
// It starts from step 6 (story.h): the same device, model, optimizer and step 4's data recipe,
// resident on the device (step 5's fastest mode), at the small batch it announces.
#include <iomanip>
#include <iostream>

#include "common/cli.h"
#include "common/data.h"
#include "common/device.h"
#include "common/models.h"
#include "common/timer.h"
#include "common/train.h"
#include "tutorials/2_gpu/story.h"

#if PB_HAVE_CUDA
#include <ATen/cuda/CUDAEvent.h>  // at::cuda::CUDAEvent
#include <ATen/cuda/CUDAGraph.h>  // at::cuda::CUDAGraph: capture_begin, capture_end, replay
#include <c10/cuda/CUDAGuard.h>   // c10::cuda::CUDAStreamGuard
#include <c10/cuda/CUDAStream.h>  // c10::cuda::getStreamFromPool, getCurrentCUDAStream
#endif

// The sizes (16 batches of 256 resident on the device, 2000 steps per run) are the series'
// settings, in story.h. Distinct batches, used in turn:
constexpr int64_t kBatches = series2::kGraphBatches;
// The first steps of each run, untimed: the PyTorch documentation warms up 3 before a capture.
constexpr int64_t kWarmupSteps = 3;

int main(int argc, char** argv) {
  int64_t batch = series2::kGraphBatch, steps = series2::kGraphSteps;
  bool graph_flag = false;
  std::string device_spec;
  pb::Cli cli("tutorial_2_step7_cuda_graph", "Step 7: the whole training step as one CUDA graph, against eager.");
  cli.option("batch", &batch, "samples per step", 1, 1 << 20)
      .option("steps", &steps, "training steps per run", kWarmupSteps + 1, 10'000'000)
      .flag("graph", &graph_flag, "capture and replay the step as a CUDA graph (needs CUDA; on by default with a GPU)");
  series2::add_device_option(cli, &device_spec);
  pb::parse_or_exit(cli, argc, argv);
  const torch::Device device = series2::step1_device(cli.program(), device_spec);
  const std::string why_not = series2::step1_why_not_cuda(device, device_spec);
  if (graph_flag && !device.is_cuda()) pb::fail_usage(cli.program(), "--graph needs a CUDA device: " + why_not);
  const bool use_graph = device.is_cuda();
  series2::print_start(7, device);
  // Step 6's sizes, changed on purpose: a graph saves launches, which dominate small batches.
  series2::announce_change(6, "batch", series2::kOverlapBatch, batch, series2::kGraphBatch,
                           "small batches, where launch overhead dominates and a graph helps most");
  series2::announce_change(6, "training samples", series2::kOverlapBatch * series2::kOverlapBatches, batch * kBatches,
                           series2::kGraphBatch * kBatches, "16 batches, resident on the device, used in turn");
  series2::announce_change(6, "training steps per mode", series2::kOverlapWarmupSteps + series2::kOverlapSteps, steps,
                           series2::kGraphSteps, "enough to learn the task and to time the replay");
  const pb::ModelKind kind = series2::kKind;
  const pb::DataSplit split = series2::step4_data(batch * kBatches);
  const bool continues = series2::print_holds_step4_data(split);
  const pb::TensorData& data = split.train;
  const torch::Tensor inputs = data.inputs.view({kBatches, batch, 10}).to(device);
  const torch::Tensor targets = data.targets.view({kBatches, batch, 2}).to(device);
  auto eager_step = [&](pb::Mlp& model, torch::optim::SGD& optimizer, const torch::Tensor& x, const torch::Tensor& y) {
    optimizer.zero_grad();
    torch::Tensor loss = pb::compute_loss(kind, model->forward(x), y);
    loss.backward();
    optimizer.step();
    return loss;
  };
  // Accuracy, in percent, on the held-out samples, which no step trains on.
  auto held_out_percent = [&](pb::Mlp& model) {
    torch::NoGradGuard no_grad;
    const torch::Tensor out = model->forward(split.val.inputs.to(device));
    return 100.0 * static_cast<double>(pb::count_correct(kind, out, split.val.targets.to(device))) /
           static_cast<double>(split.val.size());
  };

  // ---- Step 7a: eager ------------------------------------------------------------------------
  std::cout << "\n== Step 7a: eager, " << steps << " steps of batch " << batch << " on " << device << " ==\n";
  pb::Mlp eager = series2::step2_model();
  eager->to(device);
  torch::optim::SGD eager_optimizer = series2::step3_optimizer(eager);
  torch::Tensor loss;
  for (int64_t s = 0; s < kWarmupSteps; ++s) loss = eager_step(eager, eager_optimizer, inputs[s % kBatches], targets[s % kBatches]);
  pb::Timer eager_timer(device);
  for (int64_t s = kWarmupSteps; s < steps; ++s) {
    loss = eager_step(eager, eager_optimizer, inputs[s % kBatches], targets[s % kBatches]);
  }
  const double eager_rate = static_cast<double>(steps - kWarmupSteps) / eager_timer.seconds();
  const double eager_loss = loss.item<double>();
  std::cout << "eager: " << static_cast<int64_t>(eager_rate) << " steps/s, final loss " << eager_loss << "\n";
  const double eager_accuracy = held_out_percent(eager);
  std::cout << "held-out accuracy: " << std::fixed << std::setprecision(1) << eager_accuracy << "% (chance: 50%) on "
            << split.val.size() << " samples never trained on\n" << std::defaultfloat << std::setprecision(6);
  if (!use_graph) {
    std::cout << "\nCUDA graph: not captured: it needs a CUDA device, and " << why_not
              << "; on a GPU this step replays the same steps as one graph and prints its steps/s and final loss\n";
    return continues ? 0 : 1;
  }
#if PB_HAVE_CUDA
  // ---- Step 7b: warm up on a side stream -----------------------------------------------------
  std::cout << "\n== Step 7b: warm up on a side stream ==\n";
  pb::Mlp model = series2::step2_model();  // the same initial weights as the eager run
  model->to(device);
  torch::optim::SGD optimizer = series2::step3_optimizer(model);
  // The static inputs: the graph reads these two buffers on every replay.
  torch::Tensor static_x = torch::empty_like(inputs[0]), static_y = torch::empty_like(targets[0]);
  const c10::cuda::CUDAStream main_stream = c10::cuda::getCurrentCUDAStream(device.index());
  // Capture is refused on the default stream; warm-up runs on the same side stream.
  const c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index());
  at::cuda::CUDAEvent made, warmed;
  made.record(main_stream);  // the side stream must wait for the model, data and buffers made on the main one
  made.block(side);
  at::cuda::CUDAGraph graph;
  torch::Tensor static_loss;
  {
    c10::cuda::CUDAStreamGuard guard(side);
    for (int64_t s = 0; s < kWarmupSteps; ++s) {  // the same first steps as the eager run
      static_x.copy_(inputs[s % kBatches]);
      static_y.copy_(targets[s % kBatches]);
      eager_step(model, optimizer, static_x, static_y);
    }
    std::cout << kWarmupSteps << " eager steps: gradients exist: " << (model->fc1->weight.grad().defined() ? "yes" : "no") << "\n";

    // ---- Step 7c: capture ----------------------------------------------------------------------
    std::cout << "\n== Step 7c: capture ==\n";
    // Captured, not run: kernels are recorded into the graph, none executes until replay().
    graph.capture_begin();
    for (auto& p : model->parameters()) p.grad().zero_();  // in place: same gradient tensors every replay
    static_loss = pb::compute_loss(kind, model->forward(static_x), static_y);
    static_loss.backward();
    optimizer.step();
    graph.capture_end();
    warmed.record(side);
  }
  warmed.block(main_stream);
  std::cout << "captured forward, loss, backward and optimizer step into one graph\n";

  // ---- Step 7d: replay -----------------------------------------------------------------------
  std::cout << "\n== Step 7d: replay ==\n";
  pb::Timer graph_timer(device);
  for (int64_t s = kWarmupSteps; s < steps; ++s) {
    static_x.copy_(inputs[s % kBatches]);  // new data, same addresses
    static_y.copy_(targets[s % kBatches]);
    graph.replay();
  }
  const double graph_rate = static_cast<double>(steps - kWarmupSteps) / graph_timer.seconds();
  const double graph_loss = static_loss.item<double>();
  const double difference = std::abs(graph_loss - eager_loss) / std::max(std::abs(eager_loss), 1e-30);
  std::cout << "graph: " << static_cast<int64_t>(graph_rate) << " steps/s (" << graph_rate / eager_rate
            << "x eager), final loss " << graph_loss << "\n";
  std::cout << "same final loss as eager: " << (difference < 1e-5 ? "yes" : "no") << " (relative difference " << difference << ")\n";
  std::cout << "held-out accuracy of the graph-trained model: " << std::fixed << std::setprecision(1) << held_out_percent(model)
            << "% (chance: 50%; eager: " << eager_accuracy << "%)\n";
  return difference < 1e-5 && continues ? 0 : 1;
#endif
}
