// Tests for common/distributed: the environment checks, the sampler (no sample lost or duplicated
// for uneven sizes), rendezvous errors that must come within the timeout instead of a hang, and the
// DDP wrapper's hook lifecycle on a Gloo group of one rank (in process, no launcher).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/variable.h>

#include "common/distributed/ddp.h"
#include "common/distributed/launcher.h"
#include "common/distributed/process_group.h"
#include "common/distributed/shard.h"

namespace {

using Env = std::map<std::string, std::string>;

std::string env_error(const Env& vars) {
  try {
    pb::dist::read_dist_env([&](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    });
  } catch (const pb::dist::DistError& e) {
    return e.what();
  }
  return "no error";
}

TEST(DistEnv, ReadsTorchrunVariables) {
  const Env vars = {{"RANK", "1"}, {"WORLD_SIZE", "4"}, {"MASTER_PORT", "29500"}};
  const auto env = pb::dist::read_dist_env([&](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
  EXPECT_EQ(env.rank, 1);
  EXPECT_EQ(env.world_size, 4);
  EXPECT_EQ(env.local_rank, 1);  // defaults to RANK
  EXPECT_EQ(env.master_addr, "127.0.0.1");
  EXPECT_EQ(env.master_port, 29500);
}

TEST(DistEnv, BadEnvironmentsAreOneLineErrors) {
  EXPECT_EQ(env_error({{"WORLD_SIZE", "2"}, {"MASTER_PORT", "1"}}),
            "RANK is not set (launch with --nproc N, torchrun, or set RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT)");
  EXPECT_EQ(env_error({{"RANK", "0"}, {"MASTER_PORT", "1"}}),
            "WORLD_SIZE is not set (launch with --nproc N, torchrun, or set RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT)");
  EXPECT_EQ(env_error({{"RANK", "0"}, {"WORLD_SIZE", "0"}, {"MASTER_PORT", "1"}}),
            "WORLD_SIZE must be between 1 and 4096, got 0");
  EXPECT_EQ(env_error({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "1"}}), "RANK 2 is out of range for WORLD_SIZE 2");
  EXPECT_EQ(env_error({{"RANK", "-1"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "1"}}), "RANK must be between 0 and 4095, got -1");
  EXPECT_EQ(env_error({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "http"}}), "MASTER_PORT must be an integer, got 'http'");
  EXPECT_EQ(env_error({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "70000"}}),
            "MASTER_PORT must be between 1 and 65535, got 70000");
}

TEST(ShardPlan, EverySampleExactlyOncePerEpochForUnevenSizes) {
  for (int64_t n : {1, 7, 100, 103})
    for (int64_t world : {1, 2, 3, 4})
      for (int64_t batch : {1, 5, 32}) {
        const pb::dist::ShardPlan plan(n, batch, world, 11);
        for (int64_t epoch = 0; epoch < 2; ++epoch) {
          std::vector<int> seen(static_cast<size_t>(n), 0);
          for (int64_t step = 0; step < plan.steps_per_epoch(); ++step) {
            std::vector<int64_t> union_of_ranks;
            for (int64_t rank = 0; rank < world; ++rank) {
              for (int64_t i : plan.local_indices(epoch, step, rank)) {
                ++seen[static_cast<size_t>(i)];
                union_of_ranks.push_back(i);
              }
            }
            std::vector<int64_t> global = plan.global_indices(epoch, step);
            EXPECT_EQ(static_cast<int64_t>(global.size()), plan.global_batch_size(step));
            std::sort(global.begin(), global.end());
            std::sort(union_of_ranks.begin(), union_of_ranks.end());
            EXPECT_EQ(union_of_ranks, global) << "n " << n << " world " << world << " batch " << batch;
          }
          EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), n) << "n " << n << " world " << world << " batch " << batch;
        }
      }
}

TEST(ShardPlan, DeterministicAndReshuffledEachEpoch) {
  const pb::dist::ShardPlan a(1000, 1000, 2, 5), b(1000, 1000, 2, 5);
  EXPECT_EQ(a.global_indices(3, 0), b.global_indices(3, 0));
  EXPECT_NE(a.global_indices(0, 0), a.global_indices(1, 0));
}

