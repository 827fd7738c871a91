// Atomic writes (temp file + fsync + rename) and JSON reads with one-line errors.
#include "common/json_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace pb {
namespace {

std::string temp_path_for(const std::string& path) { return path + ".tmp-" + std::to_string(::getpid()); }

[[noreturn]] void throw_errno(const std::string& what, const std::string& path, int error) {
  throw FileError("cannot " + what + " '" + path + "': " + std::strerror(error));
}

// Blocks SIGINT and SIGTERM for its lifetime; pending signals are delivered when it ends.
class SignalHold {
 public:
  SignalHold() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~SignalHold() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

 private:
  sigset_t old_;
};

}  // namespace

void check_writable(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    throw FileError("cannot write '" + path + "': it is a directory");
  }
  const std::string temp = temp_path_for(path);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw_errno("write", path, errno);
  ::close(fd);
  ::unlink(temp.c_str());
}

void write_file_atomic(const std::string& path, const std::string& text) {
  check_writable(path);
  SignalHold hold;
  const std::string temp = temp_path_for(path);
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw_errno("write", path, errno);
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      throw_errno("write", path, error);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    throw_errno("write", path, error);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    throw_errno("write", path, error);
  }
}

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw_errno("read", path, errno);
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    return nlohmann::json::parse(buffer.str());
  } catch (const nlohmann::json::parse_error& error) {
    // nlohmann's message is one line: "[json.exception.parse_error.101] parse error at line 1, ..."
    throw FileError("'" + path + "' is not valid JSON: " + error.what());
  }
}

}  // namespace pb
