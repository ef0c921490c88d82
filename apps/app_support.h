#pragma once

// Shared by the mains: the command-line contract of DESIGN.md (help → exit 0; a bad option or
// value → exactly one line on stderr, exit 2; a runtime failure → one line, exit 1) and line
// flushing of stdout even when it is a pipe. Threading: call from main() only.

#include <cstdio>
#include <string_view>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

namespace app {

inline constexpr int kExitUsage = 2;
inline constexpr int kExitFailure = 1;

// Every line reaches a pipe reader at once (scripts and tests wait for "listening on ...").
inline void flush_lines_always() { std::setvbuf(stdout, nullptr, _IOLBF, 0); }

// One-line usage error, as the contract asks, then the exit code to return.
inline int usage_error(std::string_view program, std::string_view message) {
  fmt::print(stderr, "{}: {}\n", program, message);
  return kExitUsage;
}

// Parses, mapping CLI11's outcomes to the contract. Returns -1 to go on, or an exit code.
inline int parse_command_line(CLI::App& cli, int argc, char** argv) {
  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return cli.exit(help);  // prints the help text, exit code 0
  } catch (const CLI::CallForAllHelp& help) {
    return cli.exit(help);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return cli.exit(error);
    return usage_error(cli.get_name(), error.what());
  }
  return -1;
}

}  // namespace app
