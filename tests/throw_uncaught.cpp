// Throws a c10::Error that nobody catches (in main, or with --in-thread in another thread), for
// the test that the last-resort handler in common/cli.cpp turns it into one line and exit 1.
#include <thread>

#include <c10/util/Exception.h>

#include "common/cli.h"

int main(int argc, char** argv) {
  bool in_thread = false;
  pb::Cli cli("throw_uncaught", "Throws an exception that nobody catches.");
  cli.flag("in-thread", &in_thread, "throw in a second thread (as a library's worker thread would)");
  pb::parse_or_exit(cli, argc, argv);
  auto throw_it = [] { TORCH_CHECK(false, "thrown on purpose, nobody catches it"); };
  if (in_thread) {
    std::thread(throw_it).join();
  } else {
    throw_it();
  }
  return 0;
}
