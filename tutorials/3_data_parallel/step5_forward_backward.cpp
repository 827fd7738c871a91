// Tutorial 3, step 5 (source 002, "forward and backward"): replicas give the gradients of
// single-device training on the whole batch.
//
// The check that the parallel version computes the same thing: the same model, the same batch,
// once on one device and once split over the replicas. With each replica's mean loss scaled by
// its share of the batch, the summed gradients equal the whole batch's, up to float rounding
// (the sums are taken in another order), also when the batch does not split evenly.
#include <iostream>

#include "common/cli.h"
#include "common/data.h"
#include "common/data_parallel.h"
#include "common/device.h"

// 2 replicas; 3 replicas on 7 samples: an uneven split (3, 2, 2).
constexpr int64_t kBatch = 7;
constexpr int64_t kReplicas = 3;
// Float rounding of sums in another order is ~1e-7 relative; anything above this is a bug.
constexpr double kTolerance = 1e-5;

int main(int argc, char** argv) {
  int64_t batch = kBatch, replicas = kReplicas;
  std::string model_name = "cnn", device_spec = "cpu";
  pb::Cli cli("tutorial_3_step5_forward_backward", "Step 5: forward and backward through replicas, checked against one device.");
  cli.option("model", &model_name, "linear, mlp or cnn")
      .option("batch", &batch, "samples in the batch", 1, 65536)
      .option("replicas", &replicas, "model replicas", 1, pb::kMaxReplicas)
      .option("device", &device_spec, "cpu, cuda, cuda:N or auto");
  pb::parse_or_exit(cli, argc, argv);
  const pb::ModelKind kind = pb::parse_model_kind_or_exit(cli.program(), model_name);
  const torch::Device device = pb::parse_device_or_exit(cli.program(), device_spec);
  const pb::TensorData data = pb::make_synthetic_split(kind, batch, 1, 0).train;
  auto loss_fn = [kind](const torch::Tensor& o, const torch::Tensor& t) { return pb::compute_loss(kind, o, t); };

  // ---- Step 5a: one device, whole batch -------------------------------------------------------
  std::cout << "== Step 5a: one device, whole batch ==\n";
  torch::manual_seed(0);
  torch::nn::AnyModule single = pb::make_model(kind);
  torch::nn::AnyModule master = single.clone();  // the same initial weights for the replicas
  single.ptr()->to(device);
  torch::Tensor loss = loss_fn(single.forward(data.inputs.to(device)), data.targets.to(device));
  loss.backward();
  std::cout << "loss " << loss.item<double>() << "\n";

  // ---- Step 5b: replicas, split batch ---------------------------------------------------------
  std::cout << "\n== Step 5b: " << replicas << " replicas, split batch ==\n";
  pb::ReplicatedDataParallel dp(master, loss_fn, {std::vector<torch::Device>(static_cast<size_t>(replicas), device), 1, true});
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
