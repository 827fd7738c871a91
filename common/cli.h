// The one command-line parser that every tutorial step, benchmark and tool uses.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/error.h"

namespace pb {

// A bad command line. what() is one line, stable, and tested verbatim.
struct CliError : Error {
  using Error::Error;
};

// Declares options bound to variables (their current values are the defaults shown by --help),
// then parses `--name value` or `--name=value`. Bounds are checked, so a negative worker count
// or a zero batch size is an error, never a crash later on.
class Cli {
 public:
  Cli(std::string program, std::string purpose);

  Cli& flag(const std::string& name, bool* out, const std::string& help);
  Cli& option(const std::string& name, int64_t* out, const std::string& help, int64_t min, int64_t max);
  Cli& option(const std::string& name, double* out, const std::string& help, double min, double max);
  Cli& option(const std::string& name, std::string* out, const std::string& help);
  // A comma-separated list of integers, each within [min, max], e.g. --workers 0,1,2,4.
  Cli& option(const std::string& name, std::vector<int64_t>* out, const std::string& help, int64_t min,
              int64_t max);
  // A comma-separated list of words, e.g. --models linear,cnn.
  Cli& option(const std::string& name, std::vector<std::string>* out, const std::string& help);
  // Arguments that do not start with "--" (e.g. report files), at least `min_count` of them.
  Cli& positional(const std::string& name, std::vector<std::string>* out, const std::string& help, size_t min_count);
  // Arguments that start with `prefix` (e.g. "--benchmark_") are collected, not parsed.
  Cli& pass_through(const std::string& prefix, const std::string& help);
  // A check across options, run after parsing; it throws CliError to reject the command line.
  Cli& validate(std::function<void()> check);

  // Returns false when --help was asked for (the caller prints usage()). Throws CliError.
  bool parse(const std::vector<std::string>& args);
  const std::vector<std::string>& passed_through() const { return passed_; }
  const std::string& program() const { return program_; }
  std::string usage() const;

 private:
  struct Option {
    std::string name;
    std::string help;
    std::string default_text;
    bool is_flag = false;
    std::function<void(const std::string&)> set;
  };
  Cli& add(Option option);
  const Option* find(const std::string& name) const;

  std::string program_, purpose_;
  std::vector<Option> options_;
  std::vector<std::string> prefixes_, prefix_help_;
  std::vector<std::function<void()>> checks_;
  std::string positional_name_, positional_help_;
  std::vector<std::string>* positional_ = nullptr;
  size_t positional_min_ = 0;
  std::vector<std::string> passed_;
};

// Parses argv[1..]. On --help prints usage to stdout and exits 0; on a bad command line prints
// "<program>: error: <message>" to stderr and exits 2.
void parse_or_exit(Cli& cli, int argc, char** argv);

// fail_usage and or_exit, for errors found after parsing, are in common/error.h.

}  // namespace pb
