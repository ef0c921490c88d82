#include "apps/app_support.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <functional>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

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

namespace {

// Edits (insert, delete, replace, swap of neighbours) that turn `a` into `b`, or `limit` + 1 when
// more. Option names are short, so the table fits on the stack.
std::size_t edit_distance(std::string_view a, std::string_view b, std::size_t limit) {
  constexpr std::size_t kMax = 64;
  if (a.size() >= kMax || b.size() >= kMax) return limit + 1;
  std::size_t d[kMax][kMax];
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The option of `cli` (or of its subcommands) that `word`, a "--name" the user typed, most likely
// meant: one or two edits away and not itself an option. "" when there is none.
std::string near_miss(const CLI::App& cli, std::string_view word) {
  if (!word.starts_with("--") || word.size() < 4) return {};
  word = word.substr(0, word.find('='));
  std::string best;
  std::size_t best_distance = 3;
  std::vector<const CLI::App*> apps{&cli};
  for (const auto* sub : cli.get_subcommands({})) apps.push_back(sub);
  for (const auto* app : apps) {
    for (const auto* option : app->get_options()) {
      for (const auto& name : option->get_lnames()) {
        const std::string candidate = "--" + name;
        if (candidate == word) return {};  // a real option, used wrongly: no guess
        const auto distance = edit_distance(word, candidate, 2);
        if (distance < best_distance) {
          best_distance = distance;
          best = candidate;
        }
      }
    }
  }
  return best;
}

}  // namespace

namespace {

constexpr std::size_t kHelpWidth = 79;   // one terminal line, and what help2man expects
constexpr std::size_t kHelpColumn = 32;  // where descriptions start
constexpr std::string_view kGeneralGroup = "General";

// `text` word-wrapped to kHelpWidth, continuation lines indented to kHelpColumn.
std::string wrap(std::string_view text, std::size_t first_column) {
  std::string out;
  std::size_t column = first_column;
  std::istringstream words{std::string(text)};
  bool line_start = true;
  for (std::string word; words >> word;) {
    if (!line_start && column + 1 + word.size() > kHelpWidth) {
      out += '\n';
      out.append(kHelpColumn, ' ');
      column = kHelpColumn;
      line_start = true;
    }
    if (!line_start) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    line_start = false;
  }
  return out;
}

// "  LEFT            description" with the description at kHelpColumn (or two spaces after a
// long LEFT), wrapped.
std::string help_row(const std::string& left, const std::string& description) {
  std::string row = "  " + left;
  if (description.empty()) return row + "\n";
  if (row.size() + 2 <= kHelpColumn) {
    row.append(kHelpColumn - row.size(), ' ');
  } else {
    row += "  ";
  }
  return row + wrap(description, row.size()) + "\n";
}

// The layout of app::HelpLayout (see app_support.h) for CLI11's help output. Threading: called
// by CLI11 on the thread that parses the command line (main).
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_help(const CLI::App* app, std::string name, CLI::AppFormatMode) const override {
    std::string out;
    if (!app->get_description().empty()) out += app->get_description() + "\n\n";
    out += "Usage: " + name;
    const auto options = app->get_options({});
    const auto positionals =
        app->get_options([](const CLI::Option* option) { return option->get_positional(); });
    if (positionals.size() < options.size()) out += " [OPTIONS]";
    for (const auto* positional : positionals) out += " " + value_label(*positional);
    const auto commands = app->get_subcommands({});
    if (!commands.empty()) out += " COMMAND [OPTIONS]";
    out += "\n";
    if (!positionals.empty()) {
      out += "\nArguments:\n";
      for (const auto* positional : positionals) {
        out += help_row(value_label(*positional), positional->get_description());
      }
    }
    if (!commands.empty()) {
      out += "\nCommands:\n";
      for (const auto* command : commands) {
        out += help_row(command->get_name(), command->get_description());
      }
    }
    std::vector<std::string> groups = app->get_groups();
    std::stable_partition(groups.begin(), groups.end(),
                          [](const std::string& group) { return group != kGeneralGroup; });
    for (const auto& group : groups) {
      const auto in_group = app->get_options([&group](const CLI::Option* option) {
        return option->get_group() == group && option->nonpositional();
      });
      if (group.empty() || in_group.empty()) continue;
      out += "\n" + group + ":\n";
      for (const auto* option : in_group) out += make_option(option, false);
    }
    if (!commands.empty()) {
      out += fmt::format("\nRun '{} COMMAND --help' for the options of a command.\n", name);
    }
    if (!app->get_footer().empty()) out += "\n" + app->get_footer() + "\n";
    return out;
  }

