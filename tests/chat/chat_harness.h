#pragma once

// The chat's integration tests drive real udp-chat processes: start them on kernel-chosen ports
// (or inside a network namespace), type into them, stop them, and read their summary and log.
//
// Threading: a Chat is used from the test's thread only, and so is quit_and_check_both_ways()
// (it makes doctest checks); the other free functions are pure.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/summary.h"
#include "tests/support/temp_dir.h"

namespace chat_test {

using namespace std::chrono_literals;
inline constexpr auto kWait = std::chrono::milliseconds(30'000);  // generous, for loaded CI

// A running udp-chat.
struct Chat {
  std::unique_ptr<testing_support::ChildProcess> process;
  std::uint16_t port = 0;
  std::string address;  // as printed: "127.0.0.1", "::", "::1"
  std::string log;      // path of its log ("" with --no-log)
  std::string stderr_text;
  std::optional<int> exit_code;
  testing_support::Summary summary;

  void type(const std::string& line) { process->write_stdin(line + "\n"); }
  // Waits for the program to end by itself (after /quit, EOF...), then reads stderr.
  void finish();
  // Sends `signal`, then finish().
  void stop(int signal);
  std::string endpoint() const;  // "127.0.0.1:PORT" or "[::1]:PORT"
};

// Whether a started chat announces itself and listens for others on link-local multicast.
// Outside a network namespace of its own a test must keep it off: multicast would leave the
// machine on its real network.
enum class Discovery { off, on };

// Starts udp-chat with `args` (a --port 0 is added unless given, --log DIR/NAME.txt unless
// --log/--no-log is given, and --no-discovery unless `discovery` is on), waits for
// "listening on ADDR:PORT" and records the port. `prefix` runs it through another program
// ("ip netns exec NS").
Chat start_chat(const testing_support::TempDir& dir, const std::string& name,
                std::vector<std::string> args, const std::vector<std::string>& prefix = {},
                Discovery discovery = Discovery::off);

// Quits two chats with /quit that each sent the other `messages` lines, and checks that each
// exited 0, counted `messages` sent and received, and logged every one of them, each way.
void quit_and_check_both_ways(Chat& a, Chat& b, int messages);

// A log line without its "TIMESTAMP " prefix (checked to be well formed).
std::string without_timestamp(const std::string& line);
// The moment a log line's timestamp names, in UTC (its offset applied), or nullopt when the line
// does not start with a well-formed timestamp.
std::optional<std::chrono::sys_time<std::chrono::milliseconds>> log_time(const std::string& line);
// Log lines whose text after the timestamp starts with `prefix`.
std::size_t count_lines_starting(const std::vector<std::string>& lines, const std::string& prefix);
// Log lines whose text after the timestamp is `text`. A sent line is logged once its datagram is
// out, so a peer's quick answer to it may be logged first: tests look such lines up rather than
// expect them at an index.
std::size_t count_log_lines(const std::vector<std::string>& lines, const std::string& text);
// Index of the first log line whose text after the timestamp is `text`, or nullopt.
std::optional<std::size_t> find_log_line(const std::vector<std::string>& lines,
                                         const std::string& text);

}  // namespace chat_test
