// Tutorial 3, step 5 (source 002, "forward and backward"): replicas give the gradients of
// single-device training on the whole batch.
//
// The check that the parallel version computes the same thing: the same model, the same batch,
// once on one device and once split over the replicas. With each replica's mean loss scaled by
// its share of the batch, the summed gradients equal the whole batch's, up to float rounding
// (the sums are taken in another order), also when the batch does not split evenly. It checks
// that on step 2's CNN and data, on purpose with an uneven split: 7 samples over 3 replicas.
#include <iostream>

#include "common/cli.h"
#include "common/data.h"
#include "common/data_parallel.h"
#include "common/device.h"
#include "tutorials/3_data_parallel/story.h"

// Float rounding of sums in another order is ~1e-7 relative; anything above this is a bug.
constexpr double kTolerance = 1e-5;

int main(int argc, char** argv) {
  int64_t batch = series3::kUnevenBatch, replicas = series3::kUnevenReplicas;
  std::string device_spec = series3::kDevice;
  pb::Cli cli("tutorial_3_step5_forward_backward", "Step 5: forward and backward through replicas, checked against one device.");
  cli.option("batch", &batch, "samples in the batch", 1, series3::kSamples)
      .option("replicas", &replicas, "model replicas", 1, pb::kMaxReplicas)
      .option("device", &device_spec, "cpu, cuda, cuda:N or auto");
  pb::parse_or_exit(cli, argc, argv);
  const torch::Device device = pb::parse_device_or_exit(cli.program(), device_spec);
  series3::print_start(5);
  // Why this step alone changes the sizes: an even split could hide a wrong per-replica scaling.
  series3::announce_change(5, "batch", series3::kBatch, batch, series3::kUnevenBatch,
                           "7 samples over 3 replicas split unevenly (3, 2, 2), where a wrong scaling of each replica's loss would show");
  series3::announce_change(5, "replicas", series3::kReplicas, replicas, series3::kUnevenReplicas,
                           "so that the 7 samples split unevenly");
  const pb::TensorData data = series3::first_batch(series3::step2_data(), batch);
  const pb::LossFn loss_fn = series3::step3_loss();

  // ---- Step 5a: one device, whole batch -------------------------------------------------------
  std::cout << "\n== Step 5a: one device, whole batch ==\n";
  torch::nn::AnyModule single(series3::step2_model());
  torch::nn::AnyModule master = single.clone();  // the same initial weights for the replicas
  single.ptr()->to(device);
  torch::Tensor loss = loss_fn(single.forward(data.inputs.to(device)), data.targets.to(device));
  loss.backward();
  std::cout << "loss " << loss.item<double>() << "\n";

  // ---- Step 5b: replicas, split batch ---------------------------------------------------------
  std::cout << "\n== Step 5b: " << replicas << " replicas, split batch ==\n";
  pb::ReplicatedDataParallel dp(master, loss_fn, series3::step3_replicas(replicas, device));
  std::cout << "slices:";
  for (int64_t s : pb::split_sizes(batch, replicas)) std::cout << " " << s;
  std::cout << "\nloss " << dp.forward_backward(data.inputs, data.targets) << "\n";

  // ---- Step 5c: compare the gradients ---------------------------------------------------------
  std::cout << "\n== Step 5c: compare the gradients ==\n";
  // The largest difference between matching gradients, relative to the largest gradient.
  const double difference = pb::relative_gradient_difference(*dp.master().ptr(), *single.ptr());
  // cuDNN may use TF32 on GPUs, whose rounding depends on the slice shapes.
  const double tolerance = device.is_cuda() ? 1e-2 : kTolerance;
  const bool same = difference <= tolerance;
  std::cout << "largest gradient difference, relative: " << difference << "\n";
  std::cout << "gradients equal to single-device training on the whole batch: " << (same ? "yes" : "NO") << "\n";
  return same ? 0 : 1;
}
