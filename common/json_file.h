// Atomic file writing and checked JSON reading: a report is either whole or absent, never half.
#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace pb {

// A file that cannot be written or read. what() is one line and names the path.
struct FileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Throws FileError unless a file can be created at `path`. Called before a long run, so that a
// bad --out fails in a second instead of after the measurements. Leaves nothing behind.
void check_writable(const std::string& path);

// Writes `text` to a temporary file beside `path`, flushes it to disk, then renames it over
// `path`: readers see the old file or the new one, never a mix. SIGINT and SIGTERM are held
// off while the temporary exists, so an interrupt cannot leave it behind either.
void write_file_atomic(const std::string& path, const std::string& text);

// Reads and parses a JSON file; throws FileError ("cannot read ..." or "... is not valid JSON").
nlohmann::json read_json_file(const std::string& path);

}  // namespace pb
