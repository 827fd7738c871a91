// Series 2 so far: the state each step hands on, rebuilt exactly as the step that made it did.
#include "tutorials/2_gpu/story.h"

#include <algorithm>
#include <iostream>
#include <sstream>

#include "common/device.h"

namespace series2 {

void add_device_option(pb::Cli& cli, std::string* device_spec) {
  *device_spec = kDeviceSpec;
  cli.option("device", device_spec, "cpu, cuda, cuda:N or auto (cuda:0 when usable, else cpu)");
}

torch::Device step1_device(const std::string& program, const std::string& device_spec) {
  return pb::parse_device_or_exit(program, device_spec);
}

std::string step1_why_not_cuda(const torch::Device& device, const std::string& device_spec) {
  if (device.is_cuda()) return "";
  const std::string reason = pb::cuda_unavailable_reason();
  return reason.empty() ? "--device " + device_spec + " was asked for" : reason;
}

pb::Mlp step2_model() {
  torch::manual_seed(kSeed);
  return pb::Mlp();
}

torch::optim::SGD step3_optimizer(pb::Mlp& model, double momentum) {
  return torch::optim::SGD(model->parameters(), torch::optim::SGDOptions(kLearningRate).momentum(momentum));
}

pb::DataSplit step4_data(int64_t samples, int64_t val_samples) {
  // make_synthetic_split draws all its samples in one sequence from the seed and cuts the first
  // `train_size` off. Asked for the held-out samples as that first part, a larger training set
  // only draws more after them, so the held-out samples and step 4's training samples stay the
  // same. (libtorch's CPU normal draws in blocks of 16 values, so a longer draw begins with a
  // shorter one when that one is a multiple of 16 values, as 1096 samples of 10 are;
  // print_holds_step4_data checks it.)
  const pb::DataSplit drawn = pb::make_synthetic_split(kKind, val_samples, samples, kSeed);
  return {drawn.val, drawn.train};
}

bool print_holds_step4_data(const pb::DataSplit& data) {
  const pb::DataSplit step4 = step4_data();
  const int64_t n = std::min(kSamples, data.train.size());
  const bool held_out = torch::equal(data.val.inputs, step4.val.inputs) && torch::equal(data.val.targets, step4.val.targets);
  const bool first = torch::equal(data.train.inputs.slice(0, 0, n), step4.train.inputs.slice(0, 0, n)) &&
                     torch::equal(data.train.targets.slice(0, 0, n), step4.train.targets.slice(0, 0, n));
  std::cout << "step 4's data inside: its " << kValSamples << " held-out samples the same, its " << n
            << " training samples first: " << (held_out && first ? "yes" : "no") << "\n";
  return held_out && first;
}

void print_start(int step, const torch::Device& device) {
  // What every step from 3 on holds: the device of step 1 and the model of step 2 moved there.
  const std::string model = "device " + device.str() + " (step 1); the 10-5-2 MLP of step 2 (67 parameters, seed " +
                            std::to_string(kSeed) + ") moved there";
  std::ostringstream lr;
  lr << kLearningRate;
  const std::string trained = model + ", then the source's SGD (learning rate " + lr.str() + ") on it (step 3a's order)";
  std::string what;
  switch (step) {
    case 2: what = "device " + device.str() + ", picked by step 1's rule from the same --device flag (" + kDeviceSpec +
                   ": cuda:0 when usable, else the CPU)"; break;
    case 3: what = model; break;
    case 4: what = trained + "; float inputs and float targets (steps 3b, 3c)"; break;
    case 5:
      what = trained + "; step 4's data (seed " + std::to_string(kSeed) + ", " + std::to_string(kSamples) +
             " training samples, " + std::to_string(kValSamples) + " held out) and its training: batch " +
             std::to_string(kBatch) + ", " + std::to_string(kEpochs) + " epochs";
      break;
    case 6:
      what = trained + "; step 4's data at step 5's size (" + std::to_string(kTransferSamples) + " training samples, batch " +
             std::to_string(kTransferBatch) + ", " + std::to_string(kValSamples) + " held out); step 5's pinned host memory" +
             " and non_blocking copies";
      break;
    case 7:
      what = trained + "; step 4's data at step 6's size (" + std::to_string(kOverlapBatches) + " batches of " +
             std::to_string(kOverlapBatch) + ", " + std::to_string(kValSamples) + " held out); step 5's fastest mode," +
             " the data resident on the device";
      break;
    default: return;
  }
  std::cout << "starting from step " << step - 1 << ": " << what << "\n";
}

void announce_change(int from_step, const std::string& setting, int64_t before, int64_t after, int64_t planned,
                     const std::string& why) {
  if (after == before && after == planned) return;
  std::cout << "changed from step " << from_step << ": " << setting << " " << before << " -> " << after << ": "
            << (after == planned ? why : "set on the command line (the series has " + std::to_string(planned) + " here)") << "\n";
}

}  // namespace series2
