#pragma once

#include <cstddef>
#include <string>

#include "base/waker.h"
#include "chat/line_source.h"

namespace chat {

// Reads lines from a descriptor (the chat's stdin) in a way another thread can interrupt: a
// blocking read of a terminal cannot be woken, so the reader waits in poll() on the descriptor
// and on a base::Waker that interrupt() wakes. That is how SIGINT/SIGTERM stop the keyboard
// thread of the chat cleanly.
//
// Lines end at '\n'; a '\r' before it is dropped (input from Windows tools). A last line without
// '\n' before EOF still counts. A line longer than max_line is discarded up to its end and
// reported as too_long, so memory stays bounded whatever arrives on stdin.
//
// It shows no prompts: scripts read what the chat prints line by line (set_prompt() is false).
//
// Threading: next() from one thread only (the owner); interrupt() from any thread.
class LineReader final : public LineSource {
 public:
  using Status = LineSource::Status;

  explicit LineReader(int fd, std::size_t max_line = 1024 * 1024);
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Waits for the next line (stored in `line`, without its end), EOF, or interrupt().
  Status next(std::string& line) override;

  // Makes the current and every later next() return interrupted. Thread-safe, async-signal-safe.
  void interrupt() noexcept override;

  // A descriptor has nowhere to show a prompt: always false. Owning thread.
  bool set_prompt(std::string_view) override { return false; }

 private:
  bool fill();  // reads more into buffer_; false at EOF or error

  int fd_;
  base::Waker waker_;
  std::size_t max_line_;
  std::string buffer_;
  std::size_t scanned_ = 0;  // bytes of buffer_ already known to hold no '\n'
  bool eof_ = false;
  bool discarding_ = false;  // inside an over-long line, dropping it up to its '\n'
};

}  // namespace chat
