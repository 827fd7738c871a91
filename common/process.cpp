// Signal recording, child start-up (process group, parent-death signal) and bounded child stops.
#include "common/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <thread>

namespace pb {
namespace {

constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP};
volatile sig_atomic_t g_received = 0;
struct sigaction g_previous[3];

void record(int signal) {
  if (g_received == 0) g_received = signal;
}

// The child side of run_child: never returns.
[[noreturn]] void exec_child(const std::vector<std::string>& argv, const std::string& stdout_path,
                             const std::string& stderr_path, pid_t parent) {
  ::setpgid(0, 0);
  die_with_parent(parent);
  // The parent's handlers are reset by exec, but an ignored signal would stay ignored.
  for (int s : kStopSignals) ::signal(s, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  const int null = ::open("/dev/null", O_RDONLY);
  if (null >= 0) ::dup2(null, STDIN_FILENO);
  auto redirect = [](const std::string& path, int target) {
    if (path.empty()) return;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ::dup2(fd, target) < 0) ::_exit(127);
    ::close(fd);
  };
  redirect(stdout_path, STDOUT_FILENO);
  redirect(stderr_path, STDERR_FILENO);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  std::fprintf(stderr, "cannot execute %s: %s\n", args[0], std::strerror(errno));
  ::_exit(127);
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

StopSignals::StopSignals() {
  g_received = 0;
  struct sigaction action {};
  action.sa_handler = record;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocking poll() or waitpid() returns EINTR at once
  for (size_t i = 0; i < 3; ++i) ::sigaction(kStopSignals[i], &action, &g_previous[i]);
}

StopSignals::~StopSignals() {
  for (size_t i = 0; i < 3; ++i) ::sigaction(kStopSignals[i], &g_previous[i], nullptr);
}

int StopSignals::received() { return g_received; }

TempDir::TempDir(const std::string& prefix) {
  std::error_code ec;
  path_ = (std::filesystem::temp_directory_path(ec) / (prefix + "XXXXXX")).string();
  if (ec || ::mkdtemp(path_.data()) == nullptr) {
    throw std::runtime_error(std::string("cannot create a temporary folder: ") +
                             (ec ? ec.message() : std::strerror(errno)));
  }
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string signal_name(int signal) {
  switch (signal) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    case SIGKILL: return "SIGKILL";
    default: return "signal " + std::to_string(signal);
  }
}

void exit_on_signal(const std::string& program, int signal) {
  std::cout.flush();
  std::cerr << program << ": " << signal_name(signal) << " received; stopped" << std::endl;
  std::fflush(nullptr);
  std::_Exit(128 + signal);
}

void die_with_parent(pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(1);
}

int stop_child(pid_t pid, bool own_group, int signal, double grace_s) {
  ::kill(own_group ? -pid : pid, signal);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(grace_s);
  int status = 0;
  while (true) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno != EINTR)) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(own_group ? -pid : pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (own_group) ::kill(-pid, SIGKILL);  // what the child left in its group (e.g. loader workers)
  return status;
}

ChildResult run_child(const std::vector<std::string>& argv, const std::string& stdout_path,
                      const std::string& stderr_path, double timeout_s) {
  if (argv.empty()) throw std::runtime_error("run_child: no command");
  std::fflush(nullptr);
  std::cout.flush();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("cannot start ") + argv[0] + ": " + std::strerror(errno));
  if (pid == 0) exec_child(argv, stdout_path, stderr_path, parent);
  ::setpgid(pid, pid);  // also here: no signal may reach the group before it exists

  ChildResult result;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  int status = 0;
  while (true) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      result.exit_code = exit_code_of(status);
      break;
    }
    if (done < 0 && errno != EINTR) break;
    if (const int signal = StopSignals::received()) {
      result.stop_signal = signal;
      result.exit_code = exit_code_of(stop_child(pid, true, signal, 5));
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      result.timed_out = true;
      result.exit_code = exit_code_of(stop_child(pid, true, SIGTERM, 10));
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return result;
}

}  // namespace pb
