// Tutorial 3, step 4 (source 002, "move to the device"): where the model, the replicas and the
// data live.
//
// The source wraps the model and then calls model.to(device). In C++ the wrapper moves the master
// to the first replica's device and clones the replicas onto theirs. The batch stays where the
// loader made it (the CPU): each replica copies only its own slice to its device, in its own
// thread. There is no optimizer.to(device) (source 001's error): an optimizer holds references to
// the parameters, which moved with the model.
#include <iostream>

#include "common/cli.h"
#include "common/data_parallel.h"
#include "common/device.h"
#include "common/models.h"
#include "common/train.h"

constexpr int64_t kReplicas = 2;

int main(int argc, char** argv) {
  int64_t replicas = kReplicas;
  std::string device_spec = "auto";
  pb::Cli cli("tutorial_3_step4_move_to_device", "Step 4: where the master, the replicas and the data live.");
  cli.option("replicas", &replicas, "model replicas", 1, pb::kMaxReplicas)
      .option("device", &device_spec, "cpu, cuda, cuda:N or auto (cuda:0 when usable)");
  pb::parse_or_exit(cli, argc, argv);
  const torch::Device device = pb::parse_device_or_exit(cli.program(), device_spec);

  // ---- Step 4a: the device -------------------------------------------------------------------
  std::cout << "== Step 4a: the device ==\n";
  // On a machine with several GPUs, replica i would go to cuda:i; here every replica uses `device`.
  std::vector<torch::Device> devices(static_cast<size_t>(replicas), device);
  std::cout << "replicas on:";
  for (const auto& d : devices) std::cout << " " << d;
  std::cout << "\n";

  // ---- Step 4b: move the model -----------------------------------------------------------------
  std::cout << "\n== Step 4b: move the model ==\n";
  torch::manual_seed(0);
  torch::nn::AnyModule model = pb::make_model(pb::ModelKind::kCnn);
  std::cout << "before: master parameters on " << model.ptr()->parameters().front().device() << "\n";
  pb::ReplicatedDataParallel dp(model, [](const torch::Tensor& o, const torch::Tensor& t) {
    return pb::compute_loss(pb::ModelKind::kCnn, o, t);
  }, {devices, 1, true});
  std::cout << "after wrapping: master parameters on " << dp.master().ptr()->parameters().front().device() << "\n";
  torch::optim::SGD optimizer(dp.master().ptr()->parameters(), pb::source_optimizer_options(pb::ModelKind::kCnn));
  std::cout << "the optimizer is built on the master's parameters after the move; it has no .to()\n";

  // ---- Step 4c: the data ---------------------------------------------------------------------
  std::cout << "\n== Step 4c: the data ==\n";
  const torch::Tensor x = torch::randn({8, 3, 32, 32}), y = torch::randint(0, 10, {8}, torch::kLong);
  std::cout << "the batch stays on " << x.device() << "; each replica copies its slice to its device\n";
  optimizer.zero_grad();
  const double loss = dp.forward_backward(x, y);
  std::cout << "one step ran: loss " << loss << ", gradients on " << dp.master().ptr()->parameters().front().grad().device() << "\n";
  return 0;
}
