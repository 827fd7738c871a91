// Tutorial 4, step 1: the single-process baseline that distributed training must reproduce.
//
// PyTorch recommends DistributedDataParallel over DataParallel, and libtorch has no C++ DDP; this
// series builds one on c10d, the distributed engine inside libtorch. First, the reference: one
// process trains the source CNN on global batches of `world x batch` samples. Step 4 trains the
// same batches on several processes and must end with the same parameters. The settings and the
// state later steps start from are in story.h: this step is the first chapter of that story.
#include <iomanip>
#include <iostream>

#include "common/cli.h"
#include "common/train.h"
#include "story.h"

int main(int argc, char** argv) {
  // The series' settings (story.h): the source CNN, 512 samples, global batch 64, 8 steps, seed 0.
  series4::Settings settings;
  pb::Cli cli("tutorial_4_step1_single_process", "Step 1: the single-process baseline for DDP.");
  cli.option("model", &settings.model, "linear, mlp or cnn")
      .option("global-batch", &settings.global_batch, "samples per step", 1, 65536)
      .option("samples", &settings.samples, "dataset size", 1, 10'000'000)
      .option("steps", &settings.steps, "training steps", 1, 1'000'000)
      .option("threads", &settings.threads, "intra-op threads", 1, 1024);
  pb::parse_or_exit(cli, argc, argv);
  const pb::ModelKind kind = pb::parse_model_kind_or_exit(cli.program(), settings.model);
  series4::announce_command_line(settings);
  torch::set_num_threads(static_cast<int>(settings.threads));

  // ---- Step 1a: data -------------------------------------------------------------------------
  // Synthetic and deterministic (seed 0): every later step, and every rank, rebuilds the same.
  std::cout << "== Step 1a: data ==\n";
  const pb::DataSplit split = series4::step1_data(kind, settings.samples);
  std::cout << settings.model << ", " << split.train.size() << " training samples, " << split.val.size()
            << " held out (seed " << series4::kSeed << ")\n";

  // ---- Step 1b: train ------------------------------------------------------------------------
  // series4::step1_trained (story.cpp) is this step's loop, kept there because step 4 runs it too,
  // to compare: the model made with seed 0, SGD, and per step one global batch of the sampler
  // step 3 deals out (ShardPlan with one rank): zero_grad, forward, loss, backward, step.
  std::cout << "\n== Step 1b: train ==\n";
  std::cout << "global batch " << settings.global_batch << ", " << settings.steps << " steps\n";
  const series4::Step1Trained run = series4::step1_trained(kind, split.train, settings);
  std::cout << "final loss " << run.final_loss << ", " << static_cast<int64_t>(run.samples_seen / run.seconds)
            << " samples/s, parameter checksum " << series4::parameter_checksum(run.model.ptr()->parameters()) << "\n";
  std::cout << "step 4 must reach these parameters with several processes\n";
  torch::nn::AnyModule model = run.model;
  const double accuracy = pb::evaluate(model, kind, split.val).accuracy;
  std::cout << "held-out accuracy: " << std::fixed << std::setprecision(1) << 100 * accuracy << "% (chance: "
            << 100 / pb::output_size(kind) << "%) on " << split.val.size() << " samples never trained on\n";
  return 0;
}
