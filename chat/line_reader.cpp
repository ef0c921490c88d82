#include "chat/line_reader.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace chat {

LineReader::LineReader(int fd, std::size_t max_line) : fd_(fd), max_line_(max_line) {}

void LineReader::interrupt() noexcept {
  waker_.wake();
}

bool LineReader::fill() {
  char chunk[65536];
  for (;;) {
    const ssize_t got = ::read(fd_, chunk, sizeof(chunk));
    if (got > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(got));
      return true;
    }
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && errno == EAGAIN) return true;  // a non-blocking stdin: poll again
    return false;  // 0: EOF; other errors (EBADF: no stdin at all) end input the same way
  }
}

LineReader::Status LineReader::next(std::string& line) {
  for (;;) {
    const auto newline = buffer_.find('\n', scanned_);
    if (newline != std::string::npos) {
      const bool was_discarding = discarding_ || newline > max_line_;
      discarding_ = false;
      if (!was_discarding) {
        line.assign(buffer_, 0, newline);
        if (!line.empty() && line.back() == '\r') line.pop_back();
      }
      buffer_.erase(0, newline + 1);
      scanned_ = 0;
      if (was_discarding) return Status::too_long;
      return Status::line;
    }
    scanned_ = buffer_.size();
    if (buffer_.size() > max_line_) {
      buffer_.clear();
      scanned_ = 0;
      discarding_ = true;
    }
    if (eof_) {
      if (buffer_.empty() && !discarding_) return Status::end_of_input;
      if (discarding_) {
        discarding_ = false;
        buffer_.clear();
        return Status::too_long;
      }
      line.swap(buffer_);
      buffer_.clear();
      scanned_ = 0;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return Status::line;
    }
    const short ready = base::wait_for(fd_, POLLIN, waker_);
    if (ready == 0) return Status::interrupted;  // no time limit: only the waker ends a wait
    if (ready != 0 && !fill()) eof_ = true;      // POLLIN, POLLHUP, POLLNVAL: fill() tells which
  }
}

}  // namespace chat
