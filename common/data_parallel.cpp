// Persistent-replica data parallelism: broadcast, scatter, parallel forward/backward, gradient sum.
#include "common/data_parallel.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

#include <c10/core/DeviceGuard.h>

namespace pb {

std::vector<int64_t> split_sizes(int64_t batch, int64_t replicas) {
  if (replicas < 1 || batch < 0) {
    throw DataParallelError("data parallel: cannot split " + std::to_string(batch) + " samples over " +
                            std::to_string(replicas) + " replicas");
  }
  std::vector<int64_t> sizes(static_cast<size_t>(replicas), batch / replicas);
  for (int64_t r = 0; r < batch % replicas; ++r) ++sizes[static_cast<size_t>(r)];
  return sizes;
}

double relative_gradient_difference(torch::nn::Module& a, torch::nn::Module& b) {
  double diff = 0, scale = 1e-12;
  const auto pa = a.parameters(), pb = b.parameters();
  for (size_t i = 0; i < pa.size(); ++i) {
    diff = std::max(diff, (pa[i].grad() - pb[i].grad()).abs().max().item<double>());
    scale = std::max(scale, pb[i].grad().abs().max().item<double>());
  }
  return diff / scale;
}

// One thread per replica, started once and woken for every step: a thread start per step would
// cost what the persistent replicas save. Each thread sets its own intra-op thread count, which
// OpenMP keeps per thread, so replicas and the caller do not change each other's setting.
class ReplicatedDataParallel::Threads {
 public:
  Threads(size_t count, int64_t intra_op_threads) : thread_counts_(count, 0) {
    try {
      for (size_t i = 0; i < count; ++i) {
        threads_.emplace_back([this, i, intra_op_threads] { loop(i, intra_op_threads); });
      }
    } catch (...) {  // no thread could be started: stop those that were, then report
      stop_all();
      throw;
    }
    // Wait until every thread has applied its setting, so thread_counts() is complete.
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return started_ == threads_.size(); });
    if (error_) {
      lock.unlock();
      stop_all();
      std::rethrow_exception(error_);
    }
  }
  ~Threads() { stop_all(); }
  // Runs job(i) on thread i for every i, waits for all; rethrows the first exception.
  void run(const std::function<void(size_t)>& job) {
    std::unique_lock<std::mutex> lock(mutex_);
    job_ = &job;
    pending_ = threads_.size();
    error_ = nullptr;
    ++generation_;
    wake_.notify_all();
    done_.wait(lock, [&] { return pending_ == 0; });
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }
  std::vector<int64_t> thread_counts() const { return thread_counts_; }

 private:
  void stop_all() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  void loop(size_t i, int64_t intra_op_threads) {
    std::exception_ptr error;
    try {
      // ATen initialises a thread's count lazily, on its first parallel op, from the process-wide
      // setting (the last set_num_threads of any thread). Initialise first, then set: otherwise
      // that first op would overwrite this thread's setting.
      at::get_num_threads();
      at::set_num_threads(static_cast<int>(intra_op_threads));
    } catch (...) {
      error = std::current_exception();
    }
    uint64_t seen = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      thread_counts_[i] = at::get_num_threads();
      if (error && !error_) error_ = error;
      ++started_;
    }
    done_.notify_all();
    while (true) {
      const std::function<void(size_t)>* job = nullptr;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        job = job_;
      }
      std::exception_ptr error;
      try {
        (*job)(i);
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mutex_);
      if (error && !error_) error_ = error;
      if (--pending_ == 0) done_.notify_all();
    }
  }

  std::vector<std::thread> threads_;
  std::vector<int64_t> thread_counts_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(size_t)>* job_ = nullptr;
  uint64_t generation_ = 0;
  size_t pending_ = 0, started_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

ReplicatedDataParallel::ReplicatedDataParallel(torch::nn::AnyModule master, LossFn loss, ReplicaOptions options)
    : master_(std::move(master)), loss_(std::move(loss)), options_(std::move(options)) {
  const auto count = static_cast<int64_t>(options_.devices.size());
  if (count < 1 || count > kMaxReplicas) {
    throw DataParallelError("data parallel: replica count must be in [1, " + std::to_string(kMaxReplicas) +
                            "], got " + std::to_string(count));
  }
  if (options_.threads_per_replica < 1) {
    throw DataParallelError("data parallel: threads per replica must be at least 1, got " +
                            std::to_string(options_.threads_per_replica));
  }
  master_.ptr()->to(options_.devices.front());
  // Replica 0 is the master itself when persistent. Cloning is checked here, once, also when
  // replicas are re-cloned every step.
  for (size_t r = 0; r < options_.devices.size(); ++r) {
    replicas_.push_back(options_.persistent && r == 0 ? master_ : clone_to(options_.devices[r]));
  }
  losses_.assign(options_.devices.size(), 0.0);
  // The replicas' set_num_threads also changes the process-wide setting that threads started
  // later inherit; put the caller's back (initialising the caller's own first, see Threads::loop).
  const int caller_threads = at::get_num_threads();
  threads_ = std::make_unique<Threads>(options_.devices.size(), options_.threads_per_replica);
  at::set_num_threads(caller_threads);
}

