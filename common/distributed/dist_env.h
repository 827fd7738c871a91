// The distributed environment in torchrun's conventions: MASTER_ADDR, MASTER_PORT, RANK,
// WORLD_SIZE, LOCAL_RANK, read and checked so that a bad launch fails in one line, not a hang.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

namespace pb::dist {

// A bad distributed set-up (environment, rendezvous, a failed rank). what() is one line.
struct DistError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct DistEnv {
  std::string master_addr;
  int64_t master_port = 0;
  int64_t rank = 0;
  int64_t world_size = 1;
  int64_t local_rank = 0;
};

// Reads the five variables through `getenv` (std::getenv by default; tests pass their own).
// MASTER_ADDR defaults to 127.0.0.1 and LOCAL_RANK to RANK; RANK, WORLD_SIZE and MASTER_PORT
// are required. Throws DistError, e.g. "RANK is not set (launch with --nproc N, torchrun or
// set RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)", "WORLD_SIZE must be between 1 and 4096,
// got 0", "RANK 2 is out of range for WORLD_SIZE 2".
DistEnv read_dist_env(const std::function<const char*(const char*)>& getenv = nullptr);

// True when RANK is set: the process was started as one rank of a distributed job.
bool launched_as_rank(const std::function<const char*(const char*)>& getenv = nullptr);

}  // namespace pb::dist
