// Model construction, names and losses for the three source workflows.
#include "common/models.h"

#include <stdexcept>

#include "common/error.h"

namespace pb {

std::string model_name(ModelKind kind) {
  switch (kind) {
    case ModelKind::kLinear: return "linear";
    case ModelKind::kMlp: return "mlp";
    case ModelKind::kCnn: return "cnn";
  }
  throw std::logic_error("unreachable model kind");
}

ModelKind parse_model_kind(const std::string& name) {
  for (ModelKind kind : all_model_kinds()) {
    if (model_name(kind) == name) return kind;
  }
  throw Error("unknown model '" + name + "' (expected linear, mlp or cnn)");
}

ModelKind parse_model_kind_or_exit(const std::string& program, const std::string& name) {
  return or_exit(program, [&] { return parse_model_kind(name); });
}

std::vector<ModelKind> all_model_kinds() { return {ModelKind::kLinear, ModelKind::kMlp, ModelKind::kCnn}; }

torch::nn::AnyModule make_model(ModelKind kind) {
  switch (kind) {
    case ModelKind::kLinear: return torch::nn::AnyModule(LinearModel());
    case ModelKind::kMlp: return torch::nn::AnyModule(Mlp());
    case ModelKind::kCnn: return torch::nn::AnyModule(Cnn());
  }
  throw std::logic_error("unreachable model kind");
}

std::vector<int64_t> input_shape(ModelKind kind) {
  if (kind == ModelKind::kCnn) return {3, 32, 32};
  return {10};
}

int64_t output_size(ModelKind kind) { return kind == ModelKind::kCnn ? 10 : 2; }

torch::Tensor compute_loss(ModelKind kind, const torch::Tensor& output, const torch::Tensor& target) {
  if (kind == ModelKind::kMlp) return torch::mse_loss(output, target);
  return torch::nn::functional::cross_entropy(output, target);
}

int64_t count_correct(ModelKind kind, const torch::Tensor& output, const torch::Tensor& target) {
  torch::Tensor labels = kind == ModelKind::kMlp ? target.argmax(1) : target;
  return output.argmax(1).eq(labels).sum().item<int64_t>();
}

}  // namespace pb
