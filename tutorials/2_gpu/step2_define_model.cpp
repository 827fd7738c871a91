// Tutorial 2, step 2 (source 001, "define the model and move it"): the source's 10-5-2 MLP and
// model->to(device), with where the parameters live before and after.
//
// Python's `model = model.to(device)` returns the model; libtorch's Module::to() moves it in place
// and returns nothing. It keeps every parameter's tensor object and swaps only its data
// (set_data), so a handle to a parameter taken before the move sees the moved data. The source
// also moves its loss, `criterion.to(device)`: harmless, and useless, since MSELoss has neither
// parameters nor buffers. The inputs must move too: a model on the GPU refuses CPU inputs.
// The model is series2::step2_model() (story.h): steps 3-7 start from the same one, same seed.
#include <iostream>

#include "common/cli.h"
#include "common/device.h"
#include "common/models.h"
#include "tutorials/2_gpu/story.h"

// Samples in 2c's demonstration batch of random inputs (the series' data comes in step 4).
constexpr int64_t kBatch = 4;

int main(int argc, char** argv) {
  std::string device_spec;
  pb::Cli cli("tutorial_2_step2_define_model", "Step 2: the source's 10-5-2 MLP, moved to the device.");
  series2::add_device_option(cli, &device_spec);
  pb::parse_or_exit(cli, argc, argv);
  const torch::Device device = series2::step1_device(cli.program(), device_spec);
  series2::print_start(2, device);

  // ---- Step 2a: the model --------------------------------------------------------------------
  std::cout << "\n== Step 2a: the model ==\n";
  pb::Mlp model = series2::step2_model();  // seed kSeed, on the CPU, where every module starts
  std::cout << *model << "\n";
  int64_t count = 0;
  for (const auto& p : model->parameters()) count += p.numel();
  std::cout << "parameters: " << count << " (10x5 + 5 + 5x2 + 2), initial weights from seed " << series2::kSeed << "\n";

  // ---- Step 2b: move it ----------------------------------------------------------------------
  std::cout << "\n== Step 2b: move it ==\n";
  const torch::Tensor weight = model->fc1->weight;  // a handle taken before the move
  const void* data_before = weight.data_ptr();
  std::cout << "before: parameters on " << model->parameters().front().device() << "\n";
  model->to(device);
  std::cout << "after model->to(" << device << "): parameters on " << model->parameters().front().device() << "\n";
  std::cout << "same tensor object: " << (weight.unsafeGetTensorImpl() == model->fc1->weight.unsafeGetTensorImpl() ? "yes" : "no")
            << ", new memory: " << (weight.data_ptr() != data_before ? "yes" : "no (already there: to() copies nothing)") << "\n";
  torch::nn::MSELoss criterion;
  std::cout << "MSELoss holds " << criterion->parameters().size() << " parameters and " << criterion->buffers().size()
            << " buffers: criterion.to(device) has nothing to move\n";

  // ---- Step 2c: a forward pass on the device -------------------------------------------------
  std::cout << "\n== Step 2c: a forward pass on the device ==\n";
  const torch::Tensor host_inputs = torch::randn({kBatch, 10});
  if (device.is_cuda()) {
    try {
      model->forward(host_inputs);
      std::cout << "CPU inputs into the GPU model: no error (unexpected)\n";
    } catch (const c10::Error& e) {
      const std::string what = e.what_without_backtrace();
      std::cout << "CPU inputs into the GPU model raise: " << what.substr(0, what.find('\n')) << "\n";
    }
  }
  const torch::Tensor outputs = model->forward(host_inputs.to(device));
  std::cout << "inputs " << host_inputs.sizes() << " moved to " << device << " -> outputs " << outputs.sizes() << " on "
            << outputs.device() << "\n";
  return 0;
}
