// Command-line parsing with bounds checks and stable one-line errors.
#include "common/cli.h"

#include <c10/util/Exception.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <sstream>

namespace pb {
namespace {

// Every program parses its command line here, so this file is in every binary: the place for the
// last-resort handler of an exception nobody caught (an allocation that fails, a lost Gloo peer
// in a library thread). It prints "<program>: error: <first line>" instead of libtorch's
// 30-frame backtrace and an abort, and exits 1.
[[noreturn]] void report_uncaught_exception() {
  std::string message = "terminated without an exception";
  if (const std::exception_ptr error = std::current_exception()) {
    try {
      std::rethrow_exception(error);
    } catch (const c10::Error& e) {
      message = e.what_without_backtrace();
    } catch (const std::exception& e) {
      message = e.what();
    } catch (...) {
      message = "an exception of unknown type";
    }
  }
  message = message.substr(0, message.find('\n'));
  std::fflush(stdout);
  std::fprintf(stderr, "%s: error: %s\n", program_invocation_short_name, message.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

const bool kTerminateHandlerInstalled = (std::set_terminate(report_uncaught_exception), true);

int64_t parse_int(const std::string& name, const std::string& text, int64_t min, int64_t max) {
  try {
    return parse_integer("--" + name, text, min, max);
  } catch (const Error& error) {
    throw CliError(error.what());
  }
}

std::vector<std::string> split_commas(const std::string& name, const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (item.empty()) throw CliError("--" + name + " has an empty item in '" + text + "'");
    items.push_back(item);
  }
  if (items.empty() || text.back() == ',') throw CliError("--" + name + " has an empty item in '" + text + "'");
  return items;
}

std::string format_double(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace

Cli::Cli(std::string program, std::string purpose) : program_(std::move(program)), purpose_(std::move(purpose)) {}

Cli& Cli::add(Option option) {
  options_.push_back(std::move(option));
  return *this;
}

Cli& Cli::flag(const std::string& name, bool* out, const std::string& help) {
  return add({name, help, "", true, [out](const std::string&) { *out = true; }});
}

Cli& Cli::option(const std::string& name, int64_t* out, const std::string& help, int64_t min, int64_t max) {
  return add({name, help, std::to_string(*out), false,
              [=](const std::string& text) { *out = parse_int(name, text, min, max); }});
}

Cli& Cli::option(const std::string& name, double* out, const std::string& help, double min, double max) {
  return add({name, help, format_double(*out), false, [=](const std::string& text) {
                char* end = nullptr;
                errno = 0;
                const double value = std::strtod(text.c_str(), &end);
                if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(value)) {
                  throw CliError("--" + name + " expects a number, got '" + text + "'");
                }
                if (value < min || value > max) {
                  throw CliError("--" + name + " must be between " + format_double(min) + " and " +
                                 format_double(max) + ", got " + text);
                }
                *out = value;
              }});
}

Cli& Cli::option(const std::string& name, std::string* out, const std::string& help) {
  return add({name, help, *out, false, [=](const std::string& text) {
                if (text.empty()) throw CliError("--" + name + " must not be empty");
                *out = text;
              }});
}

Cli& Cli::option(const std::string& name, std::vector<int64_t>* out, const std::string& help, int64_t min,
                 int64_t max) {
  std::string shown;
  for (int64_t v : *out) shown += (shown.empty() ? "" : ",") + std::to_string(v);
  return add({name, help, shown, false, [=](const std::string& text) {
                out->clear();
                for (const std::string& item : split_commas(name, text)) out->push_back(parse_int(name, item, min, max));
              }});
}

Cli& Cli::option(const std::string& name, std::vector<std::string>* out, const std::string& help) {
  std::string shown;
  for (const std::string& v : *out) shown += (shown.empty() ? "" : ",") + v;
  return add({name, help, shown, false, [=](const std::string& text) { *out = split_commas(name, text); }});
}

Cli& Cli::positional(const std::string& name, std::vector<std::string>* out, const std::string& help,
                     size_t min_count) {
  positional_name_ = name;
  positional_help_ = help;
  positional_ = out;
  positional_min_ = min_count;
  return *this;
}

Cli& Cli::pass_through(const std::string& prefix, const std::string& help) {
  prefixes_.push_back(prefix);
  prefix_help_.push_back(help);
  return *this;
}

Cli& Cli::validate(std::function<void()> check) {
  checks_.push_back(std::move(check));
  return *this;
}

const Cli::Option* Cli::find(const std::string& name) const {
  for (const Option& option : options_) {
    if (option.name == name) return &option;
  }
  return nullptr;
}

bool Cli::parse(const std::vector<std::string>& args) {
  passed_.clear();
  if (positional_ != nullptr) positional_->clear();
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") return false;
    bool passed = false;
    for (const std::string& prefix : prefixes_) passed = passed || arg.rfind(prefix, 0) == 0;
    if (passed) {
      passed_.push_back(arg);
      continue;
    }
    if (arg.rfind("--", 0) != 0 && positional_ != nullptr) {
      positional_->push_back(arg);
      continue;
    }
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) throw CliError("unexpected argument '" + arg + "' (see --help)");
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const Option* option = find(name);
    if (option == nullptr) throw CliError("unknown flag '--" + name + "' (see --help)");
    if (option->is_flag) {
      if (eq != std::string::npos) throw CliError("--" + name + " takes no value");
      option->set("");
    } else if (eq != std::string::npos) {
      option->set(arg.substr(eq + 1));
    } else {
      if (i + 1 >= args.size()) throw CliError("missing value for --" + name);
      option->set(args[++i]);
    }
  }
  if (positional_ != nullptr && positional_->size() < positional_min_) {
    throw CliError("expected at least " + std::to_string(positional_min_) + " " + positional_name_ + ", got " +
                   std::to_string(positional_->size()) + " (see --help)");
  }
  for (const auto& check : checks_) check();
  return true;
}

std::string Cli::usage() const {
  std::ostringstream out;
  out << "usage: " << program_ << " [options]" << (positional_ ? " <" + positional_name_ + ">..." : "") << "\n"
      << purpose_ << "\n\n";
  if (positional_ != nullptr) out << "  <" << positional_name_ << ">  " << positional_help_ << "\n\n";
  out << "options:\n";
  for (const Option& option : options_) {
    std::string left = "  --" + option.name + (option.is_flag ? "" : " <value>");
    out << left << std::string(left.size() < 28 ? 28 - left.size() : 1, ' ') << option.help;
    if (!option.is_flag && !option.default_text.empty()) out << " (default: " << option.default_text << ")";
    out << "\n";
  }
  for (size_t i = 0; i < prefixes_.size(); ++i) {
    std::string left = "  " + prefixes_[i] + "*";
    out << left << std::string(left.size() < 28 ? 28 - left.size() : 1, ' ') << prefix_help_[i] << "\n";
  }
  out << "  --help                    show this help and exit\n";
  return out.str();
}

void parse_or_exit(Cli& cli, int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (!cli.parse(args)) {
      std::cout << cli.usage();
      std::exit(0);
    }
  } catch (const CliError& error) {
    fail_usage(cli.program(), error.what());
  }
}

}  // namespace pb
