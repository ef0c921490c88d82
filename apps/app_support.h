#pragma once

// Shared by the mains: the command-line contract of DESIGN.md (help → exit 0; a bad option or
// value → exactly one line on stderr, exit 2; a runtime failure → one line, exit 1) and line
// flushing of stdout even when it is a pipe. Threading: call from main() only.

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

namespace app {

inline constexpr int kExitUsage = 2;
inline constexpr int kExitFailure = 1;

// Every line reaches a pipe reader at once (scripts and tests wait for "listening on ...").
inline void flush_lines_always() { std::setvbuf(stdout, nullptr, _IOLBF, 0); }

// One-line usage error, as the contract asks, then the exit code to return. Control bytes in the
// message (CLI11 quotes the user's text as it came) are shown as '?', so it stays one line; a
// stderr nobody reads any more must not turn a usage error into a crash.
inline int usage_error(std::string_view program, std::string_view message) {
  std::string line(message);
  for (char& c : line) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) c = '?';
  }
  try {
    fmt::print(stderr, "{}: {}\n", program, line);
  } catch (...) {
  }
  return kExitUsage;
}

// Strict checks of numeric option text, run by CLI11 before it converts (->check(...)). CLI11's
// own conversions accept "0x10" as a port, "nan" or "1e300" as seconds, and its range messages
// print doubles with 300 digits; these accept plain decimal only and say what is wanted.
namespace detail {
inline std::string shown_value(const std::string& text) {
  std::string shown;
  for (char c : text.substr(0, 32)) {
    const auto byte = static_cast<unsigned char>(c);
    shown += byte < 0x20 || byte >= 0x7f ? '?' : c;
  }
  return "'" + shown + (text.size() > 32 ? "...'" : "'");
}
}  // namespace detail

// A whole decimal number from `low` to `high`.
inline CLI::Validator whole_number(std::uint64_t low, std::uint64_t high) {
  return CLI::Validator(
      [low, high](std::string& text) -> std::string {
        std::uint64_t value = 0;
        const auto* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        if (text.empty() || error != std::errc() || stop != end || value < low || value > high) {
          return fmt::format("bad value {}: expected a whole number from {} to {}",
                             detail::shown_value(text), low, high);
        }
        return {};
      },
      fmt::format("{}..{}", low, high));
}

// A finite decimal number of seconds (fractions allowed) from `low` to `high`; above 0 unless
// `zero_allowed`.
inline CLI::Validator seconds(bool zero_allowed, double high = 365.0 * 24 * 3600) {
  return CLI::Validator(
      [zero_allowed, high](std::string& text) -> std::string {
        double value = 0;
        const auto* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        if (text.empty() || error != std::errc() || stop != end || !std::isfinite(value) ||
            value < 0 || (value == 0 && !zero_allowed) || value > high) {
          return fmt::format("bad value {}: expected seconds from {} to {}, such as 0.5 or 30",
                             detail::shown_value(text), zero_allowed ? "0" : "just above 0", high);
        }
        return {};
      },
      "SECS");
}

// A finite decimal number from 0 to `high` (a rate per second; 0 usually means "no limit").
inline CLI::Validator rate(double high = 1e9) {
  return CLI::Validator(
      [high](std::string& text) -> std::string {
        double value = 0;
        const auto* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        if (text.empty() || error != std::errc() || stop != end || !std::isfinite(value) ||
            value < 0 || value > high) {
          return fmt::format("bad value {}: expected a number from 0 to {}",
                             detail::shown_value(text), high);
        }
        return {};
      },
      "PER_S");
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
