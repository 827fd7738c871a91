// Tests for common/distributed: the environment checks, the sampler (no sample lost or duplicated
// for uneven sizes), and rendezvous errors that must come within the timeout instead of a hang.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>

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

}  // namespace
