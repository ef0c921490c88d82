#include "tests/chat/chat_harness.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <regex>
#include <stdexcept>

#include "tests/support/text_files.h"

namespace chat_test {

std::string Chat::endpoint() const {
  if (address.find(':') != std::string::npos) return "[" + address + "]:" + std::to_string(port);
  return address + ":" + std::to_string(port);
}

void Chat::finish() {
  exit_code = process->wait(kWait);
  stderr_text = process->read_all_stderr(exit_code ? 5s : 100ms);
  summary = testing_support::Summary::parse(stderr_text);
}

void Chat::stop(int signal) {
  process->signal(signal);
  finish();
}

Chat start_chat(const testing_support::TempDir& dir, const std::string& name,
                std::vector<std::string> args, const std::vector<std::string>& prefix,
                Discovery discovery) {
  bool has_port = false, has_log = false;
  bool has_no_discovery = false;
  std::string log;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--port") has_port = true;
    if (args[i] == "--no-log") has_log = true;
    if (args[i] == "--no-discovery") has_no_discovery = true;
    if (args[i] == "--log") {
      has_log = true;
      if (i + 1 < args.size()) log = args[i + 1];
    }
  }
  std::vector<std::string> argv = prefix;
  argv.push_back(testing_support::program_path("udp-chat"));
  if (!has_port) argv.insert(argv.end(), {"--port", "0"});
  if (!has_log) {
    log = dir.file(name + ".txt");
    argv.insert(argv.end(), {"--log", log});
  }
  if (discovery == Discovery::off && !has_no_discovery) argv.push_back("--no-discovery");
  argv.insert(argv.end(), args.begin(), args.end());
  Chat chat;
  chat.log = log;
  chat.process = std::make_unique<testing_support::ChildProcess>(argv);
  const auto line = chat.process->read_stdout_line(kWait);
  if (!line || !line->starts_with("listening on ")) {
    throw std::runtime_error("udp-chat did not start: first line '" + line.value_or("(none)") +
                             "', stderr: " + chat.process->read_all_stderr(1s));
  }
  std::string where = line->substr(std::string("listening on ").size());
  const auto colon = where.rfind(':');
  chat.port = static_cast<std::uint16_t>(std::stoi(where.substr(colon + 1)));
  chat.address = where.substr(0, colon);
  if (chat.address.starts_with("[")) chat.address = chat.address.substr(1, chat.address.size() - 2);
  return chat;
}

void quit_and_check_both_ways(Chat& a, Chat& b, int messages) {
  a.type("/quit");
  b.type("/quit");
  a.finish();
  b.finish();
  for (auto* chat : {&a, &b}) {
    CAPTURE(chat->stderr_text);
    CHECK(chat->exit_code == 0);
    REQUIRE(chat->summary.found());
    CHECK(chat->summary.count("sent") == messages);
    CHECK(chat->summary.count("received") == messages);
    CHECK(chat->summary.count("logged") == 2 * messages);
    const auto lines = testing_support::read_lines(chat->log);
    CHECK(lines.size() == 2 * static_cast<std::size_t>(messages));
    CHECK(count_lines_starting(lines, "<<<(") == static_cast<std::size_t>(messages));
    CHECK(count_lines_starting(lines, ">>>(") == static_cast<std::size_t>(messages));
  }
}

std::string without_timestamp(const std::string& line) {
  static const std::regex stamp(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d )");
  std::smatch match;
  if (!std::regex_search(line, match, stamp)) return "(no timestamp) " + line;
  return line.substr(static_cast<std::size_t>(match.length(0)));
}

std::optional<std::chrono::sys_time<std::chrono::milliseconds>> log_time(const std::string& line) {
  static const std::regex stamp(
      R"(^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})([+-])(\d\d):(\d\d) )");
  std::smatch match;
  if (!std::regex_search(line, match, stamp)) return std::nullopt;
  const auto number = [&](std::size_t group) { return std::stoi(match[group].str()); };
  using namespace std::chrono;
  const year_month_day date{year{number(1)}, month{static_cast<unsigned>(number(2))},
                            day{static_cast<unsigned>(number(3))}};
  if (!date.ok()) return std::nullopt;
  const auto local = sys_days{date} + hours{number(4)} + minutes{number(5)} + seconds{number(6)} +
                     milliseconds{number(7)};
  const auto offset = hours{number(9)} + minutes{number(10)};
  return match[8].str() == "+" ? local - offset : local + offset;
}

std::size_t count_lines_starting(const std::vector<std::string>& lines, const std::string& prefix) {
  std::size_t count = 0;
  for (const auto& line : lines) {
    if (without_timestamp(line).starts_with(prefix)) ++count;
  }
  return count;
}

std::size_t count_log_lines(const std::vector<std::string>& lines, const std::string& text) {
  return static_cast<std::size_t>(std::count_if(lines.begin(), lines.end(), [&](const auto& line) {
    return without_timestamp(line) == text;
  }));
}

std::optional<std::size_t> find_log_line(const std::vector<std::string>& lines,
                                         const std::string& text) {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (without_timestamp(lines[i]) == text) return i;
  }
  return std::nullopt;
}

}  // namespace chat_test
