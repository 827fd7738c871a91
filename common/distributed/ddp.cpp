// DDP implementation: buckets in reverse registration order (the order backward produces
// gradients), gradient-accumulator post hooks that copy each finished gradient into its bucket,
// in-order asynchronous all-reduces, and a final wait that writes the sums back.
#include "common/distributed/ddp.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <chrono>
#include <stdexcept>

namespace pb::dist {

DistributedDataParallel::DistributedDataParallel(std::vector<torch::Tensor> parameters,
                                                 c10::intrusive_ptr<Collectives> group, DdpOptions options)
    : parameters_(std::move(parameters)), group_(std::move(group)), options_(options) {
  if (parameters_.empty()) throw std::invalid_argument("DistributedDataParallel needs parameters");
  if (options_.bucket_bytes < 1) throw std::invalid_argument("bucket size must be positive");
  const auto reference = parameters_.front().options();
  bucket_of_.resize(parameters_.size());
  // Backward produces gradients roughly in reverse order of registration (last layer first), so
  // buckets filled in that order become complete, and can be sent, while backward goes on.
  for (size_t k = parameters_.size(); k-- > 0;) {
    const torch::Tensor& p = parameters_[k];
    if (p.dtype() != reference.dtype() || p.device() != reference.device()) {
      throw std::invalid_argument("all parameters must share one dtype and device");
    }
    const int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
    if (buckets_.empty() || (!buckets_.back().params.empty() &&
                             (buckets_.back().flat.numel() * static_cast<int64_t>(p.element_size()) + bytes >
                              options_.bucket_bytes))) {
      buckets_.emplace_back();
      buckets_.back().flat = torch::zeros({0}, reference);
    }
    Bucket& b = buckets_.back();
    b.params.push_back(k);
    b.offsets.push_back(b.flat.numel());
    b.flat = torch::zeros({b.flat.numel() + p.numel()}, reference);  // sized here, filled per step
    bucket_of_[k] = buckets_.size() - 1;
  }
  // Gradients as views of the buckets (PyTorch DDP's gradient_as_bucket_view): each parameter's
  // .grad() shares its bucket's memory, so backward accumulates straight into the buffer that is
  // all-reduced and no gradient is copied in or out. from_blob rather than narrow(): an autograd
  // view would make libtorch 1.13's Optimizer::zero_grad() fail on detach_().
  for (Bucket& b : buckets_) {
    for (size_t i = 0; i < b.params.size(); ++i) parameters_[b.params[i]].mutable_grad() = bucket_view(b, i);
  }
  gradient_ready_.assign(parameters_.size(), false);
  if (options_.overlap) {
    try {
      for (size_t k = 0; k < parameters_.size(); ++k) {
        auto accumulator = torch::autograd::impl::grad_accumulator(parameters_[k]);
        if (!accumulator) throw std::invalid_argument("a parameter does not require grad");
        // Fires after AccumulateGrad has written this parameter's gradient for the current backward.
        // add_post_hook returns the key that del_post_hook takes (libtorch 1.13 and 2.x alike).
        const uintptr_t key = accumulator->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
            [this, k](const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) {
              on_gradient_ready(k);
              return outputs;
            }));
        hooks_.emplace_back(std::move(accumulator), key);
      }
    } catch (...) {
      remove_hooks();  // no destructor runs for a half-built object: the hooks added so far capture it
      throw;
    }
  }
}

void DistributedDataParallel::remove_hooks() noexcept {
  for (auto& [accumulator, key] : hooks_) accumulator->del_post_hook(key);
  hooks_.clear();
}

void* DistributedDataParallel::bucket_address(const Bucket& b, size_t i) {
  return static_cast<char*>(b.flat.data_ptr()) + b.offsets[i] * b.flat.element_size();
}

torch::Tensor DistributedDataParallel::bucket_view(const Bucket& b, size_t i) const {
  torch::Tensor flat = b.flat;  // captured: the view keeps its bucket alive
  return torch::from_blob(bucket_address(b, i), parameters_[b.params[i]].sizes(), [flat](void*) {}, flat.options());
}

