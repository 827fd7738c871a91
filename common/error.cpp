// fail_usage and the strict integer parser.
#include "common/error.h"

#include <charconv>
#include <cstdlib>
#include <iostream>

namespace pb {

void fail_usage(const std::string& program, const std::string& message) {
  std::cerr << program << ": error: " << message << std::endl;
  std::exit(2);
}

int64_t parse_integer(const std::string& what, const std::string& text, int64_t min, int64_t max) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec == std::errc::invalid_argument || ptr != end) {
    throw Error(what + " must be an integer, got '" + text + "'");
  }
  if (ec == std::errc::result_out_of_range || value < min || value > max) {
    throw Error(what + " must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + text);
  }
  return value;
}

}  // namespace pb
