#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "base/descriptor_writer.h"

namespace base {

// The one path of a program's diagnostics (stderr): connection lines, notices, errors, summaries.
// A call never throws, never aborts and never waits for the descriptor: lines go to a bounded
// backlog that a writer thread of its own empties. A service thread (the accept loop, a
// connection, the chat receiver) therefore cannot be stalled by a stderr nobody reads, and a
// stderr that fails (/dev/full, a closed pipe) costs lines, not the program.
//
// Lines beyond the backlog are dropped and counted; once the descriptor takes lines again, one
// line says how many were lost. stop() writes what is queued, giving up on a reader that takes
// nothing for the grace period, so a program always finishes its stop.
//
// Threading: every method is thread-safe and may be called from any thread, except that stop()
// and the destructor must not run concurrently with each other.
class Diagnostics {
 public:
  struct Limits {
    std::size_t max_lines = 4096;         // lines waiting for the descriptor
    std::size_t max_bytes = 1024 * 1024;  // bytes waiting for the descriptor
  };

  // `fd` stays the caller's (STDERR_FILENO in the programs). `program` prefixes error().
  Diagnostics(int fd, std::string program, Limits limits);
  Diagnostics(int fd, std::string program) : Diagnostics(fd, std::move(program), Limits{}) {}
  ~Diagnostics();
  Diagnostics(const Diagnostics&) = delete;
  Diagnostics& operator=(const Diagnostics&) = delete;

  // One line, as given; a '\n' is added. Text after stop() is dropped and counted.
  void line(std::string_view text) noexcept { append_line({}, text); }

  // "PROGRAM: text", the form of every error and notice.
  void error(std::string_view text) noexcept { append_line(program_, text); }

  // line(fmt::format(...)), never throwing (a failed format is counted as a dropped line). The
  // text is formatted on the caller's stack (fmt's inline buffer) and copied into the backlog, so
  // a short line costs the calling thread no heap allocation: with one thread per connection, a
  // malloc on each would give every thread a malloc cache of its own.
  template <typename... Args>
  void print(fmt::format_string<Args...> format, Args&&... args) noexcept {
    try {
      fmt::memory_buffer text;
      fmt::format_to(std::back_inserter(text), format, std::forward<Args>(args)...);
      append_line({}, {text.data(), text.size()});
    } catch (...) {
      count_dropped(1);
    }
  }
  template <typename... Args>
  void print_error(fmt::format_string<Args...> format, Args&&... args) noexcept {
    try {
      fmt::memory_buffer text;
      fmt::format_to(std::back_inserter(text), format, std::forward<Args>(args)...);
      append_line(program_, {text.data(), text.size()});
    } catch (...) {
      count_dropped(1);
    }
  }

  // Waits until every line queued so far has been handed to the descriptor (or failed), at most
  // `timeout`. True when the backlog is empty. For tests, and before exits that skip stop().
  bool flush(std::chrono::milliseconds timeout) noexcept;

  // Writes what is queued, giving up on a descriptor that takes nothing for `grace`; joins the
  // writer. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(1)) noexcept;

  // Lines lost so far: over the backlog, after stop(), or to write errors.
  std::uint64_t dropped() const noexcept { return dropped_.load(); }
  const std::string& program() const noexcept { return program_; }

 private:
  // Appends "PREFIX: text\n" (or "text\n" without a prefix) to the backlog, or counts it dropped.
  void append_line(std::string_view prefix, std::string_view text) noexcept;
  void run(std::stop_token stop) noexcept;
  void count_dropped(std::uint64_t lines) noexcept;

  const int fd_;
  const std::string program_;
  const Limits limits_;
  mutable std::mutex mutex_;
  std::condition_variable_any changed_;  // lines queued, the backlog emptied, or stop
  // The backlog: whole lines, each ending in '\n'. Its capacity (max_bytes) is reserved once, and
  // the writer swaps it with a buffer of the same capacity, so appending never allocates.
  std::string pending_;            // guarded by mutex_
  std::size_t pending_lines_ = 0;  // guarded by mutex_
  bool writing_ = false;           // guarded by mutex_: the writer holds taken lines
  bool stopped_ = false;           // guarded by mutex_
  std::atomic<std::uint64_t> dropped_{0};
  std::uint64_t dropped_reported_ = 0;  // writer thread only
  GiveUpDeadline give_up_;              // started by stop()
  std::jthread writer_;
};

}  // namespace base
