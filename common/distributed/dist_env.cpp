// Parsing and checking of the torchrun environment variables.
#include "common/distributed/dist_env.h"

#include <charconv>
#include <cstdint>
#include <cstdlib>

namespace pb::dist {
namespace {

constexpr int64_t kMaxWorldSize = 4096;

}  // namespace

int64_t parse_env_integer(const std::string& name, const std::string& text, int64_t min, int64_t max) {
  try {
    return parse_integer(name, text, min, max);  // the project's one strict parser, same messages
  } catch (const Error& error) {
    throw DistError(error.what());
  }
}

bool launched_as_rank(const std::function<const char*(const char*)>& getenv) {
  auto get = getenv ? getenv : [](const char* name) -> const char* { return std::getenv(name); };
  return get("RANK") != nullptr;
}

DistEnv read_dist_env(const std::function<const char*(const char*)>& getenv) {
  auto get = getenv ? getenv : [](const char* name) -> const char* { return std::getenv(name); };
  auto required = [&](const char* name) {
    const char* value = get(name);
    if (value == nullptr) {
      throw DistError(std::string(name) +
                      " is not set (launch with --nproc N, torchrun, or set RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT)");
    }
    return std::string(value);
  };
  DistEnv env;
  env.rank = parse_env_integer("RANK", required("RANK"), 0, kMaxWorldSize - 1);
  env.world_size = parse_env_integer("WORLD_SIZE", required("WORLD_SIZE"), 1, kMaxWorldSize);
  if (env.rank >= env.world_size) {
    throw DistError("RANK " + std::to_string(env.rank) + " is out of range for WORLD_SIZE " + std::to_string(env.world_size));
  }
  env.master_port = parse_env_integer("MASTER_PORT", required("MASTER_PORT"), 1, 65535);
  const char* addr = get("MASTER_ADDR");
  env.master_addr = addr != nullptr && *addr != '\0' ? addr : "127.0.0.1";
  const char* local = get("LOCAL_RANK");
  env.local_rank = local != nullptr ? parse_env_integer("LOCAL_RANK", local, 0, kMaxWorldSize - 1) : env.rank;
  const char* local_world = get("LOCAL_WORLD_SIZE");
  if (local_world != nullptr && local == nullptr) {
    throw DistError("LOCAL_WORLD_SIZE is set but LOCAL_RANK is not (torchrun sets both)");
  }
  env.local_world_size =
      local_world != nullptr ? parse_env_integer("LOCAL_WORLD_SIZE", local_world, 1, kMaxWorldSize) : env.world_size;
  const char* group = get("GROUP_RANK");
  env.group_rank = group != nullptr ? parse_env_integer("GROUP_RANK", group, 0, kMaxWorldSize - 1) : 0;
  // Only what holds for every torchrun launch: hosts of equal size (torchrun starts
  // --nproc-per-node ranks on each), this rank among its host's and its host among the job's.
  if (env.local_world_size > env.world_size) {
    throw DistError("LOCAL_WORLD_SIZE " + std::to_string(env.local_world_size) + " is larger than WORLD_SIZE " +
                    std::to_string(env.world_size));
  }
  if (env.local_rank >= env.local_world_size) {
    throw DistError("LOCAL_RANK " + std::to_string(env.local_rank) + " is out of range for LOCAL_WORLD_SIZE " +
                    std::to_string(env.local_world_size));
  }
  const int64_t hosts = (env.world_size + env.local_world_size - 1) / env.local_world_size;
  if (env.group_rank >= hosts) {
    throw DistError("GROUP_RANK " + std::to_string(env.group_rank) + " is out of range for " + std::to_string(hosts) +
                    " host(s) of LOCAL_WORLD_SIZE " + std::to_string(env.local_world_size));
  }
  const char* agent_store = get("TORCHELASTIC_USE_AGENT_STORE");
  env.agent_store = agent_store != nullptr && std::string(agent_store) == "True";  // Python's str(True)
  const char* restarts = get("TORCHELASTIC_RESTART_COUNT");
  env.restart_count = restarts != nullptr ? parse_env_integer("TORCHELASTIC_RESTART_COUNT", restarts, 0, INT32_MAX) : 0;
  return env;
}

}  // namespace pb::dist
