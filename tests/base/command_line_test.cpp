// What every program's command line shares (apps/app_support): --version, and usage errors that
// point to --help.
#include <doctest/doctest.h>

#include <chrono>
#include <regex>
#include <string>

#include "tests/support/process.h"
#include "tests/support/usage_error.h"

using testing_support::program_path;
using testing_support::run_program;

TEST_CASE("every program prints its name and version with --version and exits 0") {
  for (const std::string program : {"echo-server", "udp-chat", "loadgen"}) {
    CAPTURE(program);
    const auto run = run_program({program_path(program), "--version"}, std::chrono::seconds(10));
    CHECK(run.exit_code == 0);
    CHECK(std::regex_match(run.stdout_text, std::regex(program + R"( \d+\.\d+\.\d+\n)")));
    CHECK(run.stderr_text.empty());
  }
}

TEST_CASE("a misspelt option is one line that points to --help, exit 2, in every program") {
  testing_support::check_usage_error("echo-server", {"--alow", "10.0.0.0/8"});
  testing_support::check_usage_error("udp-chat", {"--prot", "7890"});
  testing_support::check_usage_error("loadgen", {"tcp", "127.0.0.1:1", "--conections", "3"});
}
