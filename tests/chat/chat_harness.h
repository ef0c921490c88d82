#pragma once

// Helpers for the chat's integration tests: start real udp-chat processes on kernel-chosen ports,
// stop them, read their summary and log. Threading: test thread only.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace chat_test {

using namespace std::chrono_literals;
inline constexpr auto kWait = std::chrono::milliseconds(30'000);  // generous, for loaded CI

// A fresh directory, removed with everything in it.
struct TempDir {
  std::filesystem::path path;
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path / name).string(); }
};

struct Summary {
  bool found = false;
  std::uint64_t sent = 0, received = 0, logged = 0, kernel_drops = 0, log_errors = 0,
                not_shown = 0, send_errors = 0;
};

// A running udp-chat.
struct Chat {
  std::unique_ptr<testing_support::ChildProcess> process;
  std::uint16_t port = 0;
  std::string address;  // as printed: "127.0.0.1", "::", "::1"
  std::string log;      // path of its log ("" with --no-log)
  std::string stderr_text;
  std::optional<int> exit_code;
  Summary summary;

  void type(const std::string& line) { process->write_stdin(line + "\n"); }
  // Waits for the program to end by itself (after /quit, EOF...), then reads stderr.
  void finish();
  // Sends `signal`, then finish().
  void stop(int signal);
  std::string endpoint() const;  // "127.0.0.1:PORT" or "[::1]:PORT"
};

// Starts udp-chat with `args` (a --port 0 is added unless given, and --log DIR/NAME unless
// --log/--no-log is given), waits for "listening on ADDR:PORT" and records the port.
// `prefix` runs it through another program ("ip netns exec NS").
Chat start_chat(const TempDir& dir, const std::string& name, std::vector<std::string> args,
                const std::vector<std::string>& prefix = {});

Summary parse_summary(const std::string& stderr_text);
std::vector<std::string> read_lines(const std::string& path);
// A log line without its "TIMESTAMP " prefix (checked to be well formed).
std::string without_timestamp(const std::string& line);
// True if the text holds no C0/C1 control character and no DEL.
bool is_safe(const std::string& text);
std::size_t count_lines_starting(const std::vector<std::string>& lines, const std::string& prefix);
// Waits (bounded) until the file has a line containing `needle`.
bool wait_for_file_line(const std::string& path, const std::string& needle,
                        std::chrono::milliseconds timeout = kWait);
// Resident memory of a process, in KiB (VmRSS).
std::size_t resident_kib(int pid);

}  // namespace chat_test