  std::string make_option(const CLI::Option* option, bool) const override {
    std::string left;
    const auto& shorts = option->get_snames();
    left = shorts.empty() ? "    " : "-" + shorts.front() + ", ";
    const auto& longs = option->get_lnames();
    if (!longs.empty()) {
      left += "--" + longs.front();
    } else if (!shorts.empty()) {
      left.resize(left.size() - 2);  // a short name alone: no trailing ", "
    }
    if (option->get_expected_max() != 0) left += " " + value_label(*option);
    std::string description = option->get_description();
    if (option->get_expected_max() != 0 && !option->get_default_str().empty()) {
      description += fmt::format(" (default {})", option->get_default_str());
    }
    for (const auto* excluded : option->get_excludes()) {
      description += fmt::format(" (not with {})", excluded->get_name());
    }
    return help_row(left, description);
  }
};

}  // namespace

std::string value_label(const CLI::Option& option) {
  if (!option.get_option_text().empty()) return option.get_option_text();
  const std::string full = option.get_type_name();  // "UINT:0..65535", "TEXT:HOST:PORT"
  const auto colon = full.find(':');
  const std::string type = full.substr(0, colon);
  const std::string check = colon == std::string::npos ? "" : full.substr(colon + 1);
  static const std::regex kRange(R"(\d+\.\.\d+)");
  if (check.starts_with('{') && check.ends_with('}')) {
    std::string choices = check.substr(1, check.size() - 2);
    std::replace(choices.begin(), choices.end(), ',', '|');
    return choices;
  }
  if (check == "PER_S") return "RATE";
  if (!check.empty() && !std::regex_match(check, kRange)) return check;
  if (type == "UINT" || type == "INT" || !check.empty()) return "N";
  if (type == "FLOAT") return "NUM";
  return type.empty() ? "VALUE" : type;
}

void set_help_layout(CLI::App& cli, const HelpLayout& layout) {
  const auto formatter = std::make_shared<HelpFormatter>();
  cli.formatter(formatter);
  for (auto* command : cli.get_subcommands({})) command->formatter(formatter);
  cli.set_help_flag("-h,--help", "print this help, then exit")->group(std::string(kGeneralGroup));
  for (const auto& [title, names] : layout.groups) {
    for (const auto& name : names) {
      if (auto* option = cli.get_option_no_throw(name)) option->group(title);
    }
  }
  for (const auto& [name, label] : layout.labels) {
    if (auto* option = cli.get_option_no_throw(name)) option->option_text(label);
  }
  cli.footer(layout.footer);
}

int parse_command_line(CLI::App& cli, int argc, char** argv, base::Diagnostics& diagnostics) {
  cli.set_version_flag("--version", fmt::format("{} {}", cli.get_name(), SUITE_VERSION),
                       "print the program's name and version, then exit")
      ->group(std::string(kGeneralGroup));
  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return cli.exit(help);  // prints the help text, exit code 0
  } catch (const CLI::CallForAllHelp& help) {
    return cli.exit(help);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return cli.exit(error);
    std::string message = error.what();
    // CLI11 says "--port: 1 required UINT:0..65535 missing" for an option given no value.
    static const std::regex kMissingValue(R"((\S+): \d+ required .* missing)");
    if (std::smatch match; std::regex_match(message, match, kMissingValue)) {
      message = match[1].str() + " needs a value";
    }
    for (int i = 1; i < argc; ++i) {
      const std::string_view word = argv[i];
      if (word == "--") break;
      const auto near = near_miss(cli, word);
      if (!near.empty()) {
        message += fmt::format(" (did you mean {}?)", near);
        break;
      }
    }
    return usage_error(diagnostics, message);
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

CLI::Validator host() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        try {
          net::parse_address(text);
          return {};
        } catch (const net::InvalidArgument&) {
        }
        // A name as a resolver takes it: labels of letters, digits, '-' and '_', 1 to 63 bytes
        // each, at most 253 in all, not all digits and dots (256.1.1.1 is a bad address).
        bool only_digits_and_dots = true;
        std::size_t label = 0;
        bool good = !text.empty() && text.size() <= 253;
        for (const char c : text) {
          if (!good) break;
          if (c == '.') {
            good = label != 0;
            label = 0;
            continue;
          }
          const bool digit = c >= '0' && c <= '9';
          const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
          good = (digit || letter || c == '-' || c == '_') && ++label <= 63;
          if (!digit) only_digits_and_dots = false;
        }
        if (good && !only_digits_and_dots) return {};
        return fmt::format("bad host {}: expected an IPv4 or IPv6 address or a host name",
                           base::quote_for_error(text));
      },
      "HOST");
}

CLI::Validator cidr_block() {
  return from_parser([](const std::string& text) { net::Cidr::parse(text); }, "CIDR");
}

CLI::Validator host_and_port() {
  return from_parser([](const std::string& text) { net::parse_host_port(text); }, "HOST:PORT");
}

}  // namespace app
