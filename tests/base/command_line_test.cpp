// What every program's command line shares (apps/app_support): --version, and usage errors that
// point to --help.
#include <doctest/doctest.h>

#include <chrono>
#include <regex>
#include <string>
#include <vector>

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

TEST_CASE("a misspelt option is one line that names the option meant, exit 2, in every program") {
  const struct {
    std::vector<std::string> argv;
    std::string meant;
  } cases[] = {
      {{"echo-server", "--alow", "10.0.0.0/8"}, "--allow"},
      {{"udp-chat", "--prot", "7890"}, "--port"},
      {{"loadgen", "tcp", "127.0.0.1:1", "--conections", "3"}, "--connections"},
      {{"loadgen", "tcp", "127.0.0.1:1", "--jsn=out.json"}, "--json"},
  };
  for (const auto& c : cases) {
    const std::vector<std::string> args(c.argv.begin() + 1, c.argv.end());
    testing_support::check_usage_error(c.argv.front(), args);
    std::vector<std::string> argv{program_path(c.argv.front())};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto run = run_program(argv, std::chrono::seconds(10));
    CAPTURE(run.stderr_text);
    CHECK(run.stderr_text.find("(did you mean " + c.meant + "?)") != std::string::npos);
  }
  // A far-off word gets no guess.
  const auto run =
      run_program({program_path("echo-server"), "--frobnicate"}, std::chrono::seconds(10));
  CHECK(run.stderr_text.find("did you mean") == std::string::npos);
}