bool DistributedDataParallel::grads_are_bucket_views() const {
  for (const Bucket& b : buckets_) {
    for (size_t i = 0; i < b.params.size(); ++i) {
      const torch::Tensor& grad = parameters_[b.params[i]].grad();
      if (!grad.defined() || grad.data_ptr() != bucket_address(b, i)) return false;
    }
  }
  return true;
}

DistributedDataParallel::~DistributedDataParallel() {
  // The hooks capture `this`: removed (Node::del_post_hook), so a backward after the wrapper is
  // gone, through the model or a graph built while it lived, calls no hook of a dead object. The
  // gradients stay views of their buckets, which the views keep alive.
  remove_hooks();
  // No collective may still write into the buckets once they are only the gradients' memory.
  for (Bucket& b : buckets_) {
    if (!b.work) continue;
    try {
      b.work->wait();
    } catch (const std::exception&) {
      // A failed collective (a lost peer, a timeout) rethrows on every wait. The caller saw it from
      // finish_gradient_sync(), or is unwinding from another error: rethrowing here would terminate.
    }
  }
}

void DistributedDataParallel::broadcast_parameters() {
  torch::NoGradGuard no_grad;
  for (torch::Tensor& p : parameters_) {
    std::vector<torch::Tensor> tensors{p.data()};
    group_->broadcast(tensors)->wait();  // root 0 by default
  }
}

void DistributedDataParallel::on_gradient_ready(size_t param) {
  // AccumulateGrad runs once per parameter and backward, so a repeat means a second backward. Its
  // gradient is already in the bucket, which may be in the middle of its all-reduce: ignoring the
  // repeat would let it skew the sum, or not, depending on timing, and on no rank visibly.
  if (gradient_ready_[param]) {
    throw DistError("backward ran again before finish_gradient_sync(): call finish_gradient_sync() after every backward");
  }
  gradient_ready_[param] = true;
  Bucket& b = buckets_[bucket_of_[param]];
  ++b.ready;
  launch_ready_buckets(false);
}

void DistributedDataParallel::launch_ready_buckets(bool force) {
  while (next_launch_ < buckets_.size()) {
    Bucket& b = buckets_[next_launch_];
    if (!force && b.ready < b.params.size()) return;
    // Gradients are final once their hook fired (or backward returned). Normally they already live
    // in the bucket. A gradient that was replaced (libtorch 2.x's zero_grad() sets gradients to
    // none by default, so backward allocates new ones; or a user's assignment) is copied in, and a
    // missing one (no samples on this rank this step) counts as zero. Either way the parameter's
    // grad is pointed back at its bucket view, as PyTorch's reducer does, so the sum lands in it
    // and the next backward accumulates into the bucket again.
    for (size_t i = 0; i < b.params.size(); ++i) {
      torch::Tensor& p = parameters_[b.params[i]];
      torch::Tensor slice = b.flat.narrow(0, b.offsets[i], p.numel());
      if (!p.grad().defined()) {
        slice.zero_();
      } else if (p.grad().data_ptr() != slice.data_ptr()) {
        slice.copy_(p.grad().reshape({-1}));
      } else {
        continue;
      }
      p.mutable_grad() = bucket_view(b, i);
    }
    std::vector<torch::Tensor> tensors{b.flat};
    b.work = group_->allreduce(tensors);  // SUM by default
    b.launched = true;
    ++next_launch_;
  }
}

void DistributedDataParallel::finish_gradient_sync() {
  const auto start = std::chrono::steady_clock::now();
  launch_ready_buckets(true);
  torch::NoGradGuard no_grad;
  for (Bucket& b : buckets_) {
    b.work->wait();  // every gradient of the bucket is a view of it (launch_ready_buckets): summed
    b.ready = 0;
    b.launched = false;
    b.work.reset();
  }
  next_launch_ = 0;
  gradient_ready_.assign(parameters_.size(), false);
  last_wait_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

torch::Tensor scaled_loss(ModelKind kind, const torch::Tensor& output, const torch::Tensor& target, int64_t global_count) {
  if (kind == ModelKind::kMlp) {
    // MSELoss averages over every element: samples x outputs.
    return torch::mse_loss(output, target, at::Reduction::Sum) / static_cast<double>(global_count * output.size(1));
  }
  return torch::nn::functional::cross_entropy(
             output, target, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum)) /
         static_cast<double>(global_count);
}

}  // namespace pb::dist
