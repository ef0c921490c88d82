#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>
#include <system_error>

namespace base {

// Writes to a descriptor whose reader may stall (a pipe nobody reads, a paused terminal) without
// ever blocking inside write(): it waits for POLLOUT in short periods, asking `give_up` each time,
// and writes at most a page at a time to pipes, FIFOs, sockets and terminals (a page always fits
// once poll() calls them writable). So the thread that writes can always be told to stop, which
// a blocking write() on a full pipe would never allow.
//
// Threading: one writer thread per instance; the descriptor belongs to the caller.
class DescriptorWriter {
 public:
  explicit DescriptorWriter(int fd);

  enum class Outcome { written, gave_up, failed };

  // Writes all of `text`. gave_up: `give_up()` said so while the descriptor took nothing;
  // failed: the descriptor reported an error (see error()). EINTR and EAGAIN are retried.
  Outcome write_all(std::string_view text, const std::function<bool()>& give_up);

  // The error of the last failed write_all.
  std::error_code error() const { return error_; }
  // Bytes of `text` the last write_all wrote, whatever its outcome (a caller that keeps records,
  // such as the chat log, counts what reached the descriptor).
  std::size_t written() const { return written_; }
  int fd() const { return fd_; }

 private:
  int fd_;
  std::size_t max_write_;
  std::error_code error_;
  std::size_t written_ = 0;
};

// When a writer waiting for a stalled reader should give up: never, until the thread that stops
// the program starts the grace period. Threading: start() and expired() from any thread.
class GiveUpDeadline {
 public:
  void start(std::chrono::milliseconds grace) noexcept;
  bool expired() const noexcept;

 private:
  std::atomic<std::int64_t> at_ns_{INT64_MAX};  // steady_clock
};

}  // namespace base
