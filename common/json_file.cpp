// Atomic writes (temp file + fsync + rename) and JSON reads with one-line errors.
#include "common/json_file.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/ioctl.h>
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
  // An existing file is replaced by rename(), which the folder allows, but an immutable or
  // append-only file refuses (even to root): found only at the end, the run's results were lost.
  const int existing = ::open(path.c_str(), O_RDONLY | O_NONBLOCK);
  if (existing >= 0) {
    int flags = 0;
    const bool locked = ::ioctl(existing, FS_IOC_GETFLAGS, &flags) == 0 && (flags & (FS_IMMUTABLE_FL | FS_APPEND_FL));
    ::close(existing);
    if (locked) throw FileError("cannot replace '" + path + "': it is immutable or append-only (see lsattr)");
  }
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

void write_files_atomic(const std::string& dir, const std::vector<std::pair<std::string, std::string>>& files) {
  if (files.empty()) return;
  auto target_of = [&](const std::string& name) {
    return dir.empty() ? name : dir + (dir.back() == '/' ? "" : "/") + name;
  };
  std::vector<std::string> targets;
  for (const auto& file : files) {
    targets.push_back(target_of(file.first));
    check_writable(targets.back());
  }
  SignalHold hold;
  // Inside `dir`, so that every rename stays on one file system (and is atomic).
  std::string temp_dir = target_of("." + files.back().first + ".tmp-XXXXXX");
  if (::mkdtemp(temp_dir.data()) == nullptr) throw_errno("write", targets.back(), errno);
  std::vector<std::string> fresh, backup(files.size());  // paths in temp_dir, by file
  std::vector<bool> stranded(files.size(), false);       // an older file that could not be put back
  auto remove_temp_dir = [&] {
    for (const std::string& path : fresh) ::unlink(path.c_str());
    for (size_t i = 0; i < backup.size(); ++i)
      if (!backup[i].empty() && !stranded[i]) ::unlink(backup[i].c_str());
    ::rmdir(temp_dir.c_str());  // fails, keeping it, only when an older file is stranded in it
  };
  try {
    for (size_t i = 0; i < files.size(); ++i) {
      fresh.push_back(temp_dir + "/new-" + std::to_string(i));
      const int fd = ::open(fresh.back().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0) throw_errno("write", targets[i], errno);
      const std::string& text = files[i].second;
      for (size_t written = 0; written < text.size();) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          const int error = errno;
          ::close(fd);
          throw_errno("write", targets[i], error);
        }
        written += static_cast<size_t>(n);
      }
      if (::fsync(fd) != 0) {
        const int error = errno;
        ::close(fd);
        throw_errno("write", targets[i], error);
      }
      if (::close(fd) != 0) throw_errno("write", targets[i], errno);
    }
    // Each file about to be replaced is kept in temp_dir, so that a failed rename can put it
    // back: as a hard link (the target is never absent), or, where the file system has none, moved
    // aside just before its replacement.
    std::vector<bool> move_aside(files.size(), false);
    for (size_t i = 0; i < files.size(); ++i) {
      const std::string path = temp_dir + "/old-" + std::to_string(i);
      if (::link(targets[i].c_str(), path.c_str()) == 0) {
        backup[i] = path;
      } else if (errno == EPERM || errno == EOPNOTSUPP || errno == EMLINK) {
        backup[i] = path;
        move_aside[i] = true;
      } else if (errno != ENOENT) {
        throw_errno("write", targets[i], errno);
      }
    }
    for (size_t i = 0; i < files.size(); ++i) {
      int error = 0;
      if (move_aside[i] && ::rename(targets[i].c_str(), backup[i].c_str()) != 0) {
        error = errno == ENOENT ? 0 : errno;  // no older file after all: nothing to keep
        backup[i].clear();                    // else still in place
        move_aside[i] = false;
      }
      if (error == 0 && ::rename(fresh[i].c_str(), targets[i].c_str()) != 0) {
        error = errno;
        if (move_aside[i]) {
          if (::rename(backup[i].c_str(), targets[i].c_str()) == 0) {
            backup[i].clear();
          } else {
            stranded[i] = true;
          }
        }
      }
      if (error == 0) continue;
      // Put back what was placed: the older file where there was one, else nothing.
      for (size_t j = 0; j < i; ++j) {
        if (backup[j].empty()) {
          ::unlink(targets[j].c_str());
        } else if (::rename(backup[j].c_str(), targets[j].c_str()) == 0) {
          backup[j].clear();
        } else {
          stranded[j] = true;
        }
      }
      throw_errno("write", targets[i], error);
    }
  } catch (...) {
    remove_temp_dir();
    throw;
  }
  remove_temp_dir();
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
