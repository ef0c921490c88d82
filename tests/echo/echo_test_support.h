#pragma once

// Helpers for the echo server's integration, fault and interop tests: a raw loopback client
// whose every wait has a deadline (written on plain sockets, not on net::TcpStream, so the
// server is checked by code that shares nothing with it), payloads, starting the server
// (optionally through a wrapper such as prlimit), stopping it, and reading /proc.
//
// Threading: a Client is used by one thread at a time; a ServerRun (its ChildProcess) from the
// test's thread only; the free functions are thread-safe.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/process.h"

namespace echo_test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::byte>;

// Polls `condition` every 10 ms until it holds or `limit` passes; true if it held.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = 20s) {
  const auto deadline = Clock::now() + limit;
  while (!condition()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// `size` bytes from a seeded generator; the first 256 (when size allows) are every byte value
// once, in a seeded order, so each payload holds NUL, 0xFF, CR, LF, ESC and the rest.
Bytes random_bytes(std::size_t size, std::uint64_t seed);
Bytes bytes_of(std::string_view text);
std::string text_of(std::span<const std::byte> bytes);

// How a read ended.
enum class End {
  complete,  // got what was asked for (the stream may go on)
  eof,       // the peer closed its sending side
  reset,     // ECONNRESET or another socket error
  timeout,   // the deadline passed first
};
const char* to_string(End end);

struct Received {
  Bytes data;
  End end = End::timeout;
};

struct ExchangeOptions {
  std::size_t max_chunk = 65536;      // sends and reads use random sizes in [1, max_chunk]
  std::uint64_t seed = 1;             // of those sizes
  bool half_close_after_send = true;  // shutdown(SHUT_WR) once everything is sent
  bool read_to_end = true;            // after the echo, also wait for the server's eof
  std::chrono::milliseconds timeout = 60s;
};

// A loopback TCP client on a non-blocking socket; every call is bounded by its timeout.
class Client {
 public:
  // Connects to host ("127.0.0.1", "::1") port. Throws std::runtime_error on failure.
  static Client connect(const std::string& host, std::uint16_t port,
                        std::chrono::milliseconds timeout = 20s);
  // Same, but returns nullopt instead of throwing (for floods that may hit limits).
  static std::optional<Client> try_connect(const std::string& host, std::uint16_t port,
                                           std::chrono::milliseconds timeout = 20s);
  Client(Client&& other) noexcept;
  Client& operator=(Client&& other) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  int fd() const { return fd_; }
  // This end's address as the server prints peers: "127.0.0.1:PORT" or "[::1]:PORT".
  std::string local_endpoint() const;
  bool is_open() const { return fd_ >= 0; }

  // Sends all of `data`; false when the peer is gone or the deadline passed.
  bool send_all(std::span<const std::byte> data, std::chrono::milliseconds timeout = 20s);
  // Sends what fits without blocking; the count sent, or nullopt once the peer is gone.
  std::optional<std::size_t> send_some(std::span<const std::byte> data);
  // Reads until `size` bytes arrived, the stream ended, or the deadline, in random chunks of
  // at most `max_chunk` (partial reads on purpose).
  Received read_exact(std::size_t size, std::chrono::milliseconds timeout = 20s,
                      std::size_t max_chunk = 65536, std::uint64_t seed = 1);
  // Reads (and keeps) everything until the stream ends or the deadline.
  Received read_to_end(std::chrono::milliseconds timeout = 20s);
  // Reads whatever is there now without waiting; nullopt once the stream has ended.
  std::optional<std::size_t> read_available(Bytes& into);

  // Sends `data` while reading its echo (so megabytes never deadlock on full buffers), then, as
  // asked, half-closes and reads on to the server's eof.
  Received exchange(std::span<const std::byte> data, const ExchangeOptions& options = {});

  void shutdown_send();
  void close();
  void close_with_reset();  // SO_LINGER 0: the peer gets RST instead of FIN

 private:
  explicit Client(int fd) : fd_(fd) {}
  // Reads until `size` bytes, the stream's end or the deadline, each recv asking next_chunk().
  template <typename NextChunk>
  Received read_until(std::size_t size, Clock::time_point deadline, NextChunk next_chunk);

  int fd_ = -1;
};

// Sends a short message and checks the exact echo comes back: the server is serving.
bool echoes(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout = 20s);

// Absolute path of a program found in PATH, or "" when there is none.
std::string find_in_path(const std::string& name);

// A running echo-server (possibly started through a wrapper that execs it, like prlimit, so
// the pid is the server's own).
struct ServerRun {
  std::unique_ptr<testing_support::ChildProcess> process;
  std::uint16_t port = 0;
  std::string listening_line;
  pid_t pid() const { return process->pid(); }
};

// Starts `[wrapper...] echo-server --port 0 extra...` and waits (bounded) for "listening on".
// Throws std::runtime_error with the server's stderr if it does not start.
ServerRun start_server(const std::vector<std::string>& extra_args = {},
                       const std::vector<std::string>& wrapper = {});

// Threads of an idle server (main, signal waiter, reaper, and whatever a sanitizer runtime
// adds), measured once the count stops changing rather than assumed.
std::size_t idle_threads(const ServerRun& server);

// Opens `count` connections and checks each is served (an echo comes back); throws if not.
std::vector<Client> hold_served(const std::string& host, std::uint16_t port, int count);

// The key=value pairs of the last "summary:" line in `stderr_text`, if there is one.
std::optional<std::map<std::string, std::uint64_t>> parse_summary(const std::string& stderr_text);

// What a stopped server left: its exit code (nullopt if it did not exit in time), all of its
// stderr, and the parsed summary line.
struct Stopped {
  std::optional<int> exit_code;
  std::string stderr_text;
  std::map<std::string, std::uint64_t> summary;  // empty if there was no summary line
  // A summary value, or -1 when the summary or the key is missing (so a check never passes
  // on a line that was not printed).
  std::int64_t count(const std::string& key) const;
};
// Sends `signal` and waits up to `limit` for the exit.
Stopped stop_server(ServerRun& server, int signal, std::chrono::milliseconds limit = 30s);

// Runs a program to its end (bounded), stdin closed: exit code, stdout, stderr.
struct ProgramRun {
  std::optional<int> exit_code;
  std::string stdout_text;
  std::string stderr_text;
};
ProgramRun run_program(const std::vector<std::string>& argv, std::chrono::milliseconds limit = 30s);

std::size_t count_lines(const std::string& text);
std::size_t count_occurrences(const std::string& text, const std::string& needle);

// User + system CPU time the process has used, in seconds (from /proc/PID/stat).
double cpu_seconds(pid_t pid);

}  // namespace echo_test