TEST(Rendezvous, PortInUseIsAClearError) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const int64_t port = ntohs(address.sin_port);
  const auto start = std::chrono::steady_clock::now();
  try {
    pb::dist::connect({"127.0.0.1", port, 0, 1, 0}, torch::kCPU, std::chrono::milliseconds(3000));
    FAIL() << "rank 0 served the store on a port that is in use";
  } catch (const pb::dist::DistError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("cannot rendezvous at 127.0.0.1:" + std::to_string(port) + " as rank 0 of 1: ", 0), 0u)
        << message;
    EXPECT_EQ(message.find('\n'), std::string::npos);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  ::close(fd);
}

TEST(Rendezvous, UnreachableMasterFailsWithinTheTimeout) {
  const int64_t port = pb::dist::find_free_port();  // nobody listens there
  const auto start = std::chrono::steady_clock::now();
  try {
    pb::dist::connect({"127.0.0.1", port, 1, 2, 1}, torch::kCPU, std::chrono::milliseconds(2000));
    FAIL() << "rank 1 connected to a master that does not exist";
  } catch (const pb::dist::DistError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("cannot rendezvous at 127.0.0.1:" + std::to_string(port) + " as rank 1 of 2: ", 0), 0u)
        << message;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
}

TEST(Nccl, ReasonWhenUnavailable) {
  if (pb::dist::nccl_unavailable_reason().empty()) GTEST_SKIP() << "NCCL is available here";
  EXPECT_THROW(pb::dist::connect({"127.0.0.1", pb::dist::find_free_port(), 0, 1, 0}, torch::Device(torch::kCUDA, 0),
                                 std::chrono::milliseconds(2000)),
               pb::dist::DistError);
}

// A Gloo group of one rank, served and joined by this process: the all-reduce of a single rank is
// the identity, so every gradient after finish_gradient_sync() equals the local one.
pb::dist::Group solo_group() {
  return pb::dist::connect({"127.0.0.1", pb::dist::find_free_port(), 0, 1, 0}, torch::kCPU,
                           std::chrono::milliseconds(5000));
}

// Two leaf parameters and a loss whose gradients are known: d/dw sum(x w + b) = x^T 1, d/db = rows.
struct TinyModel {
  torch::Tensor w = torch::full({3, 2}, 0.5).requires_grad_();
  torch::Tensor b = torch::zeros({2}).requires_grad_();
  torch::Tensor x = torch::arange(12, torch::kFloat).reshape({4, 3});
  std::vector<torch::Tensor> parameters() const { return {w, b}; }
  torch::Tensor loss() const { return (x.mm(w) + b).sum(); }
  torch::Tensor w_grad() const { return x.sum(0).unsqueeze(1).expand({3, 2}); }
  torch::Tensor b_grad() const { return torch::full({2}, 4.0); }
};

size_t post_hook_count(const torch::Tensor& parameter) {
  return torch::autograd::impl::grad_accumulator(parameter)->post_hooks().size();
}

TEST(DdpHooks, DestroyedWrapperLeavesNoHooksBehind) {
  const pb::dist::Group group = solo_group();
  TinyModel model;
  // The accumulators are held weakly by their tensors. Holding them here, as a graph built while
  // the wrapper lived holds them, keeps the very nodes the wrapper hooked: without removal, their
  // hooks would call into the destroyed wrapper.
  const auto w_accumulator = torch::autograd::impl::grad_accumulator(model.w);
  const auto b_accumulator = torch::autograd::impl::grad_accumulator(model.b);
  const size_t hooks_before = post_hook_count(model.w);
  torch::Tensor loss;
  {
    pb::dist::DistributedDataParallel ddp(model.parameters(), group.group);
    ASSERT_EQ(post_hook_count(model.w), hooks_before + 1);
    loss = model.loss();  // a graph that outlives the wrapper
  }
  // ASSERT: the backward below would run a dangling wrapper's hook if this failed.
  ASSERT_EQ(post_hook_count(model.w), hooks_before);
  ASSERT_EQ(post_hook_count(model.b), hooks_before);
  model.w.mutable_grad() = torch::Tensor();
  model.b.mutable_grad() = torch::Tensor();
  loss.backward();
  // Plain local gradients: no hook copied them into a bucket or pointed them back at one.
  EXPECT_TRUE(torch::equal(model.w.grad(), model.w_grad()));
  EXPECT_TRUE(torch::equal(model.b.grad(), model.b_grad()));
  // The model can be wrapped again (as after a failed step) and trains as if never wrapped before.
  pb::dist::DistributedDataParallel again(model.parameters(), group.group);
  EXPECT_EQ(post_hook_count(model.w), hooks_before + 1);
  model.loss().backward();
  again.finish_gradient_sync();
  EXPECT_TRUE(again.grads_are_bucket_views());
  EXPECT_TRUE(torch::equal(model.w.grad(), model.w_grad()));
}

