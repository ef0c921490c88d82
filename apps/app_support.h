#pragma once

// What the three mains share: the command-line contract (help -> exit 0; a bad option or value ->
// exactly one line on stderr, exit 2; a runtime failure -> one line, exit 1), the checks of
// option values, and line-flushed stdout. Threading: call from main() only.

#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/diagnostics.h"

namespace app {

inline constexpr int kExitUsage = 2;
inline constexpr int kExitFailure = 1;

// Every stdout line reaches a pipe reader at once (scripts and tests wait for "listening on").
void flush_lines_always();

// One-line usage error through the diagnostics sink, ending in "(try --help)"; returns
// kExitUsage.
int usage_error(base::Diagnostics& diagnostics, std::string_view message);

// How --help lays out a program's options, in the conventions of ncat and iperf3: a summary
// line, "Usage:", the options in titled groups (General, with --help and --version, last), one
// row per option as `-q, --quiet` or `    --port PORT`, its description and `(default X)` on
// the same line, wrapped at 79 columns, then a footer with examples. help2man turns this text
// into the man pages, so its headings ("Usage:", "Examples:") are the ones help2man knows.
struct HelpLayout {
  // Group title and the options in it, by any of their names ("--port"); options not named stay
  // in "Options".
  std::vector<std::pair<std::string, std::vector<std::string>>> groups;
  // Value labels chosen by the program ({"--port", "PORT"}); other options get one from their
  // checks (SECS, ADDR, CIDR, HOST:PORT, RATE, N, utf8|gbk|hex), the same in every program.
  std::vector<std::pair<std::string, std::string>> labels;
  std::string footer;  // printed after the options, e.g. "Examples:\n  echo-server --port 7\n"
};

// Applies `layout` to `cli` (not to its subcommands, which get their own layouts) and gives
// `cli` and every subcommand the suite's help formatter. Call after the options are added.
void set_help_layout(CLI::App& cli, const HelpLayout& layout);

// The value label --help shows for `option`: the program's choice if it set one, else one
// derived from its type and checks ("UINT:0..65535" -> N, "FLOAT:SECS" -> SECS).
std::string value_label(const CLI::Option& option);

// Adds --version ("echo-server 0.1.0", the project's version from CMake) and parses, mapping
// CLI11's outcomes to the contract. Returns -1 to go on, or an exit code.
int parse_command_line(CLI::App& cli, int argc, char** argv, base::Diagnostics& diagnostics);

// Strict checks of option text, run by CLI11 before it converts (->check(...)). CLI11's own
// conversions accept "0x10" as a port, "-3" as a huge count, "nan" or "1e300" as seconds, and its
// range messages print doubles with 300 digits; these accept plain decimal only, quote the user's
// text safely (base::quote_for_error) and say what is wanted.
CLI::Validator whole_number(std::uint64_t low, std::uint64_t high);
// Seconds (fractions allowed) from 0 (if `zero_allowed`, else just above) to `high`.
CLI::Validator seconds(bool zero_allowed, double high = 365.0 * 24 * 3600);
// A rate per second from 0 to `high` (0 usually means "no limit").
CLI::Validator rate(double high = 1e9);
// A literal IPv4 or IPv6 address; a CIDR block; HOST:PORT. The net layer's parsers decide.
CLI::Validator ip_address();
// A literal address or a host name (resolved later, by the program): udp-chat's --bind.
// echo-server keeps ip_address(): a server's --bind names the one address it serves on, and a
// name with several addresses would serve on only one of them without saying so.
CLI::Validator host();
CLI::Validator cidr_block();
CLI::Validator host_and_port();

// Seconds as a duration, rounded up so a tiny value is the shortest timeout rather than none.
template <typename Duration>
Duration to_duration(double seconds) {
  return std::chrono::ceil<Duration>(std::chrono::duration<double>(seconds));
}

}  // namespace app
