// What every program's command line shares (apps/app_support): --version, and usage errors that
// point to --help, and the layout of --help itself.
#include <doctest/doctest.h>

#include <chrono>
#include <regex>
#include <sstream>
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

TEST_CASE("--help shows grouped options with defaults, the same value labels, and examples") {
  const struct {
    std::vector<std::string> argv;
    std::vector<std::string> wanted;
  } cases[] = {
      {{"echo-server"},
       {"Usage: echo-server [OPTIONS]\n", "\nListening:\n", "\nConnections:\n", "\nOutput:\n",
        "      --port PORT ", "(default 12000)", "      --idle-timeout SECS ", "  -q, --quiet  ",
        "\nExamples:\n"}},
      {{"udp-chat"},
       {"Usage: udp-chat [OPTIONS]\n", "\nNetwork:\n", "      --port PORT ", "(default 7890)",
        "      --peer HOST:PORT ", "      --encoding utf8|gbk|hex ", "      --linger SECS ",
        "/peer HOST:PORT", "/quit", "\nExamples:\n"}},
      {{"loadgen"},
       {"Usage: loadgen [OPTIONS] COMMAND [OPTIONS]\n", "\nCommands:\n", "  tcp ", "  udp ",
        "\nExamples:\n"}},
      {{"loadgen", "tcp"},
       {"Usage: loadgen tcp [OPTIONS] HOST:PORT\n", "\nLoad:\n", "  -c, --connections N ",
        "  -d, --duration SECS ", "      --rate RATE ", "\nExamples:\n"}},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv{program_path(c.argv.front())};
    argv.insert(argv.end(), c.argv.begin() + 1, c.argv.end());
    argv.push_back("--help");
    const auto run = run_program(argv, std::chrono::seconds(10));
    CAPTURE(run.stdout_text);
    CHECK(run.exit_code == 0);
    CHECK(run.stderr_text.empty());
    for (const auto& text : c.wanted) {
      CAPTURE(text);
      CHECK(run.stdout_text.find(text) != std::string::npos);
    }
    // No CLI11 layouts: type names with ranges, "=default", "Excludes:" or "REQUIRED".
    for (const std::string glitch : {"UINT", "FLOAT", "TEXT", "Excludes", "REQUIRED", "=1"}) {
      CAPTURE(glitch);
      CHECK(run.stdout_text.find(glitch) == std::string::npos);
    }
    // General (--help, --version) comes last among the groups, before the examples.
    CHECK(run.stdout_text.find("\nGeneral:\n") < run.stdout_text.find("\nExamples:\n"));
    std::istringstream lines(run.stdout_text);
    for (std::string line; std::getline(lines, line);) {
      CAPTURE(line);
      CHECK(line.size() <= 79);
    }
  }
}

TEST_CASE("an option given no value says it needs one, in one line, exit 2") {
  const struct {
    std::vector<std::string> argv;
    std::string expected;
  } cases[] = {
      {{"echo-server", "--port"}, "echo-server: --port needs a value (try --help)\n"},
      {{"echo-server", "--port", "0", "--allow"},
       "echo-server: --allow needs a value (try --help)\n"},
      {{"udp-chat", "--port", "0", "--peer"}, "udp-chat: --peer needs a value (try --help)\n"},
      {{"loadgen", "tcp", "127.0.0.1:1", "-c"},
       "loadgen: --connections needs a value (try --help)\n"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv{program_path(c.argv.front())};
    argv.insert(argv.end(), c.argv.begin() + 1, c.argv.end());
    const auto run = run_program(argv, std::chrono::seconds(10));
    CHECK(run.exit_code == 2);
    CHECK(run.stderr_text == c.expected);
  }
}
