// Tests for common/cli: parsing, bounds, and the exact one-line error messages.
#include <gtest/gtest.h>

#include "common/cli.h"

namespace {

struct Flags {
  int64_t workers = 0;
  double rate = 0.5;
  std::string name = "x";
  bool quick = false;
  std::vector<int64_t> list{1, 2};
  std::vector<std::string> words{"a"};
};

pb::Cli make_cli(Flags& f) {
  pb::Cli cli("prog", "A test program.");
  cli.option("workers", &f.workers, "worker threads", 0, 64)
      .option("rate", &f.rate, "a rate", 0.0, 1.0)
      .option("name", &f.name, "a name")
      .flag("quick", &f.quick, "go fast")
      .option("list", &f.list, "numbers", 0, 10)
      .option("words", &f.words, "words")
      .pass_through("--benchmark_", "passed on");
  return cli;
}

std::string error_of(const std::vector<std::string>& args) {
  Flags f;
  pb::Cli cli = make_cli(f);
  try {
    cli.parse(args);
  } catch (const pb::CliError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Cli, ParsesBothForms) {
  Flags f;
  pb::Cli cli = make_cli(f);
  ASSERT_TRUE(cli.parse({"--workers", "4", "--rate=0.25", "--name", "abc", "--quick", "--list=3,0,10", "--words", "p,q"}));
  EXPECT_EQ(f.workers, 4);
  EXPECT_DOUBLE_EQ(f.rate, 0.25);
  EXPECT_EQ(f.name, "abc");
  EXPECT_TRUE(f.quick);
  EXPECT_EQ(f.list, (std::vector<int64_t>{3, 0, 10}));
  EXPECT_EQ(f.words, (std::vector<std::string>{"p", "q"}));
}

TEST(Cli, KeepsDefaultsAndShowsThemInUsage) {
  Flags f;
  pb::Cli cli = make_cli(f);
  ASSERT_TRUE(cli.parse({}));
  EXPECT_EQ(f.workers, 0);
  const std::string usage = cli.usage();
  EXPECT_NE(usage.find("usage: prog [options]"), std::string::npos);
  EXPECT_NE(usage.find("worker threads (default: 0)"), std::string::npos);
  EXPECT_NE(usage.find("numbers (default: 1,2)"), std::string::npos);
  EXPECT_NE(usage.find("--benchmark_*"), std::string::npos);
}

TEST(Cli, HelpReturnsFalse) {
  Flags f;
  pb::Cli cli = make_cli(f);
  EXPECT_FALSE(cli.parse({"--workers", "2", "--help"}));
}

TEST(Cli, PassesThroughPrefixedArguments) {
  Flags f;
  pb::Cli cli = make_cli(f);
  ASSERT_TRUE(cli.parse({"--benchmark_filter=abc", "--workers", "1"}));
  EXPECT_EQ(cli.passed_through(), (std::vector<std::string>{"--benchmark_filter=abc"}));
}

TEST(Cli, ErrorMessagesAreStable) {
  EXPECT_EQ(error_of({"--wokers", "2"}), "unknown flag '--wokers' (see --help)");
  EXPECT_EQ(error_of({"stray"}), "unexpected argument 'stray' (see --help)");
  EXPECT_EQ(error_of({"--workers"}), "missing value for --workers");
  EXPECT_EQ(error_of({"--workers", "two"}), "--workers must be an integer, got 'two'");
  EXPECT_EQ(error_of({"--workers", "3x"}), "--workers must be an integer, got '3x'");
  EXPECT_EQ(error_of({"--workers", "-1"}), "--workers must be between 0 and 64, got -1");
  EXPECT_EQ(error_of({"--workers", "65"}), "--workers must be between 0 and 64, got 65");
  EXPECT_EQ(error_of({"--workers", "99999999999999999999"}),
            "--workers must be between 0 and 64, got 99999999999999999999");
  EXPECT_EQ(error_of({"--rate", "nan"}), "--rate expects a number, got 'nan'");
  EXPECT_EQ(error_of({"--rate", "2"}), "--rate must be between 0 and 1, got 2");
  EXPECT_EQ(error_of({"--quick=1"}), "--quick takes no value");
  EXPECT_EQ(error_of({"--name="}), "--name must not be empty");
  EXPECT_EQ(error_of({"--list", "1,,2"}), "--list has an empty item in '1,,2'");
  EXPECT_EQ(error_of({"--list", "1,"}), "--list has an empty item in '1,'");
  EXPECT_EQ(error_of({"--list", "1,11"}), "--list must be between 0 and 10, got 11");
}

TEST(Cli, ValidateRunsAfterParsing) {
  Flags f;
  pb::Cli cli = make_cli(f);
  cli.validate([&f] {
    if (f.workers > static_cast<int64_t>(f.list.size())) throw pb::CliError("too many workers");
  });
  EXPECT_TRUE(cli.parse({"--workers", "2"}));
  EXPECT_THROW(cli.parse({"--workers", "3"}), pb::CliError);
}

TEST(CliDeathTest, ParseOrExitPrintsOneLineAndExitsTwo) {
  Flags f;
  pb::Cli cli = make_cli(f);
  std::vector<std::string> storage{"prog", "--workers", "-5"};
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  EXPECT_EXIT(pb::parse_or_exit(cli, static_cast<int>(argv.size()), argv.data()), testing::ExitedWithCode(2),
              "^prog: error: --workers must be between 0 and 64, got -5\n$");
}

}  // namespace

namespace {

TEST(Cli, PositionalArguments) {
  std::vector<std::string> files;
  bool quick = false;
  pb::Cli cli("cmp", "Compares.");
  cli.positional("reports", &files, "JSON reports, baseline first", 2).flag("quick", &quick, "fast");
  EXPECT_TRUE(cli.parse({"a.json", "--quick", "b.json"}));
  EXPECT_EQ(files, (std::vector<std::string>{"a.json", "b.json"}));
  try {
    cli.parse({"a.json"});
    FAIL() << "no exception";
  } catch (const pb::CliError& e) {
    EXPECT_STREQ(e.what(), "expected at least 2 reports, got 1 (see --help)");
  }
  EXPECT_NE(cli.usage().find("usage: cmp [options] <reports>..."), std::string::npos);
}

}  // namespace
