// Atomic file writing and checked JSON reading: a report is either whole or absent, never half.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace pb {

// A file that cannot be written or read. what() is one line and names the path.
struct FileError : Error {
  using Error::Error;
};

// Throws FileError unless a file can be created at `path`, or an existing one replaced (not a
// directory, not immutable or append-only). Called before a long run, so that a bad --out fails
// in a second instead of after the measurements. Leaves nothing behind.
void check_writable(const std::string& path);

// Writes `text` to a temporary file beside `path`, flushes it to disk, then renames it over
// `path`: readers see the old file or the new one, never a mix. SIGINT and SIGTERM are held
// off while the temporary exists, so an interrupt cannot leave it behind either.
void write_file_atomic(const std::string& path, const std::string& text);

// Writes several files into the folder `dir` ("" is the current folder), all or none: each
// (name, text) is written and flushed into a temporary folder inside `dir`, then renamed into
// place; if a rename fails, the files already placed are put back as they were. Every target is
// checked first (check_writable). Throws FileError naming the target ("cannot write
// '<dir>/<name>': ..."), and `dir` is then as it was, other files included. SIGINT and SIGTERM are
// held off meanwhile; only a kill (SIGKILL, a crash) can leave the temporary folder behind
// (".<last name>.tmp-XXXXXX"), or a rename that fails and then cannot be undone, which keeps the
// older file there rather than lose it.
void write_files_atomic(const std::string& dir, const std::vector<std::pair<std::string, std::string>>& files);

// Reads and parses a JSON file; throws FileError ("cannot read ..." or "... is not valid JSON").
nlohmann::json read_json_file(const std::string& path);

}  // namespace pb
