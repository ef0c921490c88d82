#include "tests/chat/chat_harness.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace chat_test {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "udp-chat-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

std::string Chat::endpoint() const {
  if (address.find(':') != std::string::npos) return "[" + address + "]:" + std::to_string(port);
  return address + ":" + std::to_string(port);
}

void Chat::finish() {
  exit_code = process->wait(kWait);
  stderr_text = process->read_all_stderr(exit_code ? 5s : 100ms);
  summary = parse_summary(stderr_text);
}

void Chat::stop(int signal) {
  process->signal(signal);
  finish();
}

Chat start_chat(const TempDir& dir, const std::string& name, std::vector<std::string> args,
                const std::vector<std::string>& prefix) {
  bool has_port = false, has_log = false;
  std::string log;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--port") has_port = true;
    if (args[i] == "--no-log") has_log = true;
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

Summary parse_summary(const std::string& stderr_text) {
  Summary summary;
  std::istringstream in(stderr_text);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("summary: ")) continue;
    summary.found = true;
    std::istringstream fields(line.substr(9));
    for (std::string field; fields >> field;) {
      const auto equals = field.find('=');
      if (equals == std::string::npos) continue;
      const auto key = field.substr(0, equals);
      const auto value = std::stoull(field.substr(equals + 1));
      if (key == "sent") summary.sent = value;
      if (key == "received") summary.received = value;
      if (key == "logged") summary.logged = value;
      if (key == "kernel_drops") summary.kernel_drops = value;
      if (key == "log_errors") summary.log_errors = value;
      if (key == "not_shown") summary.not_shown = value;
      if (key == "send_errors") summary.send_errors = value;
    }
  }
  return summary;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string without_timestamp(const std::string& line) {
  static const std::regex stamp(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d )");
  std::smatch match;
  if (!std::regex_search(line, match, stamp)) return "(no timestamp) " + line;
  return line.substr(static_cast<std::size_t>(match.length(0)));
}

bool is_safe(const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x20 || byte == 0x7f) return false;
    if (byte == 0xc2 && i + 1 < text.size()) {
      const auto next = static_cast<unsigned char>(text[i + 1]);
      if (next >= 0x80 && next <= 0x9f) return false;
    }
  }
  return true;
}

std::size_t count_lines_starting(const std::vector<std::string>& lines, const std::string& prefix) {
  std::size_t count = 0;
  for (const auto& line : lines) {
    if (without_timestamp(line).starts_with(prefix)) ++count;
  }
  return count;
}

bool wait_for_file_line(const std::string& path, const std::string& needle,
                        std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  do {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      if (line.find(needle) != std::string::npos) return true;
    }
    std::this_thread::sleep_for(20ms);
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

std::size_t resident_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("VmRSS:")) return std::stoul(line.substr(6));
  }
  return 0;
}

}  // namespace chat_test
