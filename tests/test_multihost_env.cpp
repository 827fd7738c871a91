// Tests of the multi-host part of the torchrun environment: LOCAL_WORLD_SIZE, GROUP_RANK and
// torchrun's shared store (TORCHELASTIC_USE_AGENT_STORE), read and checked by read_dist_env.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "common/distributed/dist_env.h"

namespace {

using Env = std::map<std::string, std::string>;

pb::dist::DistEnv read(const Env& vars) {
  return pb::dist::read_dist_env([&](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

std::string env_error(const Env& vars) {
  try {
    read(vars);
  } catch (const pb::dist::DistError& e) {
    return e.what();
  }
  return "no error";
}

// What torchrun --nnodes 2 --nproc-per-node 2 gives the second rank of node 1.
const Env kNode1Rank1 = {{"RANK", "3"},       {"LOCAL_RANK", "1"}, {"WORLD_SIZE", "4"},
                         {"LOCAL_WORLD_SIZE", "2"}, {"GROUP_RANK", "1"}, {"MASTER_ADDR", "10.213.0.1"},
                         {"MASTER_PORT", "29500"}};

TEST(MultihostEnv, ReadsTorchrunNodeVariables) {
  const pb::dist::DistEnv env = read(kNode1Rank1);
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.local_world_size, 2);
  EXPECT_EQ(env.group_rank, 1);
  EXPECT_EQ(env.master_addr, "10.213.0.1");
  EXPECT_FALSE(env.agent_store);
}

TEST(MultihostEnv, WithoutNodeVariablesTheJobIsOneHost) {
  const pb::dist::DistEnv env = read({{"RANK", "1"}, {"WORLD_SIZE", "3"}, {"MASTER_PORT", "29500"}});
  EXPECT_EQ(env.local_world_size, 3);
  EXPECT_EQ(env.group_rank, 0);
}

TEST(MultihostEnv, AgentStoreAsPythonReadsIt) {
  Env vars = kNode1Rank1;
  vars["TORCHELASTIC_USE_AGENT_STORE"] = "True";
  vars["TORCHELASTIC_RESTART_COUNT"] = "2";
  const pb::dist::DistEnv env = read(vars);
  EXPECT_TRUE(env.agent_store);
  EXPECT_EQ(env.restart_count, 2);
  // c10d's Python side compares with str(True): anything else is no shared store.
  vars["TORCHELASTIC_USE_AGENT_STORE"] = "1";
  EXPECT_FALSE(read(vars).agent_store);
  vars["TORCHELASTIC_USE_AGENT_STORE"] = "False";
  EXPECT_FALSE(read(vars).agent_store);
}

TEST(MultihostEnv, BadNodeVariablesAreOneLineErrors) {
  auto with = [](Env vars, const std::string& name, const std::string& value) {
    vars[name] = value;
    return vars;
  };
  EXPECT_EQ(env_error(with(kNode1Rank1, "LOCAL_RANK", "2")), "LOCAL_RANK 2 is out of range for LOCAL_WORLD_SIZE 2");
  EXPECT_EQ(env_error(with(kNode1Rank1, "LOCAL_WORLD_SIZE", "8")), "LOCAL_WORLD_SIZE 8 is larger than WORLD_SIZE 4");
  EXPECT_EQ(env_error(with(kNode1Rank1, "LOCAL_WORLD_SIZE", "0")), "LOCAL_WORLD_SIZE must be between 1 and 4096, got 0");
  EXPECT_EQ(env_error(with(kNode1Rank1, "GROUP_RANK", "2")), "GROUP_RANK 2 is out of range for 2 host(s) of LOCAL_WORLD_SIZE 2");
  EXPECT_EQ(env_error(with(kNode1Rank1, "GROUP_RANK", "one")), "GROUP_RANK must be an integer, got 'one'");
  EXPECT_EQ(env_error(with(kNode1Rank1, "TORCHELASTIC_RESTART_COUNT", "-1")),
            "TORCHELASTIC_RESTART_COUNT must be between 0 and 2147483647, got -1");
  Env half = kNode1Rank1;
  half.erase("LOCAL_RANK");
  EXPECT_EQ(env_error(half), "LOCAL_WORLD_SIZE is set but LOCAL_RANK is not (torchrun sets both)");
}

}  // namespace