TEST(DdpHooks, FailedConstructionLeavesNoHooksBehind) {
  const pb::dist::Group group = solo_group();
  TinyModel model;
  const torch::Tensor frozen = torch::zeros({2});  // no grad: the constructor throws on it
  const auto w_accumulator = torch::autograd::impl::grad_accumulator(model.w);  // kept, as above
  const size_t hooks_before = post_hook_count(model.w);
  try {
    pb::dist::DistributedDataParallel ddp({model.w, frozen}, group.group);
    FAIL() << "a parameter without grad was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "a parameter does not require grad");
  }
  // w was hooked before `frozen` was reached; no destructor runs for a half-built wrapper.
  EXPECT_EQ(post_hook_count(model.w), hooks_before);
}

TEST(DdpHooks, SecondBackwardBeforeSyncIsAnError) {
  const pb::dist::Group group = solo_group();
  for (const int64_t bucket_bytes : {int64_t{1}, pb::dist::kDefaultBucketBytes}) {  // a bucket per parameter, one bucket
    TinyModel model;
    pb::dist::DistributedDataParallel ddp(model.parameters(), group.group, {bucket_bytes, true});
    model.loss().backward();
    try {
      model.loss().backward();
      ADD_FAILURE() << "a second backward before finish_gradient_sync() was ignored (bucket_bytes " << bucket_bytes << ")";
    } catch (const pb::dist::DistError& e) {
      EXPECT_EQ(std::string(e.what()),
                "backward ran again before finish_gradient_sync(): call finish_gradient_sync() after every backward");
    }
    // The wrapper stays usable: the interrupted step is synchronized, and the next one is exact.
    ddp.finish_gradient_sync();
    for (torch::Tensor& p : model.parameters()) p.mutable_grad().zero_();
    model.loss().backward();
    ddp.finish_gradient_sync();
    EXPECT_TRUE(torch::equal(model.w.grad(), model.w_grad()));
    EXPECT_TRUE(torch::equal(model.b.grad(), model.b_grad()));
  }
}

TEST(DdpHooks, ReplacedGradientsArePointedBackAtTheirBuckets) {
  const pb::dist::Group group = solo_group();
  TinyModel model;
  pb::dist::DistributedDataParallel ddp(model.parameters(), group.group, {1, true});  // a bucket per parameter
  ASSERT_TRUE(ddp.grads_are_bucket_views());
  // libtorch 2.x's zero_grad() sets gradients to none; a user may assign a tensor of their own.
  model.w.mutable_grad() = torch::Tensor();
  model.b.mutable_grad() = torch::zeros({2});
  model.loss().backward();
  ddp.finish_gradient_sync();
  EXPECT_TRUE(ddp.grads_are_bucket_views());
  EXPECT_TRUE(torch::equal(model.w.grad(), model.w_grad()));
  EXPECT_TRUE(torch::equal(model.b.grad(), model.b_grad()));
  // The next backward accumulates in the buckets again: twice the gradient, still views.
  model.loss().backward();
  ddp.finish_gradient_sync();
  EXPECT_TRUE(ddp.grads_are_bucket_views());
  EXPECT_TRUE(torch::equal(model.w.grad(), 2 * model.w_grad()));
}

}  // namespace
