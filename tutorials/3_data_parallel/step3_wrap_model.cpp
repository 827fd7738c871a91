// Tutorial 3, step 3 (source 002, "wrap the model"): what data parallelism really does.
//
// The source says nn.DataParallel splits the model's *parameters* across GPUs. It does not: it
// REPLICATES the whole model on every device, SCATTERS the batch (each replica gets a slice),
// runs the replicas in parallel, GATHERS their outputs, and in backward REDUCES (sums) the
// replicas' gradients into the master copy, which the one optimizer updates. Every replica
// holds every parameter; only the samples are divided. This step shows each part with
// pb::ReplicatedDataParallel, the strategy this series trains with.
#include <iostream>

#include "common/cli.h"
#include "common/data_parallel.h"
#include "common/device.h"
#include "common/models.h"

// The source's model, at batch 256: 8x the source's 32, so that even 8 replicas (the most benchmark
// family 3 runs) each get the source's batch. 2 replicas: the fewest that split the batch (one per
// core on a 2-core machine, one per GPU on a 2-GPU one).
constexpr int64_t kBatch = 256;
constexpr int64_t kReplicas = 2;

int64_t count_parameters(torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

int main(int argc, char** argv) {
  int64_t batch = kBatch, replicas = kReplicas;
  std::string device_spec = "cpu";
  pb::Cli cli("tutorial_3_step3_wrap_model", "Step 3: replicate, scatter, run in parallel, reduce: what DataParallel does.");
  cli.option("batch", &batch, "samples per step", 1, 65536)
      .option("replicas", &replicas, "model replicas", 1, pb::kMaxReplicas)
      .option("device", &device_spec, "cpu, cuda, cuda:N or auto: where the replicas live");
  pb::parse_or_exit(cli, argc, argv);
  const torch::Device device = pb::parse_device_or_exit(cli.program(), device_spec);
  torch::manual_seed(0);

  // ---- Step 3a: replicate --------------------------------------------------------------------
  std::cout << "== Step 3a: replicate ==\n";
  torch::nn::AnyModule model = pb::make_model(pb::ModelKind::kCnn);
  const int64_t full = count_parameters(*model.ptr());
  pb::ReplicatedDataParallel dp(model, [](const torch::Tensor& o, const torch::Tensor& t) {
    return pb::compute_loss(pb::ModelKind::kCnn, o, t);
  }, {std::vector<torch::Device>(static_cast<size_t>(replicas), device), 1, true});
  std::cout << "the model has " << full << " parameters; each of the " << replicas << " replicas on " << device
            << " holds all " << full << " of them (not 1/" << replicas << ")\n";

  // ---- Step 3b: scatter ----------------------------------------------------------------------
  std::cout << "\n== Step 3b: scatter ==\n";
  const std::vector<int64_t> sizes = pb::split_sizes(batch, replicas);
  std::cout << "a batch of " << batch << " samples is split into";
  for (int64_t s : sizes) std::cout << " " << s;
  std::cout << " (sizes differ by at most one; a replica may get none)\n";

  // ---- Step 3c: run in parallel and reduce ----------------------------------------------------
  std::cout << "\n== Step 3c: run in parallel and reduce ==\n";
  std::cout << "each replica runs forward and backward on its slice in a thread of its own ("
            << dp.replica_thread_counts().front() << " intra-op thread(s) each);\n"
            << "each replica's loss is scaled by its share of the batch, so the summed gradients are the\n"
            << "gradient of the whole batch's mean loss; they are summed into the master, which the\n"
            << "optimizer steps. Upstream gathers the outputs to one device and computes the loss there;\n"
            << "computing it inside each replica gives the same gradients and moves no outputs.\n";
  const torch::Tensor x = torch::randn({batch, 3, 32, 32}), y = torch::randint(0, 10, {batch}, torch::kLong);
  const double loss = dp.forward_backward(x, y);
  std::cout << "one step: loss " << loss << ", master gradient of fc1 " << dp.master().ptr()->named_parameters()["fc1.weight"].grad().sizes()
            << " (full size)\n";
  return 0;
}
