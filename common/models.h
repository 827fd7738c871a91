// The three source models as cloneable libtorch modules, plus the loss each source trains with.
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/error.h"

namespace pb {

// Which source workflow a model comes from. The numbers match the source posts 000, 001, 002.
enum class ModelKind { kLinear, kMlp, kCnn };

// "linear", "mlp", "cnn".
std::string model_name(ModelKind kind);
// Parses "linear" | "mlp" | "cnn"; throws pb::Error with a one-line message otherwise.
ModelKind parse_model_kind(const std::string& name);
std::vector<ModelKind> all_model_kinds();
// For a program's --model flag: parse_model_kind, or "<program>: error: <message>" and exit 2.
ModelKind parse_model_kind_or_exit(const std::string& program, const std::string& name);

// Source 000: Linear(10, 2), a two-class classifier trained with cross-entropy.
// Cloneable so that data-parallel replicas can be made from it (see tutorials/3_*).
struct LinearModelImpl : torch::nn::Cloneable<LinearModelImpl> {
  LinearModelImpl() { reset(); }
  void reset() override { fc = register_module("fc", torch::nn::Linear(10, 2)); }
  torch::Tensor forward(torch::Tensor x) { return fc(x); }
  torch::nn::Linear fc{nullptr};
};
TORCH_MODULE(LinearModel);

// Source 001: MLP 10-5-2 with ReLU, trained with MSELoss against float targets.
struct MlpImpl : torch::nn::Cloneable<MlpImpl> {
  MlpImpl() { reset(); }
  void reset() override {
    fc1 = register_module("fc1", torch::nn::Linear(10, 5));
    fc2 = register_module("fc2", torch::nn::Linear(5, 2));
  }
  torch::Tensor forward(torch::Tensor x) { return fc2(torch::relu(fc1(x))); }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(Mlp);

// Source 002: two 3x3 convolutions and two linear layers on 3x32x32 images, 10 classes.
//
// The source's error: both convolutions keep 32x32 (stride 1, padding 1), so the feature map is
// 64x32x32 = 65,536 values per image, yet forward() flattens with view(-1, 64*8*8). view() then
// silently cuts every image into 16 rows: a batch of 32 becomes 512 rows, and the loss raises
// because 512 outputs meet 32 labels. fc1 = Linear(64*8*8, 512) shows the intended 8x8 map, so
// the fix adds the 2x2 max-pooling the author left out after each convolution (32 -> 16 -> 8)
// and flattens with flatten(1), which keeps the batch dimension and can never mix images.
struct CnnImpl : torch::nn::Cloneable<CnnImpl> {
  CnnImpl() { reset(); }
  void reset() override {
    conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 64, 3).padding(1)));
    conv2 = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(64, 64, 3).padding(1)));
    fc1 = register_module("fc1", torch::nn::Linear(64 * 8 * 8, 512));
    fc2 = register_module("fc2", torch::nn::Linear(512, 10));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = torch::max_pool2d(torch::relu(conv1(x)), 2);  // 3x32x32 -> 64x16x16
    x = torch::max_pool2d(torch::relu(conv2(x)), 2);  // 64x16x16 -> 64x8x8
    x = x.flatten(1);                                 // one row per image: 4096 values
    return fc2(torch::relu(fc1(x)));
  }
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(Cnn);

// A fresh model of the given kind, behind AnyModule so that one training loop serves all three.
// Parameters come from torch's global generator: call torch::manual_seed first for repeatability.
torch::nn::AnyModule make_model(ModelKind kind);

// Shape of one input sample: {10} for linear and mlp, {3, 32, 32} for cnn.
std::vector<int64_t> input_shape(ModelKind kind);
// Number of outputs (classes): 2, 2, 10.
int64_t output_size(ModelKind kind);

// The loss each source uses: cross-entropy on int64 labels (000, 002), MSE on float targets (001).
torch::Tensor compute_loss(ModelKind kind, const torch::Tensor& output, const torch::Tensor& target);
// Number of correct predictions in a batch: argmax of the output against the label (or, for the
// regression MLP, against the argmax of its one-hot target).
int64_t count_correct(ModelKind kind, const torch::Tensor& output, const torch::Tensor& target);

}  // namespace pb
