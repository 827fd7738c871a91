// Tutorial series 3 so far: the series' settings in one place, and the state each step hands on.
#include "tutorials/3_data_parallel/story.h"

#include <iostream>

namespace series3 {

pb::DataSplit step2_data(int64_t samples) { return pb::make_synthetic_split(kModel, samples, kValSamples, kSeed); }

pb::TensorData first_batch(const pb::DataSplit& data, int64_t n) {
  return {data.train.inputs.slice(0, 0, n), data.train.targets.slice(0, 0, n)};
}

pb::Cnn step2_model() {
  torch::manual_seed(kSeed);
  return pb::Cnn();
}

pb::ReplicaOptions step3_replicas(int64_t replicas, const torch::Device& device) {
  return {std::vector<torch::Device>(static_cast<size_t>(replicas), device), 1, true};
}

pb::LossFn step3_loss() {
  return [](const torch::Tensor& output, const torch::Tensor& target) { return pb::compute_loss(kModel, output, target); };
}

void print_start(int step) {
  // What steps 2 and 3 made, the state every later step takes over.
  const std::string model = "step 2's CNN (seed " + std::to_string(kSeed) + ")";
  const std::string data = "data (" + std::to_string(kSamples) + " training + " + std::to_string(kValSamples) +
                           " held-out images, seed " + std::to_string(kSeed) + ")";
  const std::string wrapped = model + " and " + data + " in " + std::to_string(kReplicas) + " replicas, batch " +
                              std::to_string(kBatch);
  std::string what;
  switch (step) {
    case 2: what = "its includes; this step makes the series' CNN (seed " + std::to_string(kSeed) + ") and " + data; break;
    case 3: what = "its CNN (seed " + std::to_string(kSeed) + ") and " + data; break;
    case 4: what = wrapped + " (step 3's wrapping)"; break;
    case 5: what = wrapped + " on the device step 4 picked"; break;
    case 6: what = wrapped + ", whose gradients step 5 checked"; break;
    case 7: what = wrapped + ", persistent as step 6 measured; now every training image, " + std::to_string(kEpochs) +
                   " epochs"; break;
    default: what = "nothing (the series has steps 2 to 7 after the first)";
  }
  std::cout << "starting from step " << step - 1 << ": " << what << "\n";
}

void announce_change(int step, const std::string& setting, int64_t previous, int64_t value, int64_t planned,
                     const std::string& why) {
  if (value == previous) return;
  std::cout << "changed from step " << step - 1 << ": " << setting << " " << previous << " -> " << value << ": "
            << (value == planned ? why : "set on the command line (the series has " + std::to_string(planned) + " here)")
            << "\n";
}

}  // namespace series3
