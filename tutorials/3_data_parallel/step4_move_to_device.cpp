// Tutorial 3, step 4 (source 002, "move to the device"): where the model, the replicas and the
// data live.
//
// The source wraps the model and then calls model.to(device). In C++ the wrapper moves the master
// to the first replica's device and clones the replicas onto theirs. The batch stays where the
// loader made it (the CPU): each replica copies only its own slice to its device, in its own
// thread. There is no optimizer.to(device) (source 001's error): an optimizer holds references to
// the parameters, which moved with the model. The model, data and wrapping are step 3's.
#include <iostream>

#include "common/cli.h"
#include "common/data_parallel.h"
#include "common/device.h"
#include "common/models.h"
#include "common/train.h"
#include "tutorials/3_data_parallel/story.h"

int main(int argc, char** argv) {
  int64_t replicas = series3::kReplicas;
  std::string device_spec = series3::kDevice;
  pb::Cli cli("tutorial_3_step4_move_to_device", "Step 4: where the master, the replicas and the data live.");
  cli.option("replicas", &replicas, "model replicas", 1, pb::kMaxReplicas)
      .option("device", &device_spec, "cpu, cuda, cuda:N or auto (cuda:0 when usable)");
  pb::parse_or_exit(cli, argc, argv);
  const torch::Device device = pb::parse_device_or_exit(cli.program(), device_spec);
  series3::print_start(4);
  series3::announce_change(4, "replicas", series3::kReplicas, replicas, series3::kReplicas, "");
  const pb::DataSplit data = series3::step2_data();

  // ---- Step 4a: the device -------------------------------------------------------------------
  std::cout << "\n== Step 4a: the device ==\n";
  // On a machine with several GPUs, replica i would go to cuda:i; here every replica uses `device`.
  const pb::ReplicaOptions options = series3::step3_replicas(replicas, device);
  std::cout << "replicas on:";
  for (const auto& d : options.devices) std::cout << " " << d;
  std::cout << "\n";

  // ---- Step 4b: move the model -----------------------------------------------------------------
  std::cout << "\n== Step 4b: move the model ==\n";
  torch::nn::AnyModule model(series3::step2_model());
  std::cout << "before: master parameters on " << model.ptr()->parameters().front().device() << "\n";
  pb::ReplicatedDataParallel dp(model, series3::step3_loss(), options);
  std::cout << "after wrapping: master parameters on " << dp.master().ptr()->parameters().front().device() << "\n";
  torch::optim::SGD optimizer(dp.master().ptr()->parameters(), pb::source_optimizer_options(pb::ModelKind::kCnn));
  std::cout << "the optimizer is built on the master's parameters after the move; it has no .to()\n";

  // ---- Step 4c: the data ---------------------------------------------------------------------
  std::cout << "\n== Step 4c: the data ==\n";
  const pb::TensorData batch = series3::first_batch(data, series3::kBatch);
  std::cout << "the batch of " << batch.size() << " stays on " << batch.inputs.device()
            << "; each replica copies its slice to its device\n";
  optimizer.zero_grad();
  const double loss = dp.forward_backward(batch.inputs, batch.targets);
  std::cout << "one step ran: loss " << loss << ", gradients on " << dp.master().ptr()->parameters().front().grad().device() << "\n";
  return 0;
}
