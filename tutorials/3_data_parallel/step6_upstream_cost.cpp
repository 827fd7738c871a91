// Tutorial 3, step 6: why libtorch's data_parallel() is slow, measured.
//
// torch::nn::parallel::data_parallel(module, input, devices) replicates the module on every call:
// clone() builds each replica anew, which runs the module's reset() (its random initialisation,
// on the CPU) and then copies the weights over (pytorch/pytorch#40581; the maintainers measured
// ~300 samples/s against ~82,000 for plain single-GPU training on an H100, not yet reproduced
// here). This step times one clone, then training steps on one device,
// with replicas re-cloned every step (upstream's cost structure, on any device), with persistent
// replicas, and, in a CUDA build on a GPU, with upstream data_parallel itself.
#include <iostream>

#include "common/cli.h"
#include "common/data.h"
#include "common/data_parallel.h"
#include "common/device.h"
#include "common/timer.h"
#include "common/train.h"
#include "tutorials/3_data_parallel/story.h"

#if PB_HAVE_CUDA
#include <torch/nn/parallel/data_parallel.h>
#endif

int main(int argc, char** argv) {
  // Step 2's CNN and data in step 3's setting (story.h): batch 256 over 2 replicas, back from step
  // 5's uneven check; a few timed steps per variant, since the cost measured is paid every step.
  int64_t batch = series3::kBatch, replicas = series3::kReplicas, steps = series3::kTimedSteps;
  std::string device_spec = series3::kDevice;
  pb::Cli cli("tutorial_3_step6_upstream_cost", "Step 6: the cost of re-cloning replicas every step, measured.");
  cli.option("batch", &batch, "samples per step", 1, series3::kSamples)
      .option("replicas", &replicas, "model replicas (on one device)", 1, pb::kMaxReplicas)
      .option("steps", &steps, "timed steps per variant", 1, 100000)
      .option("device", &device_spec, "cpu, cuda, cuda:N or auto");
  pb::parse_or_exit(cli, argc, argv);
  const torch::Device device = pb::parse_device_or_exit(cli.program(), device_spec);
  series3::print_start(6);
  const std::string why = "back to the series' setting after step 5's uneven check";
  series3::announce_change(6, "batch", series3::kUnevenBatch, batch, series3::kBatch, why);
  series3::announce_change(6, "replicas", series3::kUnevenReplicas, replicas, series3::kReplicas, why);
  series3::announce_change(6, "timed steps", series3::kTimedSteps, steps, series3::kTimedSteps, "");
  const pb::TensorData data = series3::first_batch(series3::step2_data(), batch);
  const pb::LossFn loss_fn = series3::step3_loss();
  torch::nn::AnyModule model(series3::step2_model());
  model.ptr()->to(device);

  // ---- Step 6a: one clone --------------------------------------------------------------------
  std::cout << "\n== Step 6a: one clone ==\n";
  pb::Timer clone_timer(device);
  for (int64_t i = 0; i < steps; ++i) model.clone(device);
  const double clone_ms = clone_timer.seconds() / static_cast<double>(steps) * 1e3;
  std::cout << "clone() of the CNN: " << clone_ms << " ms (upstream pays it per replica, per step)\n";

  // ---- Step 6b: training steps ---------------------------------------------------------------
  std::cout << "\n== Step 6b: training steps, " << replicas << " replicas on " << device << ", batch " << batch << " ==\n";
  // Times `steps` steps of `step` (after warm-up) and returns samples/s.
  auto measure = [&](const std::function<void()>& step) {
    for (int64_t i = 0; i < series3::kWarmupSteps; ++i) step();
    pb::Timer timer(device);
    for (int64_t i = 0; i < steps; ++i) step();
    return static_cast<double>(batch * steps) / timer.seconds();
  };
  torch::optim::SGD optimizer(model.ptr()->parameters(), pb::source_optimizer_options(series3::kModel));
  const double single = measure([&] {
    optimizer.zero_grad();
    loss_fn(model.forward(data.inputs.to(device)), data.targets.to(device)).backward();
    optimizer.step();
  });
  std::cout << "single device:         " << static_cast<int64_t>(single) << " samples/s\n";
  for (bool persistent : {false, true}) {
    pb::ReplicaOptions options = series3::step3_replicas(replicas, device);
    options.persistent = persistent;  // false: re-clone every replica on every step, as upstream does
    pb::ReplicatedDataParallel dp(model, loss_fn, options);
    const double rate = measure([&] {
      optimizer.zero_grad();
      dp.forward_backward(data.inputs, data.targets);
      optimizer.step();
    });
    std::cout << (persistent ? "persistent replicas:   " : "re-cloned every step:  ") << static_cast<int64_t>(rate)
              << " samples/s, " << 100 * rate / single << "% of single device\n";
  }
#if PB_HAVE_CUDA
  if (device.is_cuda()) {
    const auto cnn = std::dynamic_pointer_cast<pb::CnnImpl>(model.ptr());
    const std::vector<torch::Device> devices = series3::step3_replicas(replicas, device).devices;
    // Upstream runs replicas with at::parallel_for: one intra-op thread per replica runs them at once.
    torch::set_num_threads(std::max(torch::get_num_threads(), static_cast<int>(replicas)));
    const double rate = measure([&] {
      optimizer.zero_grad();
      torch::Tensor out = torch::nn::parallel::data_parallel(cnn, data.inputs, devices);
      loss_fn(out, data.targets.to(device)).backward();
      optimizer.step();
    });
    std::cout << "upstream data_parallel: " << static_cast<int64_t>(rate) << " samples/s, " << 100 * rate / single
              << "% of single device\n";
  }
#endif
  if (!device.is_cuda()) std::cout << "upstream data_parallel: not run (it needs CUDA); re-cloning above is its cost\n";
  return 0;
}
