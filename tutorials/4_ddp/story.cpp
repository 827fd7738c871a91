// Series 4 so far: the state each step hands on, rebuilt exactly as the step that made it did.
#include "tutorials/4_ddp/story.h"

#include <algorithm>
#include <iostream>
#include <sstream>

#include "common/cli.h"
#include "common/timer.h"
#include "common/train.h"

namespace series4 {

pb::DataSplit step1_data(pb::ModelKind kind, int64_t samples) {
  return pb::make_synthetic_split(kind, samples, kValSamples, kSeed);
}

torch::nn::AnyModule step1_model(pb::ModelKind kind) {
  torch::manual_seed(kSeed);
  return pb::make_model(kind);
}

pb::dist::ShardPlan step1_batches(int64_t samples, int64_t global_batch) {
  return pb::dist::ShardPlan(samples, global_batch, /*world_size=*/1, kSeed);
}

// Step 1's training loop. Step 1 runs it, and step 4 runs it again on every rank to compare.
Step1Trained step1_trained(pb::ModelKind kind, const pb::TensorData& train, const Settings& settings) {
  Step1Trained result{step1_model(kind)};
  const pb::dist::ShardPlan plan = step1_batches(settings.samples, settings.global_batch);
  torch::optim::SGD optimizer(result.model.ptr()->parameters(), pb::source_optimizer_options(kind));
  pb::Timer timer;
  for (int64_t step = 0; step < settings.steps; ++step) {
    // The global batch that step 4's ranks split between them at the same step.
    const auto s = step % plan.steps_per_epoch();
    torch::Tensor index = torch::tensor(plan.global_indices(step / plan.steps_per_epoch(), s), torch::kLong);
    optimizer.zero_grad();
    torch::Tensor loss = pb::compute_loss(kind, result.model.forward(train.inputs.index_select(0, index)),
                                          train.targets.index_select(0, index));
    loss.backward();
    optimizer.step();
    result.samples_seen += index.size(0);
    result.final_loss = loss.item<double>();
  }
  result.seconds = timer.seconds();
  return result;
}

pb::dist::Group step2_connect(const std::string& program, pb::dist::DistEnv* env, double timeout_s) {
  try {
    *env = pb::dist::read_dist_env();
  } catch (const pb::dist::DistError& e) {
    pb::fail_usage(program, e.what());
  }
  // A rendezvous past its deadline leaves a thread blocked in c10d, so connect_or_exit ends the
  // process at once (std::_Exit) instead of returning.
  return pb::dist::connect_or_exit(program, *env, torch::kCPU,
                                   std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)));
}

pb::dist::ShardPlan step3_shards(int64_t samples, int64_t global_batch, int64_t world_size) {
  return pb::dist::ShardPlan(samples, global_batch, world_size, kSeed);
}

double parameter_checksum(const std::vector<torch::Tensor>& params) {
  double sum = 0;
  for (const auto& p : params) sum += p.sum().item<double>();
  return sum;
}

double max_difference(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const double scale = std::max(1.0, b[i].abs().max().item<double>());
    worst = std::max(worst, (a[i] - b[i]).abs().max().item<double>() / scale);
  }
  return a.size() == b.size() ? worst : 1e300;  // a different model is as different as it gets
}

void print_start(int step, const Settings& s, int64_t world_size) {
  const pb::dist::ShardPlan plan = step1_batches(s.samples, s.global_batch);
  std::cout << "starting from step " << step - 1 << ": ";
  if (step == 2) {
    std::cout << "the " << s.model << " as step 1 initialised it (seed " << kSeed << "), to share across "
              << world_size << " ranks\n";
  } else if (step == 3) {
    std::cout << world_size << " ranks connected; step 1's " << s.samples << " samples in " << plan.steps_per_epoch()
              << " global batches of " << s.global_batch << " (seed " << kSeed << "), to deal out\n";
  } else {
    std::cout << "step 1's " << s.model << ", " << s.samples << " samples (+" << kValSamples << " held out), "
              << s.steps << " steps of global batch " << s.global_batch << " (seed " << kSeed
              << "), dealt out as in step 3 to " << world_size << " ranks connected as in step 2\n";
  }
}

void announce_change(int from_step, const std::string& setting, const std::string& before, const std::string& after,
                     const std::string& why) {
  std::cout << "changed from step " << from_step << ": " << setting << " " << before << " -> " << after << ": " << why
            << "\n";
}

void announce_command_line(const Settings& s) {
  const Settings story;
  auto check = [](int from_step, const char* setting, const auto& before, const auto& after, const char* option) {
    std::ostringstream b, a;
    b << before;
    a << after;
    if (b.str() != a.str()) {
      announce_change(from_step, setting, b.str(), a.str(), std::string(option) + " on the command line");
    }
  };
  check(1, "model", story.model, s.model, "--model");
  check(1, "samples", story.samples, s.samples, "--samples");
  check(1, "global batch", story.global_batch, s.global_batch, "--global-batch");
  check(1, "steps", story.steps, s.steps, "--steps");
  check(1, "threads", story.threads, s.threads, "--threads");
  check(4, "bucket bytes", story.bucket_bytes, s.bucket_bytes, "--bucket-bytes");
}

}  // namespace series4
