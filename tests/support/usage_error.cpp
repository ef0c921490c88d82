#include "tests/support/usage_error.h"

#include <doctest/doctest.h>

#include <chrono>

#include "tests/support/process.h"
#include "tests/support/text_checks.h"

namespace testing_support {

void check_usage_error(const std::string& program, const std::vector<std::string>& args) {
  std::vector<std::string> argv{program_path(program)};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string shown = program;
  for (const auto& arg : args) shown += " " + arg;
  // A usage error exits at once: the limit only stops a wrongly accepted one from running on.
  const auto run = run_program(argv, std::chrono::seconds(10));
  INFO(shown << " -> stderr: " << run.stderr_text);
  CHECK(run.exit_code == 2);
  CHECK(count_lines(run.stderr_text) == 1);
  CHECK(run.stderr_text.starts_with(program + ": "));
  CHECK(run.stderr_text.ends_with(" (try --help)\n"));
  CHECK(run.stdout_text.empty());
}

}  // namespace testing_support
