// The project's one exception base, its one exit path for errors found after parsing, and its one
// strict integer parser (for flags and environment variables alike).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace pb {

// Every error the project raises on purpose (a bad flag, file, device, environment, report): what()
// is one line, stable, and tested verbatim. Its kinds (CliError, FileError, DeviceError, DistError,
// ...) derive from it, so a program's last line of defence needs one catch.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "<program>: error: <message>" on stderr, then exit(2): for errors found after parsing (an unusable
// device, an unwritable output path), so they read like command-line errors.
[[noreturn]] void fail_usage(const std::string& program, const std::string& message);

// Returns fn(); a pb::Error thrown by it ends the program through fail_usage (exit 2).
template <typename Fn>
auto or_exit(const std::string& program, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Error& error) {
    fail_usage(program, error.what());
  }
}

// `text` as an integer in [min, max], nothing else (no sign games, no trailing characters, no
// silent 0 as atoi gives). Throws Error: "<what> must be an integer, got 'x'", "<what> must be
// between 1 and 64, got 65". `what` names the source: "--workers", "WORLD_SIZE".
int64_t parse_integer(const std::string& what, const std::string& text, int64_t min, int64_t max);

}  // namespace pb
