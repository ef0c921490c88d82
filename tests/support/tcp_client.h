#pragma once

// A loopback TCP client on a plain non-blocking socket whose every wait has a deadline. It is
// written on the system calls, not on net::TcpStream, so a server is checked by code that shares
// nothing with it; sends and reads come in random sizes, so partial reads and writes happen.
//
// Threading: a Client is used by one thread at a time (it may move between threads).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "tests/support/bytes.h"
#include "tests/support/deadline.h"

namespace testing_support {

// How long a client call waits unless told otherwise: generous, for a loaded machine.
inline constexpr std::chrono::milliseconds kClientWait = std::chrono::seconds(20);

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
  // Sends and reads use pseudo-random sizes in [1, max_chunk]; equal options, equal sizes.
  std::size_t max_chunk = 65536;
  std::uint64_t seed = 1;
  bool half_close_after_send = true;  // shutdown(SHUT_WR) once everything is sent
  bool read_to_end = true;            // after the echo, also wait for the server's eof
  std::chrono::milliseconds timeout = std::chrono::seconds(60);
};

// A loopback TCP client on a non-blocking socket; every call is bounded by its timeout.
class Client {
 public:
  // Connects to host ("127.0.0.1", "::1") port. Throws std::runtime_error on failure.
  static Client connect(const std::string& host, std::uint16_t port,
                        std::chrono::milliseconds timeout = kClientWait);
  // Same, but returns nullopt instead of throwing (for floods that may hit limits).
  static std::optional<Client> try_connect(const std::string& host, std::uint16_t port,
                                           std::chrono::milliseconds timeout = kClientWait);
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
  bool send_all(std::span<const std::byte> data, std::chrono::milliseconds timeout = kClientWait);
  // Sends what fits without blocking; the count sent, or nullopt once the peer is gone.
  std::optional<std::size_t> send_some(std::span<const std::byte> data);
  // Reads until `size` bytes arrived, the stream ended, or the deadline, in random chunks of
  // at most `max_chunk` (partial reads on purpose).
  Received read_exact(std::size_t size, std::chrono::milliseconds timeout = kClientWait,
                      std::size_t max_chunk = 65536, std::uint64_t seed = 1);
  // Reads (and keeps) everything until the stream ends or the deadline.
  Received read_to_end(std::chrono::milliseconds timeout = kClientWait);
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

}  // namespace testing_support
