// The distributed environment in torchrun's conventions: MASTER_ADDR, MASTER_PORT, RANK,
// WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK, read and checked so that a bad launch
// fails in one line, not a hang.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

#include "common/error.h"

namespace pb::dist {

// A bad distributed set-up (environment, rendezvous, a failed rank). what() is one line.
struct DistError : Error {
  using Error::Error;
};

struct DistEnv {
  std::string master_addr;
  int64_t master_port = 0;
  int64_t rank = 0;
  int64_t world_size = 1;
  int64_t local_rank = 0;
  // The ranks on this host and the host's index (torchrun's node rank): torchrun sets them; a
  // launch without them is one host.
  int64_t local_world_size = 1;
  int64_t group_rank = 0;
  // TORCHELASTIC_USE_AGENT_STORE=True: torchrun's agent on node 0 already serves the store at
  // MASTER_ADDR:MASTER_PORT, so every rank is a client of it (rank 0 too), under a prefix per
  // attempt (TORCHELASTIC_RESTART_COUNT), as c10d's Python side does.
  bool agent_store = false;
  int64_t restart_count = 0;
};

// Reads the seven variables (and torchrun's TORCHELASTIC_USE_AGENT_STORE and
// TORCHELASTIC_RESTART_COUNT) through `getenv` (std::getenv by default; tests pass their own).
// MASTER_ADDR defaults to 127.0.0.1, LOCAL_RANK to RANK, LOCAL_WORLD_SIZE to WORLD_SIZE and
// GROUP_RANK to 0 (one host); RANK, WORLD_SIZE and MASTER_PORT are required. Throws DistError,
// e.g. "RANK is not set (launch with --nproc N, torchrun or set RANK, WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT)", "WORLD_SIZE must be between 1 and 4096, got 0", "RANK 2 is out of range for
// WORLD_SIZE 2", "LOCAL_RANK 2 is out of range for LOCAL_WORLD_SIZE 2", "LOCAL_WORLD_SIZE 4 is
// larger than WORLD_SIZE 2", "GROUP_RANK 2 is out of range for 2 host(s) of LOCAL_WORLD_SIZE 2".
DistEnv read_dist_env(const std::function<const char*(const char*)>& getenv = nullptr);

// The value `text` of environment variable `name` as an integer in [min, max]: the whole text must
// be a decimal integer (atoi would read "two" as 0 and "8x" as 8). Throws DistError, e.g.
// "MASTER_PORT must be an integer, got 'http'", "PB_GLOO_THREADS must be between 1 and 256, got 0".
int64_t parse_env_integer(const std::string& name, const std::string& text, int64_t min, int64_t max);

// True when RANK is set: the process was started as one rank of a distributed job.
bool launched_as_rank(const std::function<const char*(const char*)>& getenv = nullptr);

}  // namespace pb::dist
