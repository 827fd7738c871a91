// fork/exec of the ranks, output forwarding through pipes and poll(), and failure handling.
#include "common/distributed/launcher.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <stdexcept>

#include "common/distributed/dist_env.h"
#include "common/process.h"

namespace pb::dist {
namespace {

// Set in every rank's environment (to the launcher's PID): tells our ranks from a RANK left over.
constexpr const char* kLauncherMark = "PB_LAUNCHER_PID";

struct Child {
  pid_t pid = -1;
  int fd = -1;          // read end of the rank's stdout+stderr
  std::string pending;  // a partial line not yet printed
  bool running = true;
  int code = 0;
};

void forward_lines(Child& child, int rank, bool flush_all) {
  size_t newline;
  while ((newline = child.pending.find('\n')) != std::string::npos) {
    std::cout << "[rank " << rank << "] " << child.pending.substr(0, newline + 1);
    child.pending.erase(0, newline + 1);
  }
  if (flush_all && !child.pending.empty()) {
    std::cout << "[rank " << rank << "] " << child.pending << "\n";
    child.pending.clear();
  }
  std::cout.flush();
}

}  // namespace

int64_t find_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw DistError(std::string("cannot open a socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw DistError(std::string("cannot find a free port: ") + std::strerror(errno));
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

std::optional<int> launch_if_requested(int argc, char** argv, int64_t nproc, double stop_timeout_s) {
  if (nproc <= 0) return std::nullopt;
  if (launched_as_rank()) {
    // Our own ranks carry the launcher's mark; a RANK without it was left in the environment or
    // set by another launcher (torchrun): it wins, and the user is told so.
    if (std::getenv(kLauncherMark) == nullptr) {
      std::cerr << std::filesystem::path(argv[0]).filename().string() << ": note: RANK=" << std::getenv("RANK")
                << " is set in the environment, so this process runs as that rank and --nproc " << nproc
                << " is ignored (unset RANK to start " << nproc << " local ranks)" << std::endl;
    }
    return std::nullopt;
  }
  return launch_local_ranks(std::vector<std::string>(argv, argv + argc), {nproc, "127.0.0.1", 0, stop_timeout_s});
}

int launch_local_ranks(const std::vector<std::string>& args, const LaunchOptions& options) {
  const int64_t port = options.master_port > 0 ? options.master_port : find_free_port();
  // SIGINT, SIGTERM or SIGHUP sent to this process alone (not its group, as Ctrl-C does) must
  // not leave the ranks running under PID 1: they are caught here, forwarded, then escalated.
  const StopSignals stop_signals;
  const pid_t launcher = ::getpid();
  std::vector<Child> children(static_cast<size_t>(options.nproc));
  for (int64_t rank = 0; rank < options.nproc; ++rank) {
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) throw DistError(std::string("cannot create a pipe: ") + std::strerror(errno));
    const pid_t pid = ::fork();
    if (pid < 0) throw DistError(std::string("cannot start a rank: ") + std::strerror(errno));
    if (pid == 0) {  // the rank: its output goes to the pipe, its identity to the environment
      die_with_parent(launcher);  // even when the launcher is killed with SIGKILL
      ::dup2(pipe_fds[1], STDOUT_FILENO);
      ::dup2(pipe_fds[1], STDERR_FILENO);
      ::close(pipe_fds[0]);
      ::close(pipe_fds[1]);
      ::setenv("RANK", std::to_string(rank).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(options.nproc).c_str(), 1);
      ::setenv("MASTER_ADDR", options.master_addr.c_str(), 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      ::setenv(kLauncherMark, std::to_string(launcher).c_str(), 1);
      std::vector<char*> argv;
      for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      ::execv("/proc/self/exe", argv.data());
      std::fprintf(stderr, "launcher: cannot execute /proc/self/exe: %s\n", std::strerror(errno));
      ::_exit(127);
    }
    ::close(pipe_fds[1]);
    children[static_cast<size_t>(rank)].pid = pid;
    children[static_cast<size_t>(rank)].fd = pipe_fds[0];
  }

  int result = 0;
  bool stopping = false;
  int stop_signal = 0;
  std::chrono::steady_clock::time_point kill_at;
  size_t running = children.size();
  while (running > 0) {
    if (StopSignals::received() != 0 && stop_signal == 0) {
      stop_signal = StopSignals::received();
      std::cout << "launcher: " << signal_name(stop_signal) << " received; stopping the ranks" << std::endl;
      for (const Child& other : children) {
        if (other.running) ::kill(other.pid, stop_signal);
      }
      if (!stopping) {
        stopping = true;
        kill_at = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(options.stop_timeout_s * 1000));
      }
    }
    std::vector<pollfd> fds;
    for (const Child& c : children) fds.push_back({c.fd, POLLIN, 0});
    ::poll(fds.data(), fds.size(), 100);
    for (size_t r = 0; r < children.size(); ++r) {
      Child& c = children[r];
      bool closed = false;
      if (c.fd >= 0 && (fds[r].revents & (POLLIN | POLLHUP | POLLERR))) {
        char buffer[4096];
        const ssize_t n = ::read(c.fd, buffer, sizeof(buffer));
        if (n > 0) {
          c.pending.append(buffer, static_cast<size_t>(n));
          forward_lines(c, static_cast<int>(r), false);
        } else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
          forward_lines(c, static_cast<int>(r), true);
          ::close(c.fd);
          c.fd = -1;
          closed = true;
        }
      }
      // A closed pipe means the rank is exiting: reap it then, and only then, so that failures are
      // seen in the order the pipes closed, which is the order the ranks died (the first failure
      // is the cause; the ranks after it usually just lost their peer). Polling every child with
      // WNOHANG here instead would blame whichever rank comes first in this loop.
      if (!c.running || !closed) continue;
      int status = 0;
      if (::waitpid(c.pid, &status, 0) != c.pid) continue;
      c.running = false;
      --running;
      c.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (c.code != 0 && !stopping && stop_signal == 0) {
        result = c.code;
        stopping = true;
        kill_at = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(options.stop_timeout_s * 1000));
        std::cout << "launcher: rank " << r << " exited with code " << c.code << "; stopping the other ranks"
                  << std::endl;
        for (const Child& other : children) {
          if (other.running) ::kill(other.pid, SIGTERM);
        }
      }
    }
    if (stopping && std::chrono::steady_clock::now() >= kill_at) {
      for (const Child& other : children) {
        if (other.running) ::kill(other.pid, SIGKILL);
      }
    }
  }
  for (Child& c : children) {  // drain what is left in the pipes
    if (c.fd < 0) continue;
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(c.fd, buffer, sizeof(buffer))) > 0) c.pending.append(buffer, static_cast<size_t>(n));
    forward_lines(c, static_cast<int>(&c - children.data()), true);
    ::close(c.fd);
  }
  // Interrupted: the whole program ends here (a benchmark must not go on to its next point).
  if (stop_signal != 0) exit_on_signal(std::filesystem::path(args.empty() ? "launcher" : args[0]).filename().string(), stop_signal);
  return result;
}

}  // namespace pb::dist
