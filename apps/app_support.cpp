#include "apps/app_support.h"

#include <charconv>
#include <cstdio>
#include <functional>
#include <string>

#include <fmt/format.h>

#include "base/text_escape.h"
#include "net/cidr.h"
#include "net/endpoint.h"
#include "net/error.h"

namespace app {

void flush_lines_always() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
}

int usage_error(base::Diagnostics& diagnostics, std::string_view message) {
  // CLI11 quotes some of the user's text as it came ("The following argument was not expected:
  // ..."): control bytes are escaped so the message stays one line. Only those: the rest of the
  // message is ours, and the validators' quotes are escaped already.
  std::string line;
  for (const char c : message) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      base::append_byte_escape(line, byte);
    } else {
      line += c;
    }
  }
  line += " (try --help)";
  diagnostics.error(line);
  return kExitUsage;
}

int parse_command_line(CLI::App& cli, int argc, char** argv, base::Diagnostics& diagnostics) {
  cli.set_version_flag("--version", fmt::format("{} {}", cli.get_name(), SUITE_VERSION),
                       "print the program's name and version, then exit");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return cli.exit(help);  // prints the help text, exit code 0
  } catch (const CLI::CallForAllHelp& help) {
    return cli.exit(help);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return cli.exit(error);
    return usage_error(diagnostics, error.what());
  }
  return -1;
}

namespace {

template <typename Number>
bool parse_decimal(const std::string& text, Number& value) {
  const auto* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  return !text.empty() && error == std::errc() && stop == end;
}

// A validator from a parser that throws net::InvalidArgument with a one-line reason.
CLI::Validator from_parser(std::function<void(const std::string&)> parse, std::string name) {
  return CLI::Validator(
      [parse = std::move(parse)](std::string& text) -> std::string {
        try {
          parse(text);
          return {};
        } catch (const net::InvalidArgument& error) {
          return error.what();
        }
      },
      std::move(name));
}

}  // namespace

CLI::Validator whole_number(std::uint64_t low, std::uint64_t high) {
  return CLI::Validator(
      [low, high](std::string& text) -> std::string {
        std::uint64_t value = 0;
        if (!parse_decimal(text, value) || value < low || value > high) {
          return fmt::format("bad value {}: expected a whole number from {} to {}",
                             base::quote_for_error(text, 32), low, high);
        }
        return {};
      },
      fmt::format("{}..{}", low, high));
}

CLI::Validator seconds(bool zero_allowed, double high) {
  return CLI::Validator(
      [zero_allowed, high](std::string& text) -> std::string {
        double value = 0;
        if (!parse_decimal(text, value) || !std::isfinite(value) || value < 0 ||
            (value == 0 && !zero_allowed) || value > high) {
          return fmt::format("bad value {}: expected seconds from {} to {}, such as 0.5 or 30",
                             base::quote_for_error(text, 32), zero_allowed ? "0" : "just above 0",
                             high);
        }
        return {};
      },
      "SECS");
}

CLI::Validator rate(double high) {
  return CLI::Validator(
      [high](std::string& text) -> std::string {
        double value = 0;
        if (!parse_decimal(text, value) || !std::isfinite(value) || value < 0 || value > high) {
          return fmt::format("bad value {}: expected a number from 0 to {}",
                             base::quote_for_error(text, 32), high);
        }
        return {};
      },
      "PER_S");
}

CLI::Validator ip_address() {
  return from_parser([](const std::string& text) { net::parse_address(text); }, "ADDR");
}

CLI::Validator cidr_block() {
  return from_parser([](const std::string& text) { net::Cidr::parse(text); }, "CIDR");
}

CLI::Validator host_and_port() {
  return from_parser([](const std::string& text) { net::parse_host_port(text); }, "HOST:PORT");
}

}  // namespace app
