// Tests for common/json_file: atomic writes leave whole files and no temporaries; bad paths and
// bad JSON give one-line errors naming the path.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/json_file.h"

namespace {

namespace fs = std::filesystem;

class JsonFileTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("pb_json_file_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  size_t entries() const { return static_cast<size_t>(std::distance(fs::directory_iterator(dir_), fs::directory_iterator())); }
  fs::path dir_;
};

std::string read(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_F(JsonFileTest, WritesAndReplacesWholeFiles) {
  const std::string p = path("r.json");
  pb::write_file_atomic(p, "{\"a\": 1}\n");
  EXPECT_EQ(read(p), "{\"a\": 1}\n");
  pb::write_file_atomic(p, "{\"a\": 2}\n");
  EXPECT_EQ(read(p), "{\"a\": 2}\n");
  EXPECT_EQ(entries(), 1u);  // no temporary left beside it
  EXPECT_EQ(pb::read_json_file(p)["a"], 2);
}

TEST_F(JsonFileTest, CheckWritableLeavesNothingBehind) {
  EXPECT_NO_THROW(pb::check_writable(path("new.json")));
  EXPECT_EQ(entries(), 0u);
}

TEST_F(JsonFileTest, MissingDirectoryIsAOneLineError) {
  const std::string p = path("no/such/r.json");
  try {
    pb::write_file_atomic(p, "{}");
    FAIL() << "no exception";
  } catch (const pb::FileError& e) {
    EXPECT_EQ(std::string(e.what()), "cannot write '" + p + "': No such file or directory");
  }
  EXPECT_FALSE(fs::exists(p));
}

TEST_F(JsonFileTest, DirectoryIsNotAFile) {
  try {
    pb::check_writable(dir_.string());
    FAIL() << "no exception";
  } catch (const pb::FileError& e) {
    EXPECT_EQ(std::string(e.what()), "cannot write '" + dir_.string() + "': it is a directory");
  }
}

TEST_F(JsonFileTest, ReadErrorsNameThePath) {
  const std::string missing = path("missing.json");
  try {
    pb::read_json_file(missing);
    FAIL() << "no exception";
  } catch (const pb::FileError& e) {
    EXPECT_EQ(std::string(e.what()), "cannot read '" + missing + "': No such file or directory");
  }
  const std::string bad = path("bad.json");
  std::ofstream(bad) << "{\"benchmarks\": [";
  try {
    pb::read_json_file(bad);
    FAIL() << "no exception";
  } catch (const pb::FileError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("'" + bad + "' is not valid JSON: ", 0), 0u) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos);
  }
}

}  // namespace
