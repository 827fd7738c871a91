// TCPStore rendezvous and Gloo/NCCL process group creation, with one-line errors.
#include "common/distributed/process_group.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if PB_HAVE_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "common/cli.h"
#include "common/device.h"

namespace pb::dist {
namespace {

// c10d logs a failed rendezvous through glog, in several lines, before throwing the same message;
// while connecting, stderr goes to /dev/null so that the caller's one-line error is all the user
// sees. PB_DIST_VERBOSE=1 keeps the library's logs.
class QuietStderr {
 public:
  QuietStderr() {
    const char* verbose = std::getenv("PB_DIST_VERBOSE");
    if (verbose != nullptr && std::string(verbose) == "1") return;
    std::fflush(stderr);
    saved_ = ::dup(STDERR_FILENO);
    const int null = ::open("/dev/null", O_WRONLY);
    if (saved_ >= 0 && null >= 0) ::dup2(null, STDERR_FILENO);
    if (null >= 0) ::close(null);
  }
  ~QuietStderr() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
  }

 private:
  int saved_ = -1;
};

// c10d's messages span lines (they append a C++ stack trace): keep the first line only.
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

std::string nccl_unavailable_reason() {
#if PB_HAVE_NCCL
  return cuda_unavailable_reason();
#else
  return "NCCL is not available in this build (libtorch without CUDA, or no ProcessGroupNCCL found at configure time)";
#endif
}

Group connect(const DistEnv& env, const torch::Device& device, std::chrono::milliseconds timeout) {
  Group result;
  QuietStderr quiet;
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port) + " as rank " +
                            std::to_string(env.rank) + " of " + std::to_string(env.world_size);
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(env.master_port);
    options.isServer = env.rank == 0;
    options.numWorkers = static_cast<std::size_t>(env.world_size);
    options.waitWorkers = true;
    options.timeout = timeout;
    result.store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
  } catch (const std::exception& error) {
    throw DistError("cannot rendezvous at " + where + ": " + first_line(error.what()));
  }
  try {
    if (device.is_cuda()) {
#if PB_HAVE_NCCL
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      result.group = c10::make_intrusive<c10d::ProcessGroupNCCL>(result.store, static_cast<int>(env.rank),
                                                                 static_cast<int>(env.world_size), options);
      result.backend = "nccl";
#else
      throw DistError(nccl_unavailable_reason());
#endif
    } else {
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      // Loopback when the whole job is on this machine; otherwise the interface this host's
      // name resolves to (Gloo's default), which peers on other machines can reach.
      const bool local = env.master_addr == "127.0.0.1" || env.master_addr == "localhost";
      options->devices.push_back(local ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                       : c10d::ProcessGroupGloo::createDefaultDevice());
      // Threads that run this rank's collectives. 2 measured better than 1 for the CNN on 2 ranks
      // of a 2-core machine (sync overhead +7.7-9.7% against +10.5-11.6%); PB_GLOO_THREADS overrides.
      const char* threads = std::getenv("PB_GLOO_THREADS");
      options->threads = threads != nullptr ? std::max(1, std::atoi(threads)) : 2;
      result.group = c10::make_intrusive<c10d::ProcessGroupGloo>(result.store, static_cast<int>(env.rank),
                                                                 static_cast<int>(env.world_size), options);
      result.backend = "gloo";
    }
  } catch (const DistError&) {
    throw;
  } catch (const std::exception& error) {
    throw DistError("cannot create the process group at " + where + ": " + first_line(error.what()));
  }
  return result;
}

Group connect_or_exit(const std::string& program, const torch::Device& device, std::chrono::milliseconds timeout,
                      DistEnv* env) {
  try {
    *env = read_dist_env();
    return connect(*env, device, timeout);
  } catch (const DistError& error) {
    fail_usage(program, error.what());
  }
}

}  // namespace pb::dist
