// Tutorial 3, step 3 (source 002, "wrap the model"): what data parallelism really does.
//
// The source says nn.DataParallel splits the model's *parameters* across GPUs. It does not: it
// REPLICATES the whole model on every device, SCATTERS the batch (each replica gets a slice),
// runs the replicas in parallel, GATHERS their outputs, and in backward REDUCES (sums) the
// replicas' gradients into the master copy, which the one optimizer updates. Every replica
// holds every parameter; only the samples are divided. This step shows each part with
// pb::ReplicatedDataParallel, the strategy this series trains with, on step 2's CNN and data.
#include <iostream>

#include "common/cli.h"
#include "common/data_parallel.h"
#include "common/device.h"
#include "common/models.h"
#include "tutorials/3_data_parallel/story.h"

int64_t count_parameters(torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

int main(int argc, char** argv) {
  int64_t batch = series3::kBatch, replicas = series3::kReplicas;
  std::string device_spec = series3::kDevice;
  pb::Cli cli("tutorial_3_step3_wrap_model", "Step 3: replicate, scatter, run in parallel, reduce: what DataParallel does.");
  cli.option("batch", &batch, "samples per step", 1, series3::kSamples)
      .option("replicas", &replicas, "model replicas", 1, pb::kMaxReplicas)
      .option("device", &device_spec, "cpu, cuda, cuda:N or auto: where the replicas live");
  pb::parse_or_exit(cli, argc, argv);
  const torch::Device device = pb::parse_device_or_exit(cli.program(), device_spec);
  series3::print_start(3);
  series3::announce_change(3, "batch", series3::kSourceBatch, batch, series3::kBatch,
                           "8x the source's 32, so that even 8 replicas each get the source's batch");
  series3::announce_change(3, "replicas", 1, replicas, series3::kReplicas, "the fewest that split the batch");
  const pb::DataSplit data = series3::step2_data();

  // ---- Step 3a: replicate --------------------------------------------------------------------
  std::cout << "\n== Step 3a: replicate ==\n";
  torch::nn::AnyModule model(series3::step2_model());
  const int64_t full = count_parameters(*model.ptr());
  // series3::step3_replicas: `replicas` replicas on `device`, 1 intra-op thread each, kept alive
  // across steps; series3::step3_loss: the source's cross-entropy, computed in each replica. Every
  // later step wraps step 2's CNN the same way.
  pb::ReplicatedDataParallel dp(model, series3::step3_loss(), series3::step3_replicas(replicas, device));
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
  const pb::TensorData step_batch = series3::first_batch(data, batch);
  const double loss = dp.forward_backward(step_batch.inputs, step_batch.targets);
  std::cout << "one step: loss " << loss << ", master gradient of fc1 " << dp.master().ptr()->named_parameters()["fc1.weight"].grad().sizes()
            << " (full size)\n";
  return 0;
}
