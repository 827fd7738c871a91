// Tutorial 3, step 2 (source 002, "define model"): the source's CNN, its flatten error, the fix,
// and why the model must be cloneable.
//
// The source flattens with view(-1, 64*8*8) but never pools: both 3x3 convolutions keep 32x32,
// so each image is 64x32x32 = 16 x (64*8*8) values and view() turns a batch of 32 into 512 rows.
// The loss then meets 512 outputs and 32 labels and raises. The fix (common/models.h, CnnImpl)
// pools 2x2 after each convolution (32 -> 16 -> 8), as fc1's 64*8*8 inputs intend, and flattens
// with flatten(1), which keeps one row per image. Data parallelism copies the model into
// replicas with clone(), which only modules derived from torch::nn::Cloneable<T> have.
// This step makes the series' state (story.h): the fixed CNN, seeded, and the series' data, of
// which it shows the source's batch of 32; every later step starts from both.
#include <iostream>

#include "common/cli.h"
#include "common/data_parallel.h"
#include "common/models.h"
#include "tutorials/3_data_parallel/story.h"

// What the source wrote: two convolutions, no pooling, view(-1, 64*8*8).
struct SourceCnnImpl : torch::nn::Cloneable<SourceCnnImpl> {
  SourceCnnImpl() { reset(); }
  void reset() override {
    conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 64, 3).padding(1)));
    conv2 = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(64, 64, 3).padding(1)));
    fc1 = register_module("fc1", torch::nn::Linear(64 * 8 * 8, 512));
    fc2 = register_module("fc2", torch::nn::Linear(512, 10));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(conv2(torch::relu(conv1(x))));
    return fc2(torch::relu(fc1(x.view({-1, 64 * 8 * 8}))));
  }
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(SourceCnn);

// A module derived from Module only: it works on one device but cannot be replicated.
struct PlainCnn : torch::nn::Module {
  PlainCnn() { fc = register_module("fc", torch::nn::Linear(10, 2)); }
  torch::Tensor forward(torch::Tensor x) { return fc(x); }
  torch::nn::Linear fc{nullptr};
};

int main(int argc, char** argv) {
  int64_t batch = series3::kSourceBatch;
  pb::Cli cli("tutorial_3_step2_define_model", "Step 2: the source's CNN, its flatten error, the fix, cloneability.");
  cli.option("batch", &batch, "images in the demonstration batch", 1, series3::kSamples);
  pb::parse_or_exit(cli, argc, argv);
  series3::print_start(2);
  // The series' data; this step shows the first `batch` training images (the source's batch of 32).
  const pb::TensorData shown = series3::first_batch(series3::step2_data(), batch);
  const torch::Tensor images = shown.inputs, labels = shown.targets;

  // ---- Step 2a: the source's model -----------------------------------------------------------
  std::cout << "\n== Step 2a: the source's model ==\n";
  SourceCnn source;
  const torch::Tensor wrong = source->forward(images);
  std::cout << batch << " images -> " << wrong.size(0) << " rows of logits (view(-1, 64*8*8) cut each image into "
            << wrong.size(0) / batch << ")\n";
  try {
    torch::nn::functional::cross_entropy(wrong, labels);
    std::cout << "the loss did not raise (unexpected)\n";
  } catch (const c10::Error& e) {
    const std::string what = e.what();
    std::cout << "the loss raises: " << what.substr(0, what.find('\n')) << "\n";
  }

  // ---- Step 2b: the fixed model --------------------------------------------------------------
  std::cout << "\n== Step 2b: the fixed model ==\n";
  pb::Cnn model = series3::step2_model();  // seeded: every later step starts from these weights
  const torch::Tensor logits = model->forward(images);
  std::cout << batch << " images -> logits " << logits.sizes() << ", loss "
            << torch::nn::functional::cross_entropy(logits, labels).item<double>() << "\n";

  // ---- Step 2c: cloneable --------------------------------------------------------------------
  std::cout << "\n== Step 2c: cloneable ==\n";
  auto copy = std::dynamic_pointer_cast<pb::CnnImpl>(model->clone());
  std::cout << "Cnn derives from torch::nn::Cloneable<CnnImpl>: clone() gives equal weights in new storage: "
            << (torch::equal(copy->fc1->weight, model->fc1->weight) && copy->fc1->weight.data_ptr() != model->fc1->weight.data_ptr()
                    ? "yes" : "no") << "\n";
  try {
    pb::ReplicatedDataParallel dp(torch::nn::AnyModule(std::make_shared<PlainCnn>()),
                                  [](const torch::Tensor& o, const torch::Tensor& t) { return torch::mse_loss(o, t); },
                                  {{torch::kCPU, torch::kCPU}, 1, true});
  } catch (const pb::DataParallelError& e) {
    std::cout << "a module derived from torch::nn::Module only: " << e.what() << "\n";
  }
  return logits.size(0) == batch ? 0 : 1;
}
