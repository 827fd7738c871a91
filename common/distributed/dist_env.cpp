// Parsing and checking of the torchrun environment variables.
#include "common/distributed/dist_env.h"

#include <charconv>
#include <cstdlib>

namespace pb::dist {
namespace {

constexpr int64_t kMaxWorldSize = 4096;

int64_t parse(const std::string& name, const std::string& text, int64_t min, int64_t max) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    throw DistError(name + " must be an integer, got '" + text + "'");
  }
  if (value < min || value > max) {
    throw DistError(name + " must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + text);
  }
  return value;
}

}  // namespace

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
  env.rank = parse("RANK", required("RANK"), 0, kMaxWorldSize - 1);
  env.world_size = parse("WORLD_SIZE", required("WORLD_SIZE"), 1, kMaxWorldSize);
  if (env.rank >= env.world_size) {
    throw DistError("RANK " + std::to_string(env.rank) + " is out of range for WORLD_SIZE " + std::to_string(env.world_size));
  }
  env.master_port = parse("MASTER_PORT", required("MASTER_PORT"), 1, 65535);
  const char* addr = get("MASTER_ADDR");
  env.master_addr = addr != nullptr && *addr != '\0' ? addr : "127.0.0.1";
  const char* local = get("LOCAL_RANK");
  env.local_rank = local != nullptr ? parse("LOCAL_RANK", local, 0, kMaxWorldSize - 1) : env.rank;
  return env;
}

}  // namespace pb::dist
