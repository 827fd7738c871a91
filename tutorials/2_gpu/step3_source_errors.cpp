// Tutorial 2, step 3 (source 001's errors): each one run the source's way, its libtorch error
// printed as raised, then corrected.
//
// (a) `optimizer = optimizer.to(device)`: optimizers have no to(). An optimizer holds the very
//     parameter tensors it was built from, and Module::to() moves a parameter by swapping the data
//     under the same tensor (set_data), so those follow the model. Its *state* does not: momentum
//     buffers made before the move stay where they were. Build the optimizer after the move.
// (b) `torch.tensor([[1, ..., 10]])` is int64, and Linear multiplies by float weights: it raises.
// (c) `torch.tensor([[0, 1]])` as MSELoss targets is int64 too: raised as well (forward or
//     backward, depending on the libtorch). Both fixes: float tensors.
// The messages are printed, not hard-coded: they differ between libtorch versions.
// It starts from step 2's model (series2::step2_model()); its fix, the optimizer built after the
// move, is series2::step3_optimizer(), the one steps 4-7 train with (story.h).
#include <iostream>

#include "common/cli.h"
#include "common/device.h"
#include "common/models.h"
#include "tutorials/2_gpu/story.h"

// Momentum, added to the story's SGD (series2::kLearningRate) in 3a only: plain SGD keeps no
// state that a move could leave behind. Steps 4-7 train with the source's plain SGD.
constexpr double kMomentum = 0.9;

// The first line of a libtorch error: the message itself, without the C++ context lines.
std::string first_line(const c10::Error& e) {
  const std::string what = e.what_without_backtrace();
  return what.substr(0, what.find('\n'));
}

// "Float on cpu", for the lines that say where a tensor lives.
std::string placed(const torch::Tensor& t) {
  return std::string(c10::toString(t.scalar_type())) + " on " + t.device().str();
}

int main(int argc, char** argv) {
  std::string device_spec;
  pb::Cli cli("tutorial_2_step3_source_errors", "Step 3: the source's three errors, run and corrected.");
  series2::add_device_option(cli, &device_spec);
  pb::parse_or_exit(cli, argc, argv);
  const torch::Device device = series2::step1_device(cli.program(), device_spec);
  series2::print_start(3, device);
  // The source's one sample and its label, as float (3b and 3c show the int64 originals).
  const torch::Tensor x = torch::arange(1, 11, torch::kFloat).unsqueeze(0), y = torch::tensor({{0.0F, 1.0F}});
  auto train_step = [](pb::Mlp& model, torch::optim::SGD& optimizer, const torch::Tensor& in, const torch::Tensor& target) {
    optimizer.zero_grad();
    torch::mse_loss(model->forward(in), target).backward();
    optimizer.step();
  };
  bool as_expected = true;

  // ---- Step 3a: optimizer.to(device) ---------------------------------------------------------
  std::cout << "\n== Step 3a: optimizer.to(device) ==\n";
  std::cout << "torch::optim::SGD has no to(): in Python the line raises AttributeError, in C++ it does not compile\n";
  pb::Mlp early_model = series2::step2_model();
  torch::optim::SGD early = series2::step3_optimizer(early_model, kMomentum);  // built too early: before the move
  train_step(early_model, early, x, y);  // the first step creates the momentum buffers, on the CPU
  // Without a GPU there is no second device; Module::to(dtype) takes the same path as
  // to(device) (set_data on every parameter), so the move here is to double precision instead.
  const std::string move = device.is_cuda() ? device.str() : "double (no GPU here)";
  if (device.is_cuda()) {
    early_model->to(device);
  } else {
    early_model->to(torch::kDouble);
  }
  const torch::Tensor& held = early.param_groups().front().params().front();
  const bool same = held.unsafeGetTensorImpl() == early_model->fc1->weight.unsafeGetTensorImpl();
  std::cout << "optimizer built before a move to " << move << ": it holds the model's own parameter tensors: "
            << (same ? "yes" : "no") << ", now " << placed(held) << "\n";
  for (const auto& entry : early.state()) {
    const auto& buffer = static_cast<const torch::optim::SGDParamState&>(*entry.second).momentum_buffer();
    std::cout << "its momentum buffers stayed behind: " << placed(buffer) << " (stale)\n";
    as_expected = as_expected && (buffer.device() != held.device() || buffer.scalar_type() != held.scalar_type());
    break;
  }
  if (device.is_cuda()) {
    try {
      train_step(early_model, early, x.to(device), y.to(device));
      std::cout << "the next step ran (unexpected)\n";
      as_expected = false;
    } catch (const c10::Error& e) {
      std::cout << "the next step raises: " << first_line(e) << "\n";
    }
  } else {
    std::cout << "on a GPU the next step meets CPU momentum buffers with GPU gradients and raises (run it with --device cuda)\n";
  }
  pb::Mlp model = series2::step2_model();
  model->to(device);
  torch::optim::SGD optimizer = series2::step3_optimizer(model, kMomentum);  // after the move
  train_step(model, optimizer, x.to(device), y.to(device));
  bool all_there = true;
  for (const auto& entry : optimizer.state()) {
    all_there = all_there && static_cast<const torch::optim::SGDParamState&>(*entry.second).momentum_buffer().device() == device;
  }
  std::cout << "fix: model->to(device) first, then the optimizer: parameters and momentum on " << device << ": "
            << (all_there ? "yes" : "no") << "\n";
  as_expected = as_expected && same && all_there;

  // ---- Step 3b: int64 inputs into Linear -----------------------------------------------------
  std::cout << "\n== Step 3b: int64 inputs into Linear ==\n";
  const torch::Tensor int_data = torch::tensor({{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}).to(device);
  std::cout << "torch::tensor({{1, ..., 10}}) is " << placed(int_data) << "\n";
  try {
    model->forward(int_data);
    std::cout << "Linear accepted it (unexpected)\n";
    as_expected = false;
  } catch (const c10::Error& e) {
    std::cout << "Linear raises: " << first_line(e) << "\n";
  }
  const torch::Tensor output = model->forward(int_data.to(torch::kFloat));
  std::cout << "fix: .to(torch::kFloat) -> output " << output.sizes() << "\n";

  // ---- Step 3c: int64 targets into MSELoss ---------------------------------------------------
  std::cout << "\n== Step 3c: int64 targets into MSELoss ==\n";
  const torch::Tensor int_targets = torch::tensor({{0, 1}}).to(device);
  std::cout << "torch::tensor({{0, 1}}) is " << placed(int_targets) << "\n";
  std::string stage = "forward";
  try {
    torch::Tensor loss = torch::mse_loss(model->forward(int_data.to(torch::kFloat)), int_targets);
    std::cout << "forward: loss " << loss.item<float>() << " (the int64 target was promoted)\n";
    stage = "backward()";
    loss.backward();
    std::cout << "backward() ran (unexpected)\n";
    as_expected = false;
  } catch (const c10::Error& e) {
    std::cout << stage << " raises: " << first_line(e) << "\n";
  }
  optimizer.zero_grad();
  torch::Tensor loss = torch::mse_loss(model->forward(int_data.to(torch::kFloat)), int_targets.to(torch::kFloat));
  loss.backward();
  std::cout << "fix: float targets: loss " << loss.item<float>() << ", backward() ran, gradient of fc1 "
            << model->fc1->weight.grad().sizes() << "\n";
  return as_expected ? 0 : 1;
}