ReplicatedDataParallel::~ReplicatedDataParallel() = default;

std::vector<int64_t> ReplicatedDataParallel::replica_thread_counts() const { return threads_->thread_counts(); }

torch::nn::AnyModule ReplicatedDataParallel::clone_to(const torch::Device& device) const {
  try {
    return master_.clone(device);
  } catch (const c10::Error&) {
    // libtorch's own message is a multi-line backtrace; the cause is always the same.
    const std::string name = master_.ptr()->name();
    throw DataParallelError("data parallel: module '" + name + "' cannot be replicated: derive it from torch::nn::Cloneable<" +
                            name + "> instead of torch::nn::Module");
  }
}

void ReplicatedDataParallel::broadcast() {
  torch::NoGradGuard no_grad;
  const auto from = master_.ptr()->parameters(), from_buffers = master_.ptr()->buffers();
  for (size_t r = 0; r < replicas_.size(); ++r) {
    if (options_.persistent && r == 0) continue;  // the master itself
    torch::nn::Module& replica = *replicas_[r].ptr();
    replica.train(master_.ptr()->is_training());
    const auto to = replica.parameters();
    if (options_.persistent) {  // re-cloned replicas are fresh copies already
      // Copies to a GPU are queued on the master's stream ahead of the master's own forward, so
      // they read this step's parameters; copies to the CPU are synchronous.
      const bool async = options_.devices[r].is_cuda();
      const auto to_buffers = replica.buffers();
      for (size_t i = 0; i < to.size(); ++i) to[i].copy_(from[i], async);
      for (size_t i = 0; i < to_buffers.size(); ++i) to_buffers[i].copy_(from_buffers[i], async);
    }
    // Dropping the old gradient lets backward hand over its buffer instead of adding into it.
    for (const auto& p : to) p.mutable_grad().reset();
  }
}

void ReplicatedDataParallel::run_replica(size_t r, const torch::Tensor& inputs, const torch::Tensor& targets,
                                         int64_t begin, int64_t count, int64_t batch) {
  const torch::Device device = options_.devices[r];
  c10::OptionalDeviceGuard guard;
  if (device.is_cuda()) guard.reset_device(device);
  losses_[r] = 0;
  if (count == 0) return;
  // Asynchronous only towards a GPU: a non-blocking copy to the CPU may not have landed when read.
  const bool async = device.is_cuda();
  const torch::Tensor x = inputs.narrow(0, begin, count).to(device, async);
  const torch::Tensor y = targets.narrow(0, begin, count).to(device, async);
  // Scaled by this replica's share of the batch: the sum over replicas is the whole batch's mean.
  torch::Tensor loss = loss_(replicas_[r].forward(x), y) * (static_cast<double>(count) / static_cast<double>(batch));
  loss.backward();
  losses_[r] = loss.item<double>();
}

double ReplicatedDataParallel::forward_backward(const torch::Tensor& inputs, const torch::Tensor& targets) {
  const int64_t batch = inputs.size(0);
  if (batch < 1 || targets.size(0) != batch) {
    throw DataParallelError("data parallel: a batch needs at least one sample and as many targets as inputs, got " +
                            std::to_string(batch) + " and " + std::to_string(targets.size(0)));
  }
  if (!options_.persistent) {
    // What upstream data_parallel does on every call: a fresh deep copy per device, one by one.
    for (size_t r = 0; r < replicas_.size(); ++r) replicas_[r] = clone_to(options_.devices[r]);
  }
  const std::vector<int64_t> sizes = split_sizes(batch, replica_count());
  std::vector<int64_t> begins(sizes.size(), 0);
  for (size_t r = 1; r < sizes.size(); ++r) begins[r] = begins[r - 1] + sizes[r - 1];
  // Every replica gets this step's parameters before any replica (the master included) runs: a
  // master already in forward would otherwise update buffers (batch norm) while they are read.
  broadcast();
  threads_->run([&](size_t r) { run_replica(r, inputs, targets, begins[r], sizes[r], batch); });

  // Reduce: sum every other replica's gradients into the master's.
  const std::vector<torch::Tensor> master_params = master_.ptr()->parameters();
  torch::NoGradGuard no_grad;
  for (size_t r = options_.persistent ? 1 : 0; r < replicas_.size(); ++r) {
    if (sizes[r] == 0) continue;
    const std::vector<torch::Tensor> params = replicas_[r].ptr()->parameters();
    for (size_t i = 0; i < params.size(); ++i) {
      const torch::Tensor& grad = params[i].grad();
      if (!grad.defined()) continue;
      torch::Tensor& master_grad = master_params[i].mutable_grad();
      if (master_grad.defined()) {
        master_grad.add_(grad.to(master_grad.device(), /*non_blocking=*/master_grad.is_cuda()));
      } else {
        master_grad = grad.to(master_params[i].device(), /*non_blocking=*/false, /*copy=*/true);
      }
    }
  }
  double total = 0;
  for (double l : losses_) total += l;
  return total;
}

}  // namespace pb
